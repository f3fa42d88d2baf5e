"""The Word twin of the bureau report (python-docx): same content and headings, editable and stampable.

Office PCs have the official fonts, so the document names them (仿宋_GB2312,
黑体, 楷体_GB2312, 方正小标宋简体) for East Asian text. Margins mirror on
facing pages like the PDF, and page numbers sit outside: right on odd pages,
left on even ones.

Every text from the database passes through `file_text` on its way in: XML refuses
some characters an older row may still hold, and one such row must not break the file.
Characters beyond those fonts (Han of CJK Ext A-G, for names of people and
places) get runs of their own naming the font the PDF prints them with
(HanaMinA, HanaMinB, BabelStone Han); a character no bundled font has is
replaced by 〓, as in the PDF.
"""
from __future__ import annotations

import io
from copy import deepcopy
from datetime import timezone
from itertools import groupby

from docx import Document
from docx.enum.section import WD_SECTION
from docx.enum.style import WD_STYLE_TYPE
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH, WD_BREAK, WD_LINE_SPACING, WD_TAB_ALIGNMENT
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Mm, Pt, RGBColor

from ..fontcoverage import is_printable, printable, word_family
from ..photos.storage import photo_key
from ..storage import uploads
from ..textnorm import file_text
from ..timeutil import format_date_cn
from .data import HIGHLIGHT_PHOTOS, UnitReportData, figures_paragraph
from .documents import cn_numeral, paragraphs

BODY_FONT = "仿宋_GB2312"
TITLE_FONT = "方正小标宋简体"
HEADING1_FONT = "黑体"
HEADING2_FONT = "楷体_GB2312"
LINE = Pt(28.95)
INDENT = Pt(32)
PHOTO_WIDTH = Mm(74)
RED = RGBColor(0xC0, 0x00, 0x00)
ANNEX_TITLE = "“质量月”活动全省汇总表"
TABLE_TEXT, TABLE_HEADING = "Table Text", "Table Heading"  # paragraph styles of table cells


def _fonts(target, name: str, size: Pt | None = None) -> None:
    """Set Latin and East Asian font names (python-docx sets only the Latin ones)."""
    target.font.name = name
    if size is not None:
        target.font.size = size
    r_pr = target.element.get_or_add_rPr()
    r_fonts = r_pr.find(qn("w:rFonts"))
    if r_fonts is None:
        r_fonts = OxmlElement("w:rFonts")
        r_pr.insert(0, r_fonts)
    for attribute in ("w:ascii", "w:hAnsi", "w:eastAsia", "w:cs"):
        r_fonts.set(qn(attribute), name)


def _paragraph_format(style, *, indent=INDENT, align=WD_ALIGN_PARAGRAPH.JUSTIFY) -> None:
    fmt = style.paragraph_format
    fmt.line_spacing_rule = WD_LINE_SPACING.EXACTLY
    fmt.line_spacing = LINE
    fmt.space_before = Pt(0)
    fmt.space_after = Pt(0)
    fmt.first_line_indent = indent
    fmt.alignment = align


def _setup_styles(document) -> None:
    normal = document.styles["Normal"]
    _fonts(normal, BODY_FONT, Pt(16))
    _paragraph_format(normal)
    for name, font in (("Heading 1", HEADING1_FONT), ("Heading 2", HEADING2_FONT)):
        style = document.styles[name]
        _fonts(style, font, Pt(16))
        style.font.bold = False
        style.font.italic = False
        style.font.color.rgb = RGBColor(0, 0, 0)
        _paragraph_format(style)
        style.paragraph_format.keep_with_next = True
    # Table cells: 小四 (12 pt), single-spaced, no first-line indent; headings in 黑体, centred.
    for name, font, align in ((TABLE_TEXT, BODY_FONT, WD_ALIGN_PARAGRAPH.LEFT),
                              (TABLE_HEADING, HEADING1_FONT, WD_ALIGN_PARAGRAPH.CENTER)):
        style = document.styles.add_style(name, WD_STYLE_TYPE.PARAGRAPH)
        style.base_style = normal
        _fonts(style, font, Pt(12))
        fmt = style.paragraph_format
        fmt.first_line_indent = Pt(0)
        fmt.line_spacing_rule = WD_LINE_SPACING.SINGLE
        fmt.alignment = align
    title = document.styles["Title"]
    _fonts(title, TITLE_FONT, Pt(22))
    title.font.bold = False
    title.font.color.rgb = RGBColor(0, 0, 0)
    _paragraph_format(title, indent=Pt(0), align=WD_ALIGN_PARAGRAPH.CENTER)
    title.paragraph_format.space_after = LINE
    # The built-in Title style draws a rule under the text; an official title has none.
    p_pr = title.element.get_or_add_pPr()
    for border in p_pr.findall(qn("w:pBdr")):
        p_pr.remove(border)


