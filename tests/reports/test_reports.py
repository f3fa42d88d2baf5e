"""Summary reports: the editor, autosave, submitting on time or late, PDFs, Word, access, the roll-up."""
from __future__ import annotations

import io
import re
import time
from datetime import timedelta

import pytest
from docx import Document
from docx.enum.text import WD_ALIGN_PARAGRAPH, WD_LINE_SPACING
from docx.oxml.ns import qn
from sqlalchemy import select

from qmonth.extensions import db
from qmonth.models import ActivityState, AuditEvent, Bulletin, ReportState, Unit, UnitReopening, UnitReport
from qmonth.reports import printing
from qmonth.reports.views import fnv1a
from qmonth.timeutil import utcnow

from tests.helpers import csrf_token_from, token
from tests.reports.support import (
    add_photo, campaign, clear_subtree, clear_unit, pdf_fonts, pdf_info, pdf_text, squash,
)

TITLE = "济南市住房和城乡建设局2024年住建系统“质量月”活动总结报告"



def report_of(code: str) -> UnitReport:
    db.session.expire_all()
    return db.session.scalar(select(UnitReport).where(UnitReport.unit.has(code=code)))


@pytest.fixture
def jinan(app, make_activity):
    """济南市住建局 with exactly the entries of this story (the demo ones removed, its counties' too),
    before the deadline."""
    clear_subtree("jinan-zj")
    open_campaign()
    training = make_activity("jinan-zj", title="建设工程质量安全讲堂", kind="training", state=ActivityState.SUBMITTED,
                             tasks=(2,), participants=120, figures={"mode": "线下", "trainees": 80, "class_hours": 6})
    inspection = make_activity("jinan-zj", title="住宅工程质量巡查", kind="inspection", state=ActivityState.ACCEPTED,
                               tasks=(9,), participants=30, figures={"projects_inspected": 12, "problems_found": 40,
                                                                     "problems_rectified": 38, "experts": 5})
    make_activity("jinan-zj", title="尚未报送的草稿", kind="training", state=ActivityState.DRAFT, participants=999)
    make_activity("jinan-zj", title="被退回的活动", kind="training", state=ActivityState.RETURNED, participants=777)
    add_photo(training, seed=1, caption="专家授课")
    add_photo(inspection, seed=2, caption="现场检查")
    return {"training": training, "inspection": inspection}


def report_unit_id(code: str) -> int:
    return db.session.scalar(select(Unit.id).where(Unit.code == code))


def open_campaign(days: int = 7):
    """Move the report deadline into the future: after it, bureaus can no longer write (the board's lock)."""
    campaign().report_due_at = utcnow() + timedelta(days=days)
    db.session.commit()


def open_editor(client, code="jinan-zj"):
    response = client.get(f"/reports/{code}")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    revision = int(re.search(r'id="report-revision" name="revision" value="(\d+)"', html).group(1))
    return html, revision


def save(client, field, value, revision, code="jinan-zj", **extra):
    data = {field: value, "revision": revision, **extra}
    return client.post(f"/reports/{code}/sections/{field}", data=data,
                       headers={"HX-Request": "true", "X-CSRFToken": token(client, f"/reports/{code}")})


# The editor and autosave --------------------------------------------------------------

def test_editor_opens_with_the_opening_paragraph_written_from_the_figures(client, login_as, jinan):
    login_as("jinan-zj-admin")
    html, _ = open_editor(client)
    assert TITLE in html
    assert "共组织开展各类活动2项，参与150人次，其中培训宣贯1项、督导帮扶/巡查1项。" in html
    assert "提升建筑品质 共享美好生活" in html
    for heading in ("一、基本情况", "二、主要做法和成效", "三、特色亮点", "四、存在问题和下一步打算"):
        assert heading in html
    # the highlight choices are the bureau's submitted and accepted entries only
    assert "建设工程质量安全讲堂" in html and "住宅工程质量巡查" in html
    assert "尚未报送的草稿" not in html and "被退回的活动" not in html
    for label in ("生成PDF", "下载Word", "预览"):
        assert label in html
    assert 'href="/reports/jinan-zj.pdf"' in html and "hx-get=\"/reports/jinan-zj.pdf\"" not in html


