"""Every unit's 总结报告 in one ZIP: started by the province, made by jobs, a progress bar, Chinese names."""
from __future__ import annotations

import io
import re
import time
import zipfile

import pytest
from sqlalchemy import func, select

from qmonth.campaigns.services import active_campaign
from qmonth.extensions import db
from qmonth.jobs.models import Job, JobState
from qmonth.reports import printing, tasks
from qmonth.storage import pdf_cache
from qmonth.units import addressed_units

from tests.helpers import csrf_token_from
from tests.reports.support import pdf_text, squash


def start_zip(client):
    page = client.get("/reports/").get_data(as_text=True)
    assert "打包下载各单位报告（ZIP）" in page
    response = client.post("/reports/zip", data={"csrf_token": csrf_token_from(page)})
    assert response.status_code == 303
    return response.headers["Location"]


def wait_for_zip(client, url: str, seconds: float = 240) -> str:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        fragment = client.get(url, headers={"HX-Request": "true"}).get_data(as_text=True)
        if "下载ZIP" in fragment or "重新打包" in fragment:
            return fragment
        time.sleep(0.3)
    pytest.fail("the ZIP was never made")


# 44 PDFs made: the one-machine setup (embedded jobs, SQLite) here; the several-machine one
# (RQ workers, PostgreSQL) in tests/jobs/test_rq.py, so each database makes the ZIP once.
@pytest.mark.sqlite_only("the one-machine setup; PostgreSQL makes it with RQ workers in tests/jobs")
def test_the_province_downloads_every_units_report_as_one_zip(app, client, login_as):
    login_as("province")
    # One unit's PDF is in the cache already: the ZIP reuses it instead of making it again.
    assert client.get("/reports/jinan-zj.pdf").status_code == 200
    cached = {item.key: item.modified for item in pdf_cache().list() if item.key.endswith(".pdf")}
    assert len(cached) == 1

    url = start_zip(client)
    page = client.get(url)
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "打包下载各单位总结报告" in html
    if "下载ZIP" not in html:  # still running: a bar, polled by htmx, and a plain link to reload
        assert re.search(r'<progress id="zip-progress" max="44" value="\d+"', html)
        assert f'data-hx-get="{url}" data-hx-trigger="every 1s"' in html and f'<a href="{url}">刷新查看进度</a>' in html
    fragment = wait_for_zip(client, url)
    assert "<html" not in fragment and 'id="zip-status"' in fragment and "已打包 44 个单位的总结报告" in fragment

    download = re.search(r'href="([^"]+)" id="zip-download"', fragment).group(1)
    response = client.get(download)
    assert response.status_code == 200 and response.mimetype == "application/zip"
    assert "filename*=UTF-8''" in response.headers["Content-Disposition"]
    archive = zipfile.ZipFile(io.BytesIO(response.get_data()))
    entries = archive.infolist()
    units = list(db.session.scalars(addressed_units(active_campaign())))  # the root's 44 children
    assert len(entries) == len(units) == 44
    assert entries[0].filename == "01-济南市住房和城乡建设局-总结报告.pdf"
    assert all(entry.flag_bits & 0x800 for entry in entries)  # UTF-8 names
    assert [entry.filename.split("-")[1] for entry in entries] == [unit.name for unit in units]
    first = archive.read(entries[0])
    assert first.startswith(b"%PDF") and "济南市住房和城乡建设局" in squash(pdf_text(first))
    # The cached PDF was used as it was; the other 43 were made by jobs.
    assert first == pdf_cache().read_bytes(next(iter(cached)))
    assert {item.key: item.modified for item in pdf_cache().list() if item.key in cached} == cached
    db.session.expire_all()
    assert db.session.scalar(select(func.count()).select_from(Job).where(Job.kind == "pdf")) == 43
    zip_job = db.session.scalar(select(Job).where(Job.kind == tasks.ZIP_KIND))
    assert zip_job.state is JobState.DONE and zip_job.done == zip_job.total == 44

    # Asked again with nothing changed: the same job, its ZIP reused.
    assert start_zip(client) == url


def test_a_zip_that_cannot_be_made_says_why_in_chinese(app, client, login_as, monkeypatch):
    def broken(document, cache):
        raise OSError("disk full")

    monkeypatch.setattr(printing, "build_pdf", broken)
    login_as("province")
    url = start_zip(client)
    fragment = wait_for_zip(client, url)
    assert "的报告生成失败：生成失败，请稍后重试" in fragment and "重新打包" in fragment
    assert client.get(url).status_code == 200


def test_only_the_province_packs_all_reports(app, client, login_as):
    login_as("province")
    page = client.get("/reports/").get_data(as_text=True)
    login_as("jinan-zj-admin")
    assert client.post("/reports/zip", data={"csrf_token": csrf_token_from(page)}).status_code in (400, 403)
    assert client.get("/reports/zip/1").status_code == 403
    assert client.get("/reports/zip/1/download").status_code == 403
    login_as("province")
    assert client.get("/reports/zip/999").status_code == 404
