"""Every accepted character prints, and every reader extracts the text (issue 12, items 12 and 13).

Han characters beyond GBK (CJK Ext A-G: names of people and places) print from
the bundled extension fonts; a character no bundled font has is refused at
input by name; emoji are refused (an official document has none). The PDF is
checked with a fontconfig that sees only static/fonts (the machine's Noto CJK
would hide gaps) and by the glyphs of the embedded fonts, not by text
extraction; the text then extracts with pypdf and pdfminer.six as well.
"""
from __future__ import annotations

import io
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pypdf
import pytest
from docx import Document
from fontTools.ttLib import TTFont
from pdfminer.high_level import extract_text as pdfminer_text
from sqlalchemy import select

from qmonth.extensions import db
from qmonth.fontcoverage import printable_code_points
from qmonth.models import Activity, ActivityState, Bulletin, UnitReport

from tests.helpers import csrf_token_from
from tests.activities.test_activity_form import post_new
from tests.reports.support import add_photo, clear_unit

ROOT = Path(__file__).resolve().parents[2]
# 𠮷 (Ext B, a common surname variant), 𪚥 (Ext B), 㐀 (Ext A), 𪜀 (Ext C), 𫝀 (Ext D),
# 𫠠 (Ext E), 𬺰 (Ext F), 𰀀 (Ext G), 﨑 (compatibility ideograph), 龦 (U+9FA6, after GBK).
RARE = "𠮷𪚥㐀𪜀𫝀𫠠𬺰𰀀﨑龦"
SYMBOLS = "★※①√℃"
EMOJI = "😀"


def uncovered_han() -> str:
    """A CJK Ext G character no bundled font has (Hanazono stops at Ext F, BabelStone has part of G)."""
    return chr(next(code for code in range(0x30000, 0x3134B) if code not in printable_code_points()))


# Input --------------------------------------------------------------------------------

def test_rare_han_and_symbols_are_accepted_and_stored(client, login_as):
    login_as("jinan-zj")
    title = f"{RARE}{SYMBOLS}质量安全讲堂"
    response = post_new(client, title=title, description=f"{RARE}。")
    assert response.status_code == 302
    activity = db.session.scalar(select(Activity).order_by(Activity.id.desc()))
    assert activity.title == title and activity.description == f"{RARE}。"


def test_a_han_character_no_font_has_is_refused_by_name(client, login_as):
    login_as("jinan-zj")
    missing = uncovered_han()
    response = post_new(client, title=f"王{missing}质量讲堂")
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert f"“{missing}”（U+{ord(missing):04X}）无法打印，请改用常用字或删除。" in html
    assert f'value="王{missing}质量讲堂"' in html  # the input is kept


def test_emoji_are_refused_with_a_clear_message(client, login_as):
    login_as("jinan-zj")
    response = post_new(client, description=f"活动圆满成功{EMOJI}")
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert f"内容包含表情符号“{EMOJI}”（U+1F600），报告无法打印，请删除。" in html
    assert f"活动圆满成功{EMOJI}" in html


def test_report_text_refuses_an_emoji_too(client, login_as):
    from tests.reports.test_reports import open_editor, save
    clear_unit("jinan-zj")
    login_as("jinan-zj-admin")
    _, revision = open_editor(client)
    response = save(client, "overview", f"总体情况良好{EMOJI}", revision)
    assert "表情符号" in response.get_data(as_text=True)
    report = db.session.scalar(select(UnitReport).where(UnitReport.unit.has(code="jinan-zj")))
    assert report is None or EMOJI not in (report.overview or "")


# PDF: only the bundled fonts, glyphs checked in the embedded fonts ---------------------------

RENDER = textwrap.dedent("""
    import sys
    from qmonth.reports.printing import PrintDocument, render_pdf
    html = sys.stdin.read()
    sys.stdout.buffer.write(render_pdf(PrintDocument(html=html, download_name="x.pdf", static_folder=sys.argv[1])))
""")


def every_face_html(text: str) -> str:
    """One line of `text` in each face of print.css: title 小标宋, 黑体, 楷体, body 仿宋, table, lede."""
    return ('<!doctype html><html lang="zh-CN"><head><meta charset="utf-8">'
            '<link rel="stylesheet" href="/static/css/fonts.css"><link rel="stylesheet" href="/static/css/print.css">'
            f'</head><body><h1 class="doc-title">标题{text}</h1><h2>一、黑体{text}</h2><h3>（一）楷体{text}</h3>'
            f'<p>正文仿宋{text}</p><p class="lede">导语{text}</p>'
            f'<table class="grid-table"><tr><th>表头{text}</th></tr><tr><td>单元格{text}</td></tr></table>'
            '</body></html>')