def test_autosave_stores_the_section_and_answers_with_the_saved_time(client, login_as, jinan):
    login_as("jinan-zj-admin")
    _, revision = open_editor(client)
    response = save(client, "problems", "基层检测能力仍有短板。\n下一步加强培训。", revision)
    assert response.status_code == 200
    body = response.get_data(as_text=True)
    assert "<html" not in body  # a fragment for htmx
    assert re.search(r'id="status-problems"[^>]*>已保存 \d\d:\d\d<', body)
    assert f'id="report-revision" name="revision" value="{revision + 1}" data-hx-swap-oob="true"' in body
    report = report_of("jinan-zj")
    assert report.problems == "基层检测能力仍有短板。\n下一步加强培训。"
    assert report.revision == revision + 1

    # the same text again (a retried request whose answer was lost) is no conflict and no new revision
    again = save(client, "problems", "基层检测能力仍有短板。\n下一步加强培训。", revision)
    assert again.status_code == 200 and report_of("jinan-zj").revision == revision + 1


def test_a_stale_revision_is_refused_and_nothing_is_overwritten(client, login_as, jinan):
    login_as("jinan-zj-admin")
    _, revision = open_editor(client)
    assert save(client, "practices", "另一窗口写的做法。", revision).status_code == 200

    stale = save(client, "practices", "旧窗口里正在写的文字。", revision)
    assert stale.status_code == 409
    body = stale.get_data(as_text=True)
    assert "未保存" in body and "本页文字已暂存在本机" in body
    assert "report-revision" not in body  # the page keeps its text and its revision
    assert report_of("jinan-zj").practices == "另一窗口写的做法。"

    # a save whose answer was lost: the page proves it sent what the server holds (basis/pending hashes)
    current = report_of("jinan-zj").revision
    ok = save(client, "practices", "补写的新内容。", revision, pending=fnv1a("另一窗口写的做法。"))
    assert ok.status_code == 200
    assert report_of("jinan-zj").practices == "补写的新内容。" and report_of("jinan-zj").revision == current + 1


def test_highlights_are_chosen_from_the_bureaus_counted_entries(client, login_as, jinan, make_activity):
    login_as("jinan-zj-admin")
    _, revision = open_editor(client)
    response = client.post("/reports/jinan-zj/sections/highlights",
                           data={"highlights": [str(jinan["inspection"].id)], "revision": revision},
                           headers={"HX-Request": "true", "X-CSRFToken": token(client, "/reports/jinan-zj")})
    assert response.status_code == 200
    assert report_of("jinan-zj").highlight_activity_ids == [jinan["inspection"].id]
    other = make_activity("qingdao-zj", title="青岛的活动", state=ActivityState.SUBMITTED)
    refused = client.post("/reports/jinan-zj/sections/highlights",
                          data={"highlights": [str(other.id)], "revision": revision + 1},
                          headers={"HX-Request": "true", "X-CSRFToken": token(client, "/reports/jinan-zj")})
    assert refused.status_code == 422
    assert report_of("jinan-zj").highlight_activity_ids == [jinan["inspection"].id]


def test_reporters_read_the_report_but_the_unit_admin_writes_it(client, login_as, jinan):
    login_as("jinan-zj")
    html, revision = open_editor(client)
    assert "readonly" in html and "报送总结报告" not in html
    assert save(client, "problems", "填报员写的。", revision).status_code == 403
    assert report_of("jinan-zj") is None  # not even started by the reporter's visit


# Submitting ------------------------------------------------------------------------

def submit(client, code, revision, **fields):
    page = client.get(f"/reports/{code}").get_data(as_text=True)
    data = {"csrf_token": csrf_token_from(page), "revision": revision, **fields}
    return client.post(f"/reports/{code}/submit", data=data)