def _page_setup(document) -> None:
    section = document.sections[0]
    section.page_width, section.page_height = Mm(210), Mm(297)
    section.top_margin, section.bottom_margin = Mm(37), Mm(35)
    section.left_margin, section.right_margin = Mm(28), Mm(26)  # inside, outside (mirrored)
    section.footer_distance = Mm(28)
    settings = document.settings.element
    settings.append(OxmlElement("w:mirrorMargins"))
    document.settings.odd_and_even_pages_header_footer = True
    _page_number(section.footer.paragraphs[0], WD_ALIGN_PARAGRAPH.RIGHT)
    _page_number(section.even_page_footer.paragraphs[0], WD_ALIGN_PARAGRAPH.LEFT)


def _page_number(paragraph, align) -> None:
    """"— 1 —" in 四号 宋体, one character in from the outer edge."""
    paragraph.alignment = align
    fmt = paragraph.paragraph_format
    fmt.first_line_indent = Pt(0)
    if align is WD_ALIGN_PARAGRAPH.RIGHT:
        fmt.right_indent = Pt(14)
    else:
        fmt.left_indent = Pt(14)
    _run(paragraph, "— ", "宋体", Pt(14))
    run = _run(paragraph, "", "宋体", Pt(14))
    for kind, text in (("begin", None), (None, "PAGE"), ("end", None)):
        if kind:
            element = OxmlElement("w:fldChar")
            element.set(qn("w:fldCharType"), kind)
        else:
            element = OxmlElement("w:instrText")
            element.set(qn("xml:space"), "preserve")
            element.text = text
        run._r.append(element)
    _run(paragraph, " —", "宋体", Pt(14))


def _run(paragraph, text: str, font: str | None = None, size: Pt | None = None):
    run = paragraph.add_run(file_text(text))
    if font:
        _fonts(run, font, size)
    return run


def _text(document, text: str | None) -> None:
    for para in paragraphs(text):
        document.add_paragraph(file_text(para))


def _table(document, header: list[str], rows: list[list[str]], widths: list[float]) -> None:
    # Styles by id: python-docx's `.style = name` searches every style of the document each
    # time (to see whether it is the default), which cost more than a table's own properties.
    grid, heading, text_style = (document.styles[name].style_id for name in ("Table Grid", TABLE_HEADING, TABLE_TEXT))
    table = document.add_table(rows=1, cols=len(header))
    table._tbl.tblPr.style = grid
    table.alignment = WD_TABLE_ALIGNMENT.CENTER
    # The grid's widths as well as each cell's: LibreOffice and WPS lay a table out by its grid.
    for column, width in zip(table.columns, widths):
        column.width = Mm(width)
    for cell, text, width in zip(table.rows[0].cells, header, widths):
        cell.width = Mm(width)
        _cell_text(cell, text, heading)
    for values in rows:
        cells = table.add_row().cells
        for cell, text, width in zip(cells, values, widths):
            cell.width = Mm(width)
            _cell_text(cell, text, text_style)


def _cell_text(cell, text: str, style_id: str) -> None:
    """A cell's text in one of the table styles (_setup_styles): the font, size, spacing and
    alignment come from the style, not from properties on each of a long table's cells."""
    paragraph = cell.paragraphs[0]
    paragraph._p.get_or_add_pPr().style = style_id
    paragraph.add_run(file_text(text))