def render_with_bundled_fonts_only(html: str, tmp_path: Path) -> bytes:
    """Render in a child process whose fontconfig sees static/fonts and nothing else
    (fontconfig reads its configuration once per process)."""
    conf = tmp_path / "fonts.conf"
    conf.write_text('<?xml version="1.0"?><!DOCTYPE fontconfig SYSTEM "fonts.dtd"><fontconfig>'
                    f'<dir>{ROOT / "static" / "fonts"}</dir><cachedir>{tmp_path / "fc-cache"}</cachedir>'
                    '</fontconfig>', encoding="utf-8")
    env = {**os.environ, "FONTCONFIG_FILE": str(conf), "FONTCONFIG_PATH": str(tmp_path)}
    probe = subprocess.run(["fc-list", "--format", "%{file}\n"], env=env, capture_output=True, text=True, check=True)
    assert probe.stdout.strip() and all(line.startswith(str(ROOT / "static" / "fonts"))
                                        for line in probe.stdout.splitlines())
    done = subprocess.run([sys.executable, "-c", RENDER, str(ROOT / "static")], input=html.encode("utf-8"),
                          env=env, capture_output=True, cwd=ROOT, check=True, timeout=300)
    return done.stdout


def embedded_glyphs(pdf: bytes) -> dict[str, tuple[str, bool]]:
    """{character: (font name, whether its glyph in the embedded font file has an outline)}
    for every character of every font's ToUnicode map."""
    reader = pypdf.PdfReader(io.BytesIO(pdf))
    found = {}
    for page in reader.pages:
        for font_ref in page["/Resources"]["/Font"].values():
            font = font_ref.get_object()
            assert font["/Subtype"] == "/Type0"
            assert font["/Encoding"] == "/Identity-H", f"{font['/BaseFont']} has a custom encoding"
            descendant = font["/DescendantFonts"][0].get_object()
            descriptor = descendant["/FontDescriptor"].get_object()
            data = (descriptor.get("/FontFile3") or descriptor.get("/FontFile2")).get_object().get_data()
            embedded = TTFont(io.BytesIO(data)) if data[:4] in (b"OTTO", b"\0\1\0\0", b"true") else None
            assert embedded is not None, f"{font['/BaseFont']}: not an OpenType/TrueType file"
            order = embedded.getGlyphOrder()
            glyphs = embedded.getGlyphSet()
            for code, text in to_unicode(font["/ToUnicode"].get_object().get_data()).items():
                name = order[code] if code < len(order) else None
                drawn = False
                if name and code != 0:
                    from fontTools.pens.boundsPen import BoundsPen
                    pen = BoundsPen(glyphs)
                    glyphs[name].draw(pen)
                    drawn = pen.bounds is not None
                for char in text:
                    found[char] = (str(font["/BaseFont"]), drawn)
    return found


def to_unicode(cmap: bytes) -> dict[int, str]:
    """The bfchar and bfrange entries of a ToUnicode CMap (as WeasyPrint writes them)."""
    text = cmap.decode("latin-1")
    mapping = {}
    for block in re.findall(r"beginbfchar(.*?)endbfchar", text, re.S):
        for code, target in re.findall(r"<([0-9a-fA-F]+)>\s*<([0-9a-fA-F]+)>", block):
            mapping[int(code, 16)] = bytes.fromhex(target).decode("utf-16-be")
    for block in re.findall(r"beginbfrange(.*?)endbfrange", text, re.S):
        for low, high, target in re.findall(r"<([0-9a-fA-F]+)>\s*<([0-9a-fA-F]+)>\s*<([0-9a-fA-F]+)>", block):
            start = bytes.fromhex(target).decode("utf-16-be")
            for offset in range(int(high, 16) - int(low, 16) + 1):
                mapping[int(low, 16) + offset] = start[:-1] + chr(ord(start[-1]) + offset)
    return mapping