def test_submitting_before_the_deadline_is_on_time(app, client, login_as, jinan):
    campaign().report_due_at = utcnow() + timedelta(days=1)
    db.session.commit()
    login_as("jinan-zj-admin")
    _, revision = open_editor(client)
    response = submit(client, "jinan-zj", revision, problems="报送时写下的问题。")
    assert response.status_code == 302
    report = report_of("jinan-zj")
    assert report.state is ReportState.SUBMITTED and report.problems == "报送时写下的问题。"
    page = client.get("/reports/jinan-zj").get_data(as_text=True)
    assert "总结报告已报送：按时报送。" in page and "已报送 · 按时报送" in page
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "report.submit",
                                                       AuditEvent.object_id == report.id))
    assert event.actor.username == "jinan-zj-admin" and event.changes == {"timeliness": "on_time"}
    # once submitted, autosaves are refused and the text stays as submitted
    assert save(client, "problems", "报送后再改", report.revision).status_code == 409
    assert report_of("jinan-zj").problems == "报送时写下的问题。"


def test_submitting_after_the_deadline_is_late(app, client, login_as, jinan, user_named):
    # Past the deadline a bureau writes only once the province reopens it (补报); the report is
    # still late, judged against the campaign's report_due_at as UTC instants, and marked 补报.
    campaign().report_due_at = utcnow() - timedelta(minutes=1)
    unit = clear_unit("qingdao-zj")
    for code in ("jinan-zj", "heze-sw"):
        db.session.add(UnitReopening(campaign_id=campaign().id, unit_id=report_unit_id(code), reason="补报",
                                     due_at=utcnow() + timedelta(days=1), created_by_id=user_named("province").id))
    db.session.commit()
    assert unit.code == "qingdao-zj"
    login_as("jinan-zj-admin")
    _, revision = open_editor(client)
    assert submit(client, "jinan-zj", revision).status_code == 302
    page = client.get("/reports/jinan-zj").get_data(as_text=True)
    assert "总结报告已报送：逾期报送（补报）。" in page and "已报送 · 逾期报送（补报）" in page
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "report.submit",
                                                       AuditEvent.object_id == report_of("jinan-zj").id))
    assert event.changes == {"timeliness": "late"}

    def status_in(overview, code):
        row = re.search(rf'<tr id="unit-{code}">.*?</tr>', overview, re.S).group(0)
        return re.search(r'<span class="badge report-\w+">([^<]+)</span>', row).group(1)

    login_as("province")
    overview = client.get("/reports/").get_data(as_text=True)
    assert status_in(overview, "jinan-zj") == "逾期报送（补报）"
    assert status_in(overview, "qingdao-zj") == "逾期未报送"
    # Reopened and not yet in: still open until its new due time, and counted apart.
    assert status_in(overview, "heze-sw") == "未报送（补报中）"
    assert re.search(r'<li class="report-pending">补报中 <strong>1</strong></li>', overview)
    board = client.get("/board/").get_data(as_text=True)
    assert "逾期报送（补报）" in board[board.index('<tr id="unit-jinan-zj"'):board.index('<tr id="unit-jinan-cg"')]


def test_a_stale_submit_keeps_what_the_user_typed(client, login_as, jinan):
    login_as("jinan-zj-admin")
    _, revision = open_editor(client)
    save(client, "problems", "别处先保存的。", revision)
    response = submit(client, "jinan-zj", revision, problems="我在旧页面里写的长段文字。")
    assert response.status_code == 409
    html = response.get_data(as_text=True)
    assert "我在旧页面里写的长段文字。" in html  # the user's text comes back in the form
    assert report_of("jinan-zj").state is ReportState.DRAFT


def test_the_province_can_send_a_submitted_report_back(client, login_as, jinan):
    login_as("jinan-zj-admin")
    _, revision = open_editor(client)
    submit(client, "jinan-zj", revision)
    login_as("province")
    page = client.get("/reports/jinan-zj").get_data(as_text=True)
    client.post("/reports/jinan-zj/reopen", data={"csrf_token": csrf_token_from(page), "reason": "请补充问题分析。"})
    assert report_of("jinan-zj").state is ReportState.DRAFT
    login_as("jinan-zj-admin")
    page = client.get("/reports/jinan-zj").get_data(as_text=True)
    assert "省厅退回修改：" in page and "请补充问题分析。" in page