def _photos(document, photos_with_labels) -> None:
    """Two photos per row in a borderless table, each with its caption beneath."""
    store = uploads()
    items = []
    for photo, label in photos_with_labels:
        try:
            items.append((photo, label, store.read_bytes(photo_key(photo.storage_key, "print"))))
        except FileNotFoundError:
            continue
    if not items:
        return
    table = document.add_table(rows=0, cols=2)
    table.alignment = WD_TABLE_ALIGNMENT.CENTER
    for start in range(0, len(items), 2):
        cells = table.add_row().cells
        for cell, (photo, label, data) in zip(cells, items[start:start + 2]):
            picture = cell.paragraphs[0]
            picture.paragraph_format.first_line_indent = Pt(0)
            picture.paragraph_format.line_spacing_rule = WD_LINE_SPACING.SINGLE
            picture.alignment = WD_ALIGN_PARAGRAPH.CENTER
            picture.add_run().add_picture(io.BytesIO(data), width=PHOTO_WIDTH)
            caption = cell.add_paragraph()
            caption.paragraph_format.first_line_indent = Pt(0)
            caption.paragraph_format.line_spacing_rule = WD_LINE_SPACING.SINGLE
            caption.alignment = WD_ALIGN_PARAGRAPH.CENTER
            _run(caption, label + (f"：{photo.caption}" if photo.caption else ""), BODY_FONT, Pt(10.5))


def _page_break(document) -> None:
    document.add_paragraph().add_run().add_break(WD_BREAK.PAGE)


def _kind_figures(kind) -> str:
    return "；".join(figure.text for figure in kind.figures if figure.total)


def unit_docx(data: UnitReportData) -> io.BytesIO:
    """The bureau report as .docx bytes (a file object positioned at 0)."""
    document = Document()
    _setup_styles(document)
    _page_setup(document)
    report, figures, unit = data.report, data.figures, data.unit
    properties = document.core_properties
    properties.title = file_text(data.title)
    properties.author = properties.last_modified_by = file_text(unit.name)
    moment = data.updated_at.astimezone(timezone.utc).replace(tzinfo=None)
    properties.created = properties.modified = moment
    properties.revision = 1

    if data.upward:
        _upward_head(document, data)
    document.add_paragraph(file_text(data.title), style="Title")
    addressee = document.add_paragraph(file_text(f"{data.addressee or data.campaign.report_addressee}："))
    addressee.paragraph_format.first_line_indent = Pt(0)

    document.add_heading("一、基本情况", level=1)
    _text(document, report.overview)
    document.add_paragraph(file_text(figures_paragraph(figures)))
    if figures.kinds_with_entries:
        rows = [[k.kind.name, str(k.count), str(k.participants), _kind_figures(k)] for k in figures.kinds_with_entries]
        rows.append(["合计", str(figures.count), str(figures.participants), ""])
        _table(document, ["活动类型", "活动数（项）", "参与人次", "主要指标"], rows, [32, 24, 24, 76])

    document.add_heading("二、主要做法和成效", level=1)
    _text(document, report.practices)
    for index, section in enumerate(data.groups, start=1):
        document.add_heading(file_text(f"（{cn_numeral(index)}）{section.group.title}"), level=2)
        for task_section in section.tasks:
            paragraph = document.add_paragraph()
            _run(paragraph, f"{task_section.task.number}.{task_section.task.title}。", HEADING2_FONT)
            paragraph.add_run(f"共开展活动{len(task_section.activities)}项。")
            for number, activity in enumerate(task_section.activities, start=1):
                participants = f"，参与{activity.participants}人次" if activity.participants else ""
                document.add_paragraph(file_text(f"（{number}）{_when_where(activity)}“{activity.title}”"
                                                 f"{participants}。{activity.description}{activity.results}"))

    if data.rolled_up:
        document.add_heading(file_text(f"（{cn_numeral(len(data.groups) + 1)}）所辖单位活动情况"), level=2)
        for number, section in enumerate(data.below_sections, start=1):
            paragraph = document.add_paragraph()
            _run(paragraph, f"{number}.{section.label}。", HEADING2_FONT)
            titles = "、".join(f"“{activity.title}”" for activity in section.activities)
            paragraph.add_run(file_text(f"已采纳活动{section.count}项，参与{section.participants}人次：{titles}。"
                                        if section.count else "尚无已采纳的活动。"))

    document.add_heading("三、特色亮点", level=1)
    _text(document, report.highlights_text)
    for index, activity in enumerate(data.highlights, start=1):
        document.add_heading(file_text(f"（{cn_numeral(index)}）{activity.title}"), level=2)
        _text(document, activity.description)
        _text(document, activity.results)
        _photos(document, [(photo, activity.title) for photo in activity.photos[:HIGHLIGHT_PHOTOS]])

    document.add_heading("四、存在问题和下一步打算", level=1)
    _text(document, report.problems)

    document.add_paragraph()
    offset = 1 if data.upward else 0
    names = [f"{unit.name}“质量月”活动情况一览表"] + ([f"{unit.name}“质量月”活动照片"] if data.photos else [])
    if data.upward:
        names.insert(0, ANNEX_TITLE)
    document.add_paragraph(file_text(f"附件：1.{names[0]}"))
    for number, name in enumerate(names[1:], start=2):
        more = document.add_paragraph(file_text(f"{number}.{name}"))
        more.paragraph_format.first_line_indent = Pt(0)
        more.paragraph_format.left_indent = Pt(80)
    document.add_paragraph()
    document.add_paragraph()
    for text in (data.signature, format_date_cn(data.signed_on)):
        line = document.add_paragraph(file_text(text))
        line.alignment = WD_ALIGN_PARAGRAPH.RIGHT
        line.paragraph_format.first_line_indent = Pt(0)
        line.paragraph_format.right_indent = Pt(64)

    if data.upward:
        _page_break(document)
        _attachment_heading(document, "附件1", ANNEX_TITLE)
        rows = [[str(i), r.name, r.status_label, r.submitted, str(r.count), str(r.participants)]
                for i, r in enumerate(data.annex, start=1)]
        rows.append(["", "合计", "", "", str(sum(r.count for r in data.annex)),
                     str(sum(r.participants for r in data.annex))])
        _table(document, ["序号", "单位", "报送情况", "报送日期", "活动数（项）", "参与人次"], rows,
               [13, 51, 24, 26, 21, 21])

    _page_break(document)
    _attachment_heading(document, f"附件{1 + offset}", f"{unit.name}“质量月”活动情况一览表")
    _activity_listing(document, data)

    if data.photos:
        document.add_section(WD_SECTION.NEW_PAGE)
        _attachment_heading(document, f"附件{2 + offset}", f"{unit.name}“质量月”活动照片")
        _photos(document, [(photo, activity.title) for activity in data.activities for photo in activity.photos])

    _name_extension_fonts(document.element.body)
    output = io.BytesIO()
    document.save(output)
    output.seek(0)
    return output