def test_rare_han_and_symbols_print_as_real_glyphs_with_only_the_bundled_fonts(tmp_path):
    pdf = render_with_bundled_fonts_only(every_face_html(RARE + SYMBOLS), tmp_path)
    glyphs = embedded_glyphs(pdf)
    for char in RARE + SYMBOLS + "标题黑体楷体正文仿宋":
        assert char in glyphs, f"U+{ord(char):04X} {char} is in no font of the PDF"
        font, drawn = glyphs[char]
        assert drawn, f"U+{ord(char):04X} {char} is an empty glyph in {font}"
    assert "qm-ext-b" in glyphs["𪚥"][0] and "qm-ext-b" in glyphs["𠮷"][0]
    assert "qm-ext-a" in glyphs["㐀"][0] and "qm-ext-g" in glyphs["𰀀"][0]


def test_a_stored_character_no_font_has_prints_as_the_missing_mark(tmp_path):
    # Text stored before the input check: 〓 (U+3013) instead of an empty box, and no custom encoding.
    pdf = render_with_bundled_fonts_only(every_face_html(f"王{uncovered_han()}{EMOJI}"), tmp_path)
    glyphs = embedded_glyphs(pdf)
    assert glyphs["〓"][1] and glyphs["王"][1]
    assert uncovered_han() not in glyphs and EMOJI not in glyphs


# Text extraction: pypdf and pdfminer.six, every report --------------------------------------

def assert_extracts(pdf: bytes, *expected: str) -> None:
    """Both extractors give back each expected string (whitespace ignored)."""
    readers = {
        "pypdf": "".join(page.extract_text() for page in pypdf.PdfReader(io.BytesIO(pdf)).pages),
        "pdfminer": pdfminer_text(io.BytesIO(pdf)),
    }
    for reader, text in readers.items():
        squashed = "".join(text.split())
        for string in expected:
            assert string in squashed, f"{reader} lost {string!r}: {squashed[:400]!r}"


def test_every_face_extracts_with_pypdf_and_pdfminer(tmp_path):
    pdf = render_with_bundled_fonts_only(every_face_html(RARE + SYMBOLS), tmp_path)
    assert_extracts(pdf, f"标题{RARE}", f"一、黑体{RARE}", f"（一）楷体{RARE}", f"正文仿宋{RARE}{SYMBOLS}",
                    f"表头{RARE}", f"单元格{RARE}")


@pytest.fixture
def rare_bureau(app, make_activity):
    """济南市住建局 with a highlight, a report and stored text holding rare characters and one emoji."""
    clear_unit("jinan-zj")
    from tests.reports.test_reports import open_campaign
    open_campaign()
    activity = make_activity("jinan-zj", title=f"{RARE}质量讲堂", state=ActivityState.ACCEPTED,
                             description=f"{RARE}{SYMBOLS}正文。", is_highlight=True)
    make_activity("jinan-zj", title=f"旧数据{EMOJI}", state=ActivityState.ACCEPTED)  # stored before the check
    add_photo(activity, seed=3, caption=f"{RARE}现场")
    return activity


@pytest.mark.one_database("the printed glyphs; rare characters are stored on both databases by the bad-input corpus")
def test_bureau_report_roll_up_and_bulletin_extract_with_pypdf_and_pdfminer(client, login_as, rare_bureau):
    from tests.reports.test_reports import open_editor, save, submit
    login_as("jinan-zj-admin")
    _, revision = open_editor(client)
    assert save(client, "overview", f"总体情况{RARE}{SYMBOLS}。", revision).status_code == 200
    _, revision = open_editor(client)
    submit(client, "jinan-zj", revision)
    bureau = client.get("/reports/jinan-zj.pdf")
    assert bureau.status_code == 200 and bureau.mimetype == "application/pdf"
    assert_extracts(bureau.get_data(), "一、基本情况", f"总体情况{RARE}{SYMBOLS}", f"{RARE}质量讲堂",
                    f"{RARE}{SYMBOLS}正文", "旧数据〓")

    login_as("province")
    roll_up = client.get("/reports/province.pdf")
    assert roll_up.status_code == 200
    assert_extracts(roll_up.get_data(), "总结报告报送情况", "济南市住房和城乡建设局")

    listing = client.get("/reports/bulletins/").get_data(as_text=True)
    client.post("/reports/bulletins/new", data={"csrf_token": csrf_token_from(listing)})
    number = db.session.scalar(select(Bulletin.number).order_by(Bulletin.id.desc()))
    edit = f"/reports/bulletins/{number}"
    form = {"csrf_token": csrf_token_from(client.get(edit).get_data(as_text=True)), "title": f"亮点{RARE}",
            "lead": f"导语{RARE}。", "issued_on": "2024-09-25"}
    client.post(edit, data={**form, "op": f"add:{rare_bureau.id}"})
    bulletin = client.get(f"{edit}.pdf")
    assert bulletin.status_code == 200
    assert_extracts(bulletin.get_data(), "质量月活动简报", f"亮点{RARE}", f"导语{RARE}", f"{RARE}质量讲堂")