# Access -----------------------------------------------------------------------------

@pytest.mark.parametrize("path", ["/reports/jinan-zj", "/reports/jinan-zj.pdf", "/reports/jinan-zj.docx",
                                  "/reports/jinan-zj/preview"])
def test_another_bureau_gets_404_for_a_bureaus_report(client, login_as, jinan, path):
    login_as("qingdao-zj-admin")
    assert client.get(path).status_code == 404


def test_another_bureau_cannot_autosave_or_submit_into_a_report(client, login_as, jinan):
    login_as("jinan-zj-admin")
    _, revision = open_editor(client)
    login_as("qingdao-zj-admin")
    headers = {"X-CSRFToken": token(client, "/reports/qingdao-zj")}
    assert client.post("/reports/jinan-zj/sections/problems", data={"problems": "x", "revision": revision},
                       headers=headers).status_code == 404
    assert client.post("/reports/jinan-zj/submit", data={"revision": revision}, headers=headers).status_code == 404
    assert report_of("jinan-zj") is None  # opening the editor wrote nothing, and neither did B


@pytest.mark.parametrize("path", ["/reports/province.pdf", "/reports/province/preview", "/reports/bulletins/",
                                  "/reports/bulletins/1.pdf"])
def test_only_the_province_gets_the_roll_up_and_bulletins(client, login_as, path):
    login_as("jinan-zj-admin")
    assert client.get(path).status_code == 403


@pytest.mark.parametrize("path", ["/reports/", "/reports/jinan-zj", "/reports/jinan-zj.pdf", "/reports/province.pdf"])
def test_anonymous_users_are_sent_to_login(client, path):
    response = client.get(path)
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_a_bureau_is_sent_to_its_own_report(client, login_as):
    login_as("heze-sw")
    response = client.get("/reports/")
    assert response.status_code == 302 and response.headers["Location"].endswith("/reports/heze-sw")


def test_the_province_opens_any_bureaus_report_read_only(client, login_as, jinan):
    login_as("province")
    html, _ = open_editor(client)
    assert TITLE in html and "readonly" in html and "报送总结报告" not in html
    assert client.get("/reports/jinan-zj.pdf").status_code == 200
    assert report_of("jinan-zj") is None  # looking does not start the bureau's report


# The PDF -----------------------------------------------------------------------------

def test_bureau_pdf_is_a4_with_title_unit_theme_and_figures(client, login_as, jinan):
    login_as("jinan-zj-admin")
    open_editor(client)
    response = client.get("/reports/jinan-zj.pdf")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    assert "attachment" in response.headers["Content-Disposition"]
    pdf = response.get_data()
    text = squash(pdf_text(pdf))
    assert squash(TITLE) in text
    assert "济南市住房和城乡建设局" in text and "提升建筑品质共享美好生活" in text
    assert "省住房城乡建设厅：" in text
    assert "共组织开展各类活动2项，参与150人次" in text
    assert "培训人数80人次" in text and "培训学时6学时" in text and "督导检查项目12个" in text
    assert "加大培训宣贯力度1项" in text and "加大督导帮扶力度1项" in text
    assert "999" not in text and "尚未报送的草稿" not in text and "被退回的活动" not in text
    for heading in ("一、基本情况", "二、主要做法和成效", "三、特色亮点", "四、存在问题和下一步打算",
                    "（一）牢固树立质量意识", "附件1", "附件2", "专家授课", "—1—"):
        assert heading in text, heading
    fonts = pdf_fonts(pdf)
    assert fonts and all(f["emb"] == "yes" and f["sub"] == "yes" for f in fonts), fonts
    info = pdf_info(pdf)
    assert re.search(r"Page size:\s+595\.2\d* x 841\.89 pts", info), info
    assert "Producer:        WeasyPrint" in info