def _activity_listing(document, data: UnitReportData) -> None:
    """附件1's table: flat for a leaf; for a roll-up 本级 first, then each unit below under its own heading."""
    header = ["序号", "活动名称", "类型", "重点任务", "时间", "地点", "参与人次"]
    # Millimetres, 156 in all (the text width): 序号 and 参与人次 fit on one line at 小四.
    widths = [13, 36, 20, 26, 17, 23, 21]
    if not data.rolled_up:
        _table(document, header, _activity_rows(data.activities, 1), widths)
        return
    counter = 1
    for section in data.sections:
        if not section.activities:
            continue
        heading = document.add_paragraph()
        heading.paragraph_format.first_line_indent = Pt(0)
        _run(heading, f"{section.label}（{section.count}项）", HEADING2_FONT)
        _table(document, header, _activity_rows(section.activities, counter), widths)
        counter += section.count
    if counter == 1:
        document.add_paragraph("尚无已报送的活动。")


def _activity_rows(activities, start: int) -> list[list[str]]:
    return [[str(i), a.title, a.kind.name, "；".join(f"{t.number}.{t.title}" for t in a.tasks), _dates(a), a.county,
             "" if a.participants is None else str(a.participants)] for i, a in enumerate(activities, start=start)]


def _upward_head(document, data: UnitReportData) -> None:
    """GB/T 9704 upward document head: the issuer's mark in red, then 发文字号 left and 签发人
    right on one line over a red rule."""
    mark = document.add_paragraph()
    mark.alignment = WD_ALIGN_PARAGRAPH.CENTER
    mark.paragraph_format.first_line_indent = Pt(0)
    mark.paragraph_format.space_before = Mm(35)
    mark.paragraph_format.space_after = Pt(58)
    mark.paragraph_format.line_spacing_rule = WD_LINE_SPACING.SINGLE
    run = _run(mark, f"{data.campaign.issuer}文件", TITLE_FONT, Pt(30))
    run.font.color.rgb = RED
    line = document.add_paragraph()
    line.paragraph_format.first_line_indent = Pt(0)
    line.paragraph_format.left_indent = Pt(16)
    line.paragraph_format.right_indent = Pt(16)
    line.paragraph_format.space_after = Pt(58)
    line.paragraph_format.tab_stops.add_tab_stop(Mm(156) - Pt(32), WD_TAB_ALIGNMENT.RIGHT)
    _run(line, f"{data.report.doc_number or ''}\t签发人：")
    _run(line, data.report.signer or "", HEADING2_FONT)
    borders = OxmlElement("w:pBdr")
    bottom = OxmlElement("w:bottom")
    for key, value in (("w:val", "single"), ("w:sz", "12"), ("w:space", "8"), ("w:color", "C00000")):
        bottom.set(qn(key), value)
    borders.append(bottom)
    line._p.get_or_add_pPr().append(borders)


