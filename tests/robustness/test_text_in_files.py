"""Every text the forms accept comes out of every file literally, and no stored text breaks a file.

The bad-input corpus goes in through the forms a bureau uses (activity title, photo
caption, report section); what is refused gets a Chinese message next to the field
with the input kept. What is accepted is then read back from the activity export
(XLSX and CSV), the bureau report (Word and PDF) and the province's highlights ZIP.
All strings share one report, so the PDF is rendered once.
"""
from __future__ import annotations

import csv
import io
import re
import subprocess
import unicodedata
import zipfile
from datetime import datetime, timezone

from docx import Document
from markupsafe import escape
from openpyxl import load_workbook
from sqlalchemy import select

from qmonth.activities.export import inert
from qmonth.extensions import db
from qmonth.models import TITLE_MAX, Activity, ActivityState, UnitReport
from qmonth.reports.services import SECTION_MAX

from tests.activities.test_activity_form import form_page, valid_fields
from tests.robustness.test_bad_input_corpus import ALWAYS_REFUSED, corpus, expected_stored, has_chinese_error
from tests.helpers import token
from tests.board.support import make_photo, make_report, without_activities

SUBMITTED_AT = datetime(2024, 9, 20, 2, 0, tzinfo=timezone.utc)
# Corpus values every text field takes. Emoji, rare Han characters and scripts such as
# Arabic depend on the bundled fonts: what no font has is refused at input by name.
ACCEPTED_EVERYWHERE = {"maximum length", "zero-width", "combining marks", "script tag", "attribute breakout",
                       "javascript URL", "spreadsheet formula", "formula starters", "minus first", "at sign first"}


def _submit_title(client, name: str, value: str) -> Activity | None:
    """Post the value as a draft's title: the stored activity, or None when the form refused it."""
    _, csrf, key = form_page(client)
    response = client.post("/activities/new", data=valid_fields(title=value, csrf_token=csrf, form_key=key))
    html = response.get_data(as_text=True)
    assert response.status_code in (302, 422), name
    if response.status_code == 422:
        assert has_chinese_error(html), f"{name}: refused without a Chinese message"
        assert str(escape(value.replace("\r\n", "\n"))) in html, f"{name}: the typed title is not kept"
        return None
    return db.session.scalar(select(Activity).where(Activity.title == expected_stored(value, False)))


def _caption(client, activity: Activity, name: str, value: str) -> str | None:
    """Post the value as the caption of a new photo of the activity: the stored caption, or None."""
    photo = make_photo(activity)
    response = client.post(f"/photos/{photo.id}/caption", data={"caption": value},
                           headers={"HX-Request": "true", "X-CSRFToken": token(client, f"/activities/{activity.id}")})
    assert response.status_code in (200, 422), name
    db.session.refresh(photo)
    if response.status_code == 422:
        assert re.search(r"[\u4e00-\u9fff]", response.get_data(as_text=True)), f"{name}: no Chinese message"
        assert photo.caption == ""
        return None
    return photo.caption


def _save_problems(client, value: str):
    """Autosave the report's 存在问题 section, as the editor does."""
    revision = db.session.scalar(select(UnitReport.revision).where(UnitReport.unit.has(code="jinan-zj")))
    return client.post("/reports/jinan-zj/sections/problems", data={"problems": value, "revision": revision},
                       headers={"HX-Request": "true", "X-CSRFToken": token(client, "/reports/jinan-zj")})


def _visible(text: str) -> str:
    """Text as a PDF reader reads it back: no white space (lines wrap anywhere), no format
    characters (zero-width ones draw nothing; pdftotext adds bidi embeddings) and no
    variation selectors (they choose a glyph, and are no glyph of their own)."""
    return "".join(char for char in text if not char.isspace() and unicodedata.category(char) != "Cf"
                   and not unicodedata.name(char, "").startswith("VARIATION SELECTOR"))


def _docx_texts(data: bytes) -> tuple[list[str], list[str]]:
    """The paragraphs of the body and the texts of every table cell."""
    document = Document(io.BytesIO(data))
    cells = [cell.text for table in document.tables for row in table.rows for cell in row.cells]
    return [paragraph.text for paragraph in document.paragraphs], cells


def _xlsx_column(data: bytes, header: str) -> list:
    sheet = load_workbook(io.BytesIO(data)).active
    assert not any(cell.data_type == "f" for row in sheet.iter_rows() for cell in row), "a formula cell"
    headers = [cell.value for cell in sheet[1]]
    return [row[headers.index(header)] for row in sheet.iter_rows(min_row=2, values_only=True)]


def _csv_column(data: bytes, header: str) -> list[str]:
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    return [row[rows[0].index(header)] for row in rows[1:]]