# Word -------------------------------------------------------------------------------------

def test_word_names_the_extension_font_for_rare_characters(client, login_as, rare_bureau):
    login_as("jinan-zj-admin")
    document = Document(io.BytesIO(client.get("/reports/jinan-zj.docx").get_data()))
    fonts = {}
    for run in document.element.body.iter("{http://schemas.openxmlformats.org/wordprocessingml/2006/main}r"):
        text = "".join(run.itertext())
        r_fonts = run.find(".//{http://schemas.openxmlformats.org/wordprocessingml/2006/main}rFonts")
        east_asia = None if r_fonts is None else r_fonts.get(
            "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}eastAsia")
        for char in text:
            fonts.setdefault(char, set()).add(east_asia)
    assert fonts["𪚥"] == {"HanaMinB"} and fonts["𠮷"] == {"HanaMinB"}
    assert fonts["㐀"] == {"HanaMinA"} and fonts["𰀀"] == {"BabelStone Han"}
    assert "HanaMinB" not in fonts["质"] and "HanaMinB" not in fonts["★"]
    body = "\n".join(p.text for p in document.paragraphs)
    assert f"{RARE}质量讲堂" in body
    assert EMOJI not in body and "旧数据〓" in body  # stored before the check: the same mark as the PDF


# Web pages --------------------------------------------------------------------------------

def test_pages_load_the_large_extension_fonts_only_for_rare_characters(live_server, page_at, make_activity):
    from urllib.parse import urlsplit

    from tests.conftest import browser_login
    clear_unit("jinan-zj")
    page = page_at()
    fonts: list[str] = []
    page.on("request", lambda request: urlsplit(request.url).path.endswith((".otf", ".ttf"))
            and fonts.append(urlsplit(request.url).path.rsplit("/", 1)[-1]))
    browser_login(page, live_server, "jinan-zj-admin")
    preview = f"{live_server.url}/reports/jinan-zj/preview"

    for path in ("/", "/activities/", "/reports/jinan-zj/preview"):
        page.goto(f"{live_server.url}{path}", wait_until="networkidle")
        page.evaluate("document.fonts.ready.then(() => true)")
    assert "FandolFang-Regular.otf" in fonts  # the preview does use the print faces
    assert not [name for name in fonts if "QMExt" in name]

    make_activity("jinan-zj", title="𪚥质量讲堂", state=ActivityState.ACCEPTED)
    fonts.clear()
    page.goto(preview, wait_until="networkidle")
    assert page.evaluate("document.fonts.ready.then(() => document.body.innerText.includes('𪚥质量讲堂'))")
    assert "HanaMinB-QMExt.ttf" in fonts
    assert "HanaMinA-QMExt.ttf" not in fonts and "BabelStoneHan-QMExt.ttf" not in fonts


@pytest.mark.one_database("the printed glyphs; rare characters are stored on both databases by the bad-input corpus")
def test_a_county_renamed_with_rare_characters_prints_in_its_citys_roll_up(client, login_as, make_activity):
    """The name a city gives a county on its units screen heads that county's listing in the city's
    PDF and Word file; the county's accepted entry keeps its rare title in both."""
    login_as("jinan-zj-admin")
    page = client.get("/admin/units").get_data(as_text=True)
    renamed = client.post("/admin/units/jinan-lixia-zj/rename",
                          data={"csrf_token": csrf_token_from(page), "name": "𪚥𠮷区住房和城乡建设局"})
    assert renamed.status_code == 302
    make_activity("jinan-lixia-zj", title="𠮷家庄村质量安全讲堂", state=ActivityState.ACCEPTED)

    pdf = client.get("/reports/jinan-zj.pdf")
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf"
    assert_extracts(pdf.get_data(), "𪚥𠮷区住房和城乡建设局", "𠮷家庄村质量安全讲堂")
    glyphs = embedded_glyphs(pdf.get_data())
    assert all(glyphs[char][1] for char in "𪚥𠮷"), {char: glyphs.get(char) for char in "𪚥𠮷"}

    document = Document(io.BytesIO(client.get("/reports/jinan-zj.docx").get_data()))
    text = "\n".join([p.text for p in document.paragraphs] +
                     [cell.text for table in document.tables for row in table.rows for cell in row.cells])
    assert "𠮷家庄村质量安全讲堂" in text