def _needs_own_font(text: str) -> bool:
    return any(word_family(char) or not is_printable(char) for char in text)


def _name_extension_fonts(body) -> None:
    """Split every run holding rare characters so that each of them sits in a run naming
    its font (Word chooses the East Asian font per run, and would otherwise look for
    them in 仿宋_GB2312, which has none)."""
    for run in list(body.iter(qn("w:r"))):
        if not any(_needs_own_font(text.text or "") for text in run.iter(qn("w:t"))):
            continue
        properties = run.find(qn("w:rPr"))
        pieces = []
        for child in run:
            if child is properties:
                continue
            if child.tag != qn("w:t"):
                pieces.append((None, child))
                continue
            for family, chars in groupby(printable(child.text or ""), key=word_family):
                text = OxmlElement("w:t")
                text.text = "".join(chars)
                text.set(qn("xml:space"), "preserve")
                pieces.append((family, text))
        for family, child in pieces:
            piece = OxmlElement("w:r")
            if properties is not None:
                piece.append(deepcopy(properties))
            piece.append(child)
            if family:
                _name_font(piece, family)
            run.addprevious(piece)
        run.getparent().remove(run)


def _name_font(run, family: str) -> None:
    """Set all four font slots of a run (w:rFonts follows w:rStyle in w:rPr)."""
    properties = run.find(qn("w:rPr"))
    if properties is None:
        properties = OxmlElement("w:rPr")
        run.insert(0, properties)
    fonts = properties.find(qn("w:rFonts"))
    if fonts is None:
        fonts = OxmlElement("w:rFonts")
        style = properties.find(qn("w:rStyle"))
        properties.insert(0 if style is None else 1, fonts)
    for attribute in ("w:ascii", "w:hAnsi", "w:eastAsia", "w:cs"):
        fonts.set(qn(attribute), family)


def _attachment_heading(document, label: str, title: str) -> None:
    paragraph = document.add_paragraph()
    paragraph.paragraph_format.first_line_indent = Pt(0)
    _run(paragraph, label, HEADING1_FONT)
    document.add_paragraph(file_text(title), style="Title")


def _when_where(activity) -> str:
    text = ""
    if activity.starts_on:
        text += f"{activity.starts_on.month}月{activity.starts_on.day}日"
        if activity.ends_on and activity.ends_on != activity.starts_on:
            text += f"至{activity.ends_on.month}月{activity.ends_on.day}日"
        text += "，"
    if activity.county or activity.address:
        text += f"在{activity.county}{activity.address}"
    return text + ("开展" if text else "")


def _dates(activity) -> str:
    if not activity.starts_on:
        return ""
    text = f"{activity.starts_on.month}.{activity.starts_on.day}"
    if activity.ends_on and activity.ends_on != activity.starts_on:
        text += f"—{activity.ends_on.month}.{activity.ends_on.day}"
    return text