def test_same_data_gives_the_same_bytes_and_a_change_gives_a_new_pdf(app, client, login_as, jinan):
    login_as("jinan-zj-admin")
    open_editor(client)
    first = client.get("/reports/jinan-zj.pdf").get_data()
    cache = printing.cache_dir(app.instance_path)
    assert len(list(cache.glob("*.pdf"))) == 1
    for cached in cache.glob("*.pdf"):
        cached.unlink()  # render again from scratch, not from the cache
    assert client.get("/reports/jinan-zj.pdf").get_data() == first

    jinan["training"].title = "建设工程质量安全讲堂（第二期）"
    db.session.commit()
    changed = client.get("/reports/jinan-zj.pdf").get_data()
    assert changed != first
    assert "（第二期）" in squash(pdf_text(changed))
    assert len(list(cache.glob("*.pdf"))) == 2


def test_a_large_pdf_is_made_in_the_background_and_offered_when_ready(app, client, login_as, jinan):
    app.config["REPORT_SYNC_SECONDS"] = 0  # treat every document as large
    login_as("jinan-zj-admin")
    open_editor(client)
    response = client.get("/reports/jinan-zj.pdf")
    assert response.status_code == 202
    page = response.get_data(as_text=True)
    status_url = re.search(r'data-hx-get="([^"]+)" data-hx-trigger="every 1s"', page).group(1).replace("&amp;", "&")
    assert "正在生成PDF" in page
    for _ in range(120):
        status = client.get(status_url, headers={"HX-Request": "true"}).get_data(as_text=True)
        if "下载PDF" in status:
            break
        assert "every 1s" in status
        time.sleep(0.25)
    assert 'href="/reports/jinan-zj.pdf"' in status and "<html" not in status
    ready = client.get("/reports/jinan-zj.pdf")
    assert ready.status_code == 200 and ready.get_data().startswith(b"%PDF")


def test_preview_is_the_print_html(client, login_as, jinan):
    login_as("jinan-zj-admin")
    html = client.get("/reports/jinan-zj/preview").get_data(as_text=True)
    assert html.startswith("<!doctype html>") and '<html lang="zh-CN">' in html
    assert "/static/css/print.css" in html and TITLE in html


# Word -------------------------------------------------------------------------------

def test_word_twin_opens_and_has_the_same_headings(client, login_as, jinan):
    login_as("jinan-zj-admin")
    open_editor(client)
    response = client.get("/reports/jinan-zj.docx")
    assert response.status_code == 200
    assert response.mimetype == "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
    document = Document(io.BytesIO(response.get_data()))
    texts = [p.text for p in document.paragraphs]
    assert texts[0] == TITLE
    headings = [p.text for p in document.paragraphs if p.style.name == "Heading 1"]
    assert headings == ["一、基本情况", "二、主要做法和成效", "三、特色亮点", "四、存在问题和下一步打算"]
    assert "（一）牢固树立质量意识" in [p.text for p in document.paragraphs if p.style.name == "Heading 2"]
    body = "\n".join(texts)
    assert "共组织开展各类活动2项，参与150人次" in body and "培训人数80人次" in body
    assert document.sections[0].page_width.mm == pytest.approx(210, abs=0.1)
    assert document.sections[0].top_margin.mm == pytest.approx(37, abs=0.1)
    assert len(document.inline_shapes) == 2  # the photos of 附件2
    # Tables: a heading row in 黑体 centred, cells in 仿宋_GB2312, 小四, single-spaced, no indent.
    figures = document.tables[0]
    heading, cell = figures.rows[0].cells[0].paragraphs[0], figures.rows[1].cells[0].paragraphs[0]
    assert [c.text for c in figures.rows[0].cells] == ["活动类型", "活动数（项）", "参与人次", "主要指标"]
    assert (heading.style.name, heading.style.font.name, heading.style.font.size.pt) == ("Table Heading", "黑体", 12)
    assert heading.style.element.rPr.rFonts.get(qn("w:eastAsia")) == "黑体"
    assert heading.style.paragraph_format.alignment == WD_ALIGN_PARAGRAPH.CENTER
    assert (cell.style.name, cell.style.font.name, cell.style.font.size.pt) == ("Table Text", "仿宋_GB2312", 12)
    assert cell.style.element.rPr.rFonts.get(qn("w:eastAsia")) == "仿宋_GB2312"
    assert cell.style.paragraph_format.first_line_indent == 0
    assert cell.style.paragraph_format.line_spacing_rule == WD_LINE_SPACING.SINGLE
    assert document.tables[0].style.name == "Table Grid"
    # The grid has the widths too (LibreOffice and WPS lay tables out by it): 156 mm of text width.
    assert [round(column.width.mm) for column in figures.columns] == [32, 24, 24, 76]
    assert [round(column.width.mm) for column in document.tables[1].columns] == [13, 36, 20, 26, 17, 23, 21]


