"""Safe rendering: user text prints as text, and the renderer fetches only our own files."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from qmonth.extensions import db
from qmonth.models import ActivityState, Unit
from qmonth.reports import printing
from qmonth.reports.data import build_unit_report
from qmonth.reports.documents import unit_document
from qmonth.reports.fetcher import SafeFetcher
from qmonth.reports.printing import BASE_URL, PrintDocument
from qmonth.reports.services import get_or_create_report
from qmonth.timeutil import utcnow

from tests.reports.support import add_photo, campaign, clear_unit, pdf_text, squash

HOSTILE = [
    '<img src="file:///etc/passwd">',
    "<link rel=attachment href=file:///etc/passwd>",
    "@import url(http://example.com/x.css)",
    '<style>@font-face{src:url(http://example.com/f.otf)}</style>',
    '<svg><image href="file:///etc/hostname"/></svg>',
]


def allowed_url(url: str, photo_ids: set[int]) -> bool:
    if not url.startswith(BASE_URL):
        return False
    path = url[len(BASE_URL) - 1:]
    if path.startswith("/static/css/") or path.startswith("/static/fonts/"):
        return True
    parts = path.split("/")
    return len(parts) == 4 and parts[1] == "photos" and parts[3] == "print.jpg" and int(parts[2]) in photo_ids


def test_hostile_text_prints_literally_and_fetches_nothing(app, make_activity):
    unit = clear_unit("jinan-zj")
    activity = make_activity("jinan-zj", title='<img src="file:///etc/passwd">', state=ActivityState.SUBMITTED,
                             description=" ".join(HOSTILE), results="@import url(http://example.com/x.css)")
    own_photo = add_photo(activity, seed=3, caption="<link rel=attachment href=file:///etc/passwd>")
    stranger = make_activity("qingdao-zj", title="别的单位", state=ActivityState.SUBMITTED)
    add_photo(stranger, seed=4)
    report = get_or_create_report(campaign(), unit)
    report.overview = HOSTILE[0]
    report.practices = HOSTILE[1]
    report.highlights_text = HOSTILE[2]
    report.problems = HOSTILE[3]
    report.signature = HOSTILE[4][:100]
    report.highlight_activity_ids = [activity.id]
    db.session.commit()

    document = unit_document(build_unit_report(campaign(), unit, report))
    assert "<img src=\"file" not in document.html and "&lt;img src=&#34;file:///etc/passwd&#34;&gt;" in document.html
    fetcher = document.fetcher()
    pdf = printing.render_pdf(document, fetcher=fetcher)

    text = squash(pdf_text(pdf))
    for hostile in HOSTILE[:3]:
        assert squash(hostile) in text, hostile
    assert fetcher.refused == []
    assert fetcher.fetched, "the stylesheets and fonts come through the fetcher"
    assert all(allowed_url(url, {own_photo.id}) for url in fetcher.fetched), fetcher.fetched
    assert f"{BASE_URL}photos/{own_photo.id}/print.jpg" in fetcher.fetched


def test_the_fetcher_refuses_everything_but_our_static_files_and_the_documents_photos(app, make_activity, tmp_path):
    activity = make_activity("jinan-zj", state=ActivityState.SUBMITTED)
    photo = add_photo(activity, seed=9)
    other = add_photo(make_activity("qingdao-zj", state=ActivityState.SUBMITTED), seed=10)
    from qmonth.photos.storage import photo_path

    fetcher = SafeFetcher(app.static_folder, {photo.id: photo_path(photo.storage_key, "print")})
    assert fetcher.resolve(f"{BASE_URL}static/css/print.css").name == "print.css"
    assert fetcher.resolve(f"{BASE_URL}photos/{photo.id}/print.jpg") == photo_path(photo.storage_key, "print")
    for url in ("file:///etc/passwd", "http://example.com/x.css", "https://example.com/static/css/print.css",
                f"{BASE_URL}static/../../../etc/passwd", f"{BASE_URL}static/%2e%2e/%2e%2e/etc/passwd",
                f"{BASE_URL}static/css/", f"{BASE_URL}photos/{other.id}/print.jpg",
                f"{BASE_URL}photos/{photo.id}/screen.jpg", f"{BASE_URL}static/css/print.css?x=1",
                "data:text/css,body{}", f"{BASE_URL}reports/jinan-zj.pdf", f"{BASE_URL}../instance/qmonth.db"):
        assert fetcher.resolve(url) is None, url
        with pytest.raises(ValueError):
            fetcher.fetch(url)
    assert len(fetcher.refused) == 12


def test_markup_that_reached_the_html_still_cannot_fetch(app_without_database):
    app = app_without_database
    """Defence in depth: even if a template let markup through, the fetcher refuses and records it."""
    html = ('<!doctype html><html lang="zh-CN"><head><link rel="stylesheet" href="http://example.com/x.css">'
            '<style>@import url(file:///etc/passwd);</style></head><body>'
            '<img src="file:///etc/passwd"><img src="/photos/1/print.jpg"><p>正文</p></body></html>')
    document = PrintDocument(html=html, download_name="x.pdf", static_folder=app.static_folder)
    fetcher = document.fetcher()
    pdf = printing.render_pdf(document, fetcher=fetcher)
    assert pdf.startswith(b"%PDF") and "正文" in pdf_text(pdf)
    assert set(fetcher.refused) == {"http://example.com/x.css", "file:///etc/passwd",
                                    f"{BASE_URL}photos/1/print.jpg"}
    assert fetcher.fetched == []


def test_hostile_text_typed_into_the_editor_is_escaped_on_the_page(client, login_as, app):
    unit = db.session.scalar(select(Unit).where(Unit.code == "jinan-zj"))
    campaign().report_due_at = utcnow() + timedelta(days=3)
    report = get_or_create_report(campaign(), unit)
    report.problems = "</textarea><script>alert(1)</script>"
    db.session.commit()
    login_as("jinan-zj-admin")
    page = client.get("/reports/jinan-zj").get_data(as_text=True)
    assert "<script>alert(1)</script>" not in page
    assert "&lt;/textarea&gt;&lt;script&gt;alert(1)&lt;/script&gt;" in page
    preview = client.get("/reports/jinan-zj/preview")
    assert "<script>alert(1)</script>" not in preview.get_data(as_text=True)
    assert "default-src 'none'" in preview.headers["Content-Security-Policy"]
