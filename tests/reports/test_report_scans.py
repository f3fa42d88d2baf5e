"""The stamped scan (盖章扫描件) of a submitted report: the unit attaches it, its parent downloads it."""
from __future__ import annotations

import io
from pathlib import Path

import pytest
from sqlalchemy import select

from qmonth.extensions import db
from qmonth.models import ActivityState, AuditEvent

from tests.helpers import csrf_token_from
from tests.reports.support import clear_subtree, jpeg_bytes
from tests.reports.test_reports import open_campaign, open_editor, report_of, submit

PDF = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<<>>\nendobj\ntrailer\n<<>>\n%%EOF\n"
COUNTY = "jinan-lixia-zj"


@pytest.fixture
def submitted_county(app, client, login_as, make_activity):
    clear_subtree("jinan-zj")
    open_campaign()
    make_activity(COUNTY, title="历下区质量讲堂", state=ActivityState.ACCEPTED)
    login_as(f"{COUNTY}-admin")
    _, revision = open_editor(client, COUNTY)
    assert submit(client, COUNTY, revision, problems="问题与打算。").status_code == 302


def upload(client, data: bytes, name: str, code: str = COUNTY):
    page = client.get(f"/reports/{code}").get_data(as_text=True)
    return client.post(f"/reports/{code}/scan", data={"csrf_token": csrf_token_from(page),
                                                       "scan": (io.BytesIO(data), name)},
                       content_type="multipart/form-data")


def test_the_county_attaches_its_scan_and_the_city_downloads_it(client, login_as, submitted_county):
    response = upload(client, PDF, "历下区总结报告（盖章）.pdf")
    assert response.status_code == 302
    report = report_of(COUNTY)
    assert report.scan_name == "历下区总结报告（盖章）.pdf" and report.scan_mimetype == "application/pdf"
    assert report.scan_bytes == len(PDF)
    assert db.session.scalar(select(AuditEvent).where(AuditEvent.action == "report.scan",
                                                      AuditEvent.object_id == report.id)) is not None
    page = client.get(f"/reports/{COUNTY}").get_data(as_text=True)
    assert "盖章扫描件已上传" in page and "历下区总结报告（盖章）.pdf" in page

    login_as("jinan-zj-admin")
    page = client.get(f"/reports/{COUNTY}").get_data(as_text=True)
    assert 'id="scan-link"' in page and 'id="scan-file"' not in page  # the parent reads, never replaces
    download = client.get(f"/reports/{COUNTY}/scan")
    assert download.status_code == 200 and download.mimetype == "application/pdf"
    assert download.get_data() == PDF and "attachment" in download.headers["Content-Disposition"]
    # the parent cannot put a scan into the county's report
    assert upload(client, PDF, "x.pdf").status_code == 403
    login_as("qingdao-zj-admin")
    assert client.get(f"/reports/{COUNTY}/scan").status_code == 404


def test_a_jpeg_scan_replaces_the_pdf(client, login_as, submitted_county):
    assert upload(client, PDF, "a.pdf").status_code == 302
    assert upload(client, jpeg_bytes(3), "盖章页.jpg").status_code == 302
    report = report_of(COUNTY)
    assert report.scan_mimetype == "image/jpeg" and report.scan_key.endswith("-scan.jpg")
    assert client.get(f"/reports/{COUNTY}/scan").get_data() == jpeg_bytes(3)


@pytest.mark.parametrize("data, name", [
    (b"\x89PNG\r\n\x1a\n" + bytes(40), "scan.png"),
    (b"<html><script>alert(1)</script></html>", "scan.pdf"),
    (b"%PDF-1.7\n" + bytes(100), "cut-off.pdf"),  # no %%EOF: a broken or truncated PDF
    (b"\xff\xd8\xff\xe0" + bytes(50), "broken.jpg"),
])
def test_a_file_that_is_not_a_pdf_or_jpeg_is_refused_in_chinese(client, submitted_county, data, name):
    response = upload(client, data, name)
    assert response.status_code == 422
    assert "盖章扫描件只能是 PDF 或 JPEG 文件" in response.get_data(as_text=True)
    assert report_of(COUNTY).scan_key is None


def test_an_empty_or_missing_file_is_refused(client, submitted_county):
    assert "上传的文件是空的" in upload(client, b"", "a.pdf").get_data(as_text=True)
    page = client.get(f"/reports/{COUNTY}").get_data(as_text=True)
    response = client.post(f"/reports/{COUNTY}/scan", data={"csrf_token": csrf_token_from(page)},
                           content_type="multipart/form-data")
    assert response.status_code == 422 and "请选择要上传的盖章扫描件" in response.get_data(as_text=True)