# The province roll-up and bulletins ----------------------------------------------------

def test_province_roll_up_pdf(client, login_as, jinan):
    login_as("jinan-zj-admin")
    _, revision = open_editor(client)
    submit(client, "jinan-zj", revision)
    login_as("province")
    response = client.get("/reports/province.pdf")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    text = squash(pdf_text(response.get_data()))
    assert "2024年全省住建系统“质量月”活动汇总报告" in text
    assert "总结报告报送情况" in text and "菏泽市城市管理局" in text
    assert "各市活动数量" in text and "各类型活动统计表" in text and "各单位重点任务活动数量统计表" in text
    fonts = pdf_fonts(response.get_data())
    assert all(f["emb"] == "yes" and f["sub"] == "yes" for f in fonts)


def test_province_overview_page_shows_status_and_charts_with_tables(client, login_as):
    login_as("province")
    page = client.get("/reports/").get_data(as_text=True)
    assert page.count('<tr id="unit-') == 44
    assert page.count("<svg") == 3 and "<title id=\"chart-city-title\">各市活动数量</title>" in page
    assert "查看数据表" in page


def test_province_composes_a_numbered_bulletin_and_orders_its_items(client, login_as, make_activity):
    first = make_activity("jinan-zj", title="亮点甲：质量开放日", state=ActivityState.ACCEPTED, is_highlight=True)
    second = make_activity("qingdao-zj", title="亮点乙：技能比武", state=ActivityState.ACCEPTED, is_highlight=True)
    add_photo(second, seed=5, caption="比武现场")
    login_as("province")
    listing = client.get("/reports/bulletins/").get_data(as_text=True)
    response = client.post("/reports/bulletins/new", data={"csrf_token": csrf_token_from(listing)})
    assert response.status_code == 302
    number = db.session.scalar(select(Bulletin.number).order_by(Bulletin.id.desc()))
    edit = f"/reports/bulletins/{number}"
    form = {"csrf_token": token(client, edit), "title": "各地质量月活动亮点", "lead": "现将各地经验编发如下。",
            "issued_on": "2024-09-25"}
    client.post(edit, data={**form, "op": f"add:{first.id}"})
    client.post(edit, data={**form, "item": [str(first.id)], "op": f"add:{second.id}"})
    client.post(edit, data={**form, "item": [str(first.id), str(second.id)], "op": f"up:{second.id}"})
    bulletin = db.session.scalar(select(Bulletin).where(Bulletin.number == number))
    db.session.refresh(bulletin)
    assert bulletin.activity_ids == [second.id, first.id]
    # a position number reorders too
    client.post(edit, data={**form, "item": [str(second.id), str(first.id)], f"position-{first.id}": "1",
                            f"position-{second.id}": "2", "op": "save"})
    db.session.refresh(bulletin)
    assert bulletin.activity_ids == [first.id, second.id]

    pdf = client.get(f"/reports/bulletins/{number}.pdf")
    assert pdf.status_code == 200
    text = squash(pdf_text(pdf.get_data()))
    assert "质量月活动简报" in text and f"第{number}期" in text and "山东省住房和城乡建设厅" in text
    assert "2024年9月25日" in text and "各地质量月活动亮点" in text
    assert text.index("亮点甲：质量开放日") < text.index("亮点乙：技能比武")
    assert "——青岛市住房和城乡建设局" in text and "比武现场" in text