def test_every_accepted_text_is_literal_in_every_file(client, login_as):
    without_activities()
    login_as("jinan-zj")
    titles, captions = {}, {}
    for name, value in corpus(TITLE_MAX).items():
        activity = _submit_title(client, name, value)
        if activity is None:
            continue
        assert name not in ALWAYS_REFUSED, f"{name}: stored"
        assert activity.title == expected_stored(value, False).strip(), name
        titles[name] = activity.title
        caption = _caption(client, activity, name, value)
        if caption is not None:
            assert name not in ALWAYS_REFUSED, f"{name}: caption stored"
            captions[name] = caption
    assert ACCEPTED_EVERYWHERE <= titles.keys() and ACCEPTED_EVERYWHERE <= captions.keys()
    for activity in db.session.scalars(select(Activity)):
        activity.state, activity.is_highlight = ActivityState.ACCEPTED, True
        activity.submitted_at = SUBMITTED_AT
    db.session.commit()

    # The report's narrative: every corpus value its section accepts, then all of them
    # (but the one at the section's length limit) together, one or more paragraphs each.
    make_report("jinan-zj")
    login_as("jinan-zj-admin")
    problems = {}
    for name, value in corpus(SECTION_MAX).items():
        response = _save_problems(client, value)
        if response.status_code == 422:
            assert "未保存：" in response.get_data(as_text=True), name
            continue
        assert response.status_code == 200 and name not in ALWAYS_REFUSED, name
        if value.strip() and len(value) < SECTION_MAX:
            problems[name] = value
    assert ACCEPTED_EVERYWHERE - {"maximum length"} | {"CR/LF"} <= problems.keys()
    assert _save_problems(client, "\n".join(problems.values())).status_code == 200

    login_as("province")
    xlsx = client.get("/activities/export.xlsx")
    csv_file = client.get("/activities/export.csv")
    docx = client.get("/reports/jinan-zj.docx")
    pdf = client.get("/reports/jinan-zj.pdf")
    archive = client.get("/board/highlights.zip")
    assert [r.status_code for r in (xlsx, csv_file, docx, pdf, archive)] == [200] * 5

    xlsx_titles, csv_titles = _xlsx_column(xlsx.data, "活动名称"), _csv_column(csv_file.data, "活动名称")
    paragraphs, cells = _docx_texts(docx.data)
    assert pdf.data.startswith(b"%PDF")
    pdf_text = _visible(subprocess.run(["pdftotext", "-", "-"], input=pdf.data, capture_output=True,
                                        check=True).stdout.decode())
    zipped = zipfile.ZipFile(io.BytesIO(archive.data))
    assert zipped.testzip() is None
    zip_titles, zip_captions = (_csv_column(zipped.read("captions.csv"), header) for header in ("活动名称", "图片说明"))
    assert len(zipped.namelist()) == len(titles) + 1

    for name, title in titles.items():
        assert inert(title) in xlsx_titles and inert(title) in csv_titles, f"{name}: not in the export"
        assert title in cells, f"{name}: not in the Word report's table"
        assert inert(title) in zip_titles and inert(captions.get(name, "")) in zip_captions, f"{name}: not in the ZIP"
        assert _visible(title) in pdf_text, f"{name}: not in the PDF"
    for name, value in problems.items():
        for line in value.replace("\r\n", "\n").split("\n"):
            assert line.strip() in paragraphs, f"{name}: not in the Word report"
            assert _visible(line) in pdf_text, f"{name}: not in the PDF"


# Stored before the rule: a vertical tab and a unit separator (XML refuses them, as it
# refuses U+FFFE and U+FFFF) and non-characters it accepts.
OLD_BAD_TEXT = "\x0b\x1f\ufffe\uffff\ufdd0\U0010ffff"
SHOWN = "\ufffd" * len(OLD_BAD_TEXT)


def test_text_stored_before_the_rule_shows_as_replacement_characters_in_files(client, login_as, make_activity):
    without_activities()
    activity = make_activity("jinan-zj", title=f"旧数据{OLD_BAD_TEXT}标题", description=f"旧说明{OLD_BAD_TEXT}",
                             state=ActivityState.ACCEPTED, is_highlight=True)
    make_photo(activity, caption=f"旧图片{OLD_BAD_TEXT}说明")
    report = make_report("jinan-zj")
    report.problems = f"旧问题{OLD_BAD_TEXT}段落"
    db.session.commit()
    login_as("province")

    title = f"旧数据{SHOWN}标题"
    assert _xlsx_column(client.get("/activities/export.xlsx").data, "活动名称") == [title]
    assert _xlsx_column(client.get("/activities/export.xlsx").data, "活动内容") == [f"旧说明{SHOWN}"]
    assert _csv_column(client.get("/activities/export.csv").data, "活动名称") == [title]

    docx = client.get("/reports/jinan-zj.docx")
    assert docx.status_code == 200
    paragraphs, cells = _docx_texts(docx.data)
    # Word prints with the PDF's fonts, which have no U+FFFD: it shows the missing-character
    # mark 〓 there, as the PDF does. The vertical tab starts a new paragraph (in the PDF too),
    # whose white space is trimmed.
    printed = SHOWN.replace("\ufffd", "〓")
    assert f"旧数据{printed}标题" in cells
    assert ["旧问题", f"{printed[2:]}段落"] in [paragraphs[i:i + 2] for i in range(len(paragraphs))]

    pdf = client.get("/reports/jinan-zj.pdf")
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF")
    text = subprocess.run(["pdftotext", "-", "-"], input=pdf.data, capture_output=True, check=True).stdout.decode()
    assert "旧数据" in text and "旧问题" in text

    zipped = zipfile.ZipFile(io.BytesIO(client.get("/board/highlights.zip").data))
    assert _csv_column(zipped.read("captions.csv"), "图片说明") == [f"旧图片{SHOWN}说明"]
    # The file name too; the vertical tab and the unit separator are white space there.
    assert f"济南市住房和城乡建设局/{activity.id}-旧数据 {SHOWN[2:]}标题-1.jpg" in zipped.namelist()