def test_a_draft_report_takes_no_scan_and_a_reporter_none(client, login_as, make_activity):
    clear_subtree("jinan-zj")
    open_campaign()
    login_as(f"{COUNTY}-admin")
    response = upload(client, PDF, "a.pdf")
    assert response.status_code == 409 and "报告报送后才能上传盖章扫描件" in response.get_data(as_text=True)
    login_as(COUNTY)
    assert upload(client, PDF, "a.pdf").status_code == 403


def test_no_scan_yet_leads_back_to_the_report(client, login_as, submitted_county):
    response = client.get(f"/reports/{COUNTY}/scan")
    assert response.status_code == 302 and response.headers["Location"].endswith(f"/reports/{COUNTY}")
    assert "尚未上传盖章扫描件" in client.get(f"/reports/{COUNTY}").get_data(as_text=True)


def test_siblings_and_strange_codes_reach_no_scan(client, login_as, csrf_token, submitted_county):
    """A sibling county's admin and a sibling city's see no scan of 历下区 and cannot attach one; a
    code that is no unit's is a plain 404 on both routes."""
    assert upload(client, PDF, "历下区（盖章）.pdf").status_code == 302
    for sibling in ("jinan-shizhong-zj-admin", "qingdao-zj-admin"):
        login_as(sibling)
        csrf = csrf_token("/")
        assert client.get(f"/reports/{COUNTY}/scan").status_code == 404
        posted = client.post(f"/reports/{COUNTY}/scan", data={"csrf_token": csrf, "scan": (io.BytesIO(PDF), "x.pdf")},
                             content_type="multipart/form-data")
        assert posted.status_code == 404
        for code in ("--1", "²", "١", "2147483648", "𪚥", "x" * 300):
            assert client.get(f"/reports/{code}/scan").status_code == 404
            assert client.post(f"/reports/{code}/scan", data={"csrf_token": csrf}).status_code == 404
    assert report_of(COUNTY).scan_name == "历下区（盖章）.pdf"


def test_a_scan_name_is_cleaned_as_every_upload_name_is(client, submitted_county):
    """No folders, control or bidi characters in the name the parent sees; 𪚥 is kept."""
    assert upload(client, PDF, "../扫描/𪚥村\u202e报告\x07.pdf").status_code == 302
    assert report_of(COUNTY).scan_name == "𪚥村报告.pdf"


def test_a_scan_cut_by_the_network_leaves_nothing_and_the_retry_is_stored_once(
        live_server, login_as, submitted_county):
    """A TCP reset halfway through the upload (tests/photos/relay.py): no scan, no file left behind;
    sending again stores it once, byte for byte."""
    import requests

    from tests.photos.relay import ResettingRelay

    body = PDF[:-6] + b"%" + b"0" * 400_000 + b"\n%%EOF\n"  # a real scan is hundreds of KB
    session = requests.Session()
    token = csrf_token_from(session.get(f"{live_server.url}/login").text)
    assert session.post(f"{live_server.url}/login", allow_redirects=False, data={
        "username": f"{COUNTY}-admin", "password": "qmonth-demo", "csrf_token": token}).status_code == 302
    token = csrf_token_from(session.get(f"{live_server.url}/reports/{COUNTY}").text)
    relay = ResettingRelay(live_server.server_port)
    try:
        relay.then(("cut_request", 200_000), "pass")

        def send():
            return session.post(f"{relay.url}/reports/{COUNTY}/scan", allow_redirects=False, timeout=60,
                                headers={"Connection": "close"}, data={"csrf_token": token},
                                files={"scan": ("历下区（盖章）.pdf", body, "application/pdf")})

        with pytest.raises(requests.exceptions.ConnectionError):
            send()
        db.session.expire_all()
        assert report_of(COUNTY).scan_name is None
        scans = Path(live_server.app.config["UPLOAD_DIR"]) / "scans"
        assert not scans.exists() or not [p for p in scans.rglob("*") if p.is_file()]
        assert send().status_code == 302
        # The answer lost after the whole body arrived: the scan is there; sending again replaces
        # it with the same bytes, still one scan.
        relay.then("drop_answer", "pass")
        with pytest.raises(requests.exceptions.ConnectionError):
            send()
        assert report_of(COUNTY).scan_bytes == len(body)
        assert send().status_code == 302
    finally:
        relay.close()
    assert relay.log == ["cut_request", "pass", "drop_answer", "pass"]
    assert len([p for p in scans.rglob("*") if p.is_file()]) == 1  # replaced scans are deleted
    report = report_of(COUNTY)
    assert report.scan_name == "历下区（盖章）.pdf" and report.scan_bytes == len(body)
    assert session.get(f"{live_server.url}/reports/{COUNTY}/scan").content == body