# Commands ----------------------------------------------------------------------------

def test_report_commands_write_files(app, jinan, tmp_path):
    runner = app.test_cli_runner()
    for args in (["report", "--help"], ["report", "unit", "--help"], ["report", "province", "--help"],
                 ["report", "bulletin", "--help"]):
        result = runner.invoke(args=args)
        assert result.exit_code == 0 and "Usage:" in result.output
    result = runner.invoke(args=["report", "unit", "jinan-zj", "-o", str(tmp_path / "r.pdf")])
    assert result.exit_code == 0, result.output
    assert squash(TITLE) in squash(pdf_text((tmp_path / "r.pdf").read_bytes()))
    result = runner.invoke(args=["report", "unit", "jinan-zj", "-o", str(tmp_path / "r.docx")])
    assert result.exit_code == 0 and Document(str(tmp_path / "r.docx")).paragraphs[0].text == TITLE
    result = runner.invoke(args=["report", "province", "-o", str(tmp_path / "p.pdf")])
    assert result.exit_code == 0 and (tmp_path / "p.pdf").read_bytes().startswith(b"%PDF")
    result = runner.invoke(args=["report", "bulletin", "7", "-o", str(tmp_path / "b.pdf")])
    assert result.exit_code != 0 and "no bulletin number 7" in result.output
    result = runner.invoke(args=["report", "unit", "nowhere-zj", "-o", str(tmp_path / "x.pdf")])
    assert result.exit_code != 0 and "unknown unit code" in result.output


# Charts -------------------------------------------------------------------------------

def test_charts_are_accessible_svg_with_their_numbers():
    from qmonth.charts import activities_per_city, bar_chart

    chart = activities_per_city([("济南", 14), ("青岛", 7)])
    svg = str(chart.svg)
    assert svg.startswith("<svg") and 'role="img"' in svg
    assert '<title id="chart-city-title">各市活动数量</title>' in svg
    assert "<desc" in svg and "济南14项；青岛7项" in svg
    assert chart.rows == (("济南", 14), ("青岛", 7)) and chart.total == 21
    assert "<script" not in svg and "style=" not in svg  # nothing the CSP would block
    hostile = str(bar_chart("<b>x</b>", [("<script>alert(1)</script>", 1)]).svg)
    assert "<script>" not in hostile and "&lt;script&gt;" in hostile and "&lt;b&gt;x&lt;/b&gt;" in hostile
    assert "暂无数据" in str(bar_chart("空", []).svg)


def test_videos_and_documents_are_named_in_the_attachment_list_but_not_printed(client, login_as, make_activity):
    from qmonth.models import Attachment, AttachmentKind, User

    activity = make_activity("weihai-cg", title="威海市检测开放日", state=ActivityState.ACCEPTED)
    author = db.session.scalar(select(User).where(User.username == "weihai-cg"))
    db.session.add(Attachment(activity=activity, unit_id=activity.unit_id, uploaded_by_id=author.id,
                              kind=AttachmentKind.DOCUMENT, original_name="活动方案.pdf", storage_key="f" * 32,
                              content_type="application/pdf", extension="pdf", size=10, sha256="0" * 64))
    db.session.commit()
    login_as("weihai-cg-admin")
    response = client.get("/reports/weihai-cg.pdf")
    assert response.status_code == 200
    text = squash(pdf_text(response.get_data()))
    assert "另报送视频、文件1个" in text and "活动方案.pdf" in text


def test_the_editor_says_not_started_until_the_first_save(client, login_as, jinan):
    login_as("jinan-zj-admin")
    html, revision = open_editor(client)
    badge = re.search(r'id="report-state">\s*([^<]+?)\s*</span>', html).group(1)
    assert badge == "未开始" and report_of("jinan-zj") is None
    assert save(client, "problems", "下一步加强培训。", revision).status_code == 200
    html, _ = open_editor(client)
    assert re.search(r'id="report-state">\s*([^<]+?)\s*</span>', html).group(1) == "草稿"
    assert report_of("jinan-zj").problems == "下一步加强培训。"
