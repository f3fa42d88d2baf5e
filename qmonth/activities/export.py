"""The filtered activity list as XLSX or CSV: one row per activity, one column per kind figure."""
from __future__ import annotations

import csv
import io
import unicodedata
from dataclasses import dataclass
from datetime import date, datetime
from typing import Callable

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ERROR_CODES
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from sqlalchemy.orm import selectinload

from .. import downloads
from ..extensions import db
from ..models import Activity, Campaign, User
from ..textnorm import file_text
from ..timeutil import to_local, utcnow
from .listing import ListFilters, filtered_activities

SHEET_TITLE = "活动清单"
FILE_STEM = "质量月活动清单"
ASCII_FILE_STEM = "qmonth-activities"
# Spreadsheets run a cell starting with these as a formula (CSV/formula injection).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
WIDTH_MIN, WIDTH_MAX = 6, 50


def inert(value):
    """Text that a spreadsheet would run as a formula gets a leading apostrophe."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


@dataclass
class Column:
    header: str
    value: Callable[[Activity], object]
    kind: str = "text"  # text, int, date, datetime — decides the cell format


def _join_tasks(activity: Activity) -> str:
    return "、".join(f"{task.number} {task.title}" for task in activity.tasks)


def _submitted_at(activity: Activity) -> datetime | None:
    local = to_local(activity.submitted_at)
    return local.replace(tzinfo=None) if local else None


BASE_COLUMNS = [
    Column("单位", lambda a: a.unit.name),
    Column("城市", lambda a: a.unit.city),
    Column("活动名称", lambda a: a.title),
    Column("活动类型", lambda a: a.kind.name),
    Column("重点任务", _join_tasks),
    Column("开始日期", lambda a: a.starts_on, "date"),
    Column("结束日期", lambda a: a.ends_on, "date"),
    Column("县（市、区）", lambda a: a.county),
    Column("详细地点", lambda a: a.address),
    Column("参与人次", lambda a: a.participants, "int"),
    Column("主办单位", lambda a: a.organiser),
    Column("协办单位", lambda a: a.co_organisers),
    Column("联系人", lambda a: a.contact_name),
    Column("联系电话", lambda a: a.contact_phone),
    Column("状态", lambda a: a.state.label),
    Column("宣传推广", lambda a: "是" if a.is_highlight else ""),
    Column("报送时间", _submitted_at, "datetime"),
    Column("活动内容", lambda a: a.description),
    Column("活动成效", lambda a: a.results),
]


def _figure_value(figure: dict, value, slogans: dict[int, str]):
    """A stored figure as a cell: numbers stay numbers, lists are joined with 、."""
    if value is None or value == "" or value == []:
        return None
    if figure["type"] == "slogans":
        numbers = value if isinstance(value, list) else [value]
        return "、".join(slogans.get(number, str(number)) for number in numbers)
    if isinstance(value, list):
        return "、".join(str(item) for item in value)
    if figure["type"] == "int" and isinstance(value, int) and not isinstance(value, bool):
        return value
    return str(value)


def figure_columns(campaign: Campaign) -> list[Column]:
    """One column per (kind, figure): two kinds may use the same figure code."""
    slogans = {slogan.number: slogan.text for slogan in campaign.slogans}
    columns = []
    for kind in campaign.kinds:
        for figure in kind.figures:
            unit = f"（{figure['unit']}）" if figure.get("unit") else ""

            def value(activity, kind_id=kind.id, figure=figure):
                if activity.kind_id != kind_id:
                    return None
                return _figure_value(figure, (activity.figures or {}).get(figure["code"]), slogans)

            columns.append(Column(f"{kind.name}·{figure['label']}{unit}", value,
                                  "int" if figure["type"] == "int" else "text"))
    return columns


def export_table(user: User, filters: ListFilters, campaign: Campaign) -> tuple[list[Column], list[list]]:
    """Headers and rows of the filtered list (all pages), numbered from 1."""
    query = filtered_activities(user, filters).options(selectinload(Activity.tasks))
    columns = [Column("序号", lambda a: None, "int"), *BASE_COLUMNS, *figure_columns(campaign)]
    rows = []
    for number, activity in enumerate(db.session.scalars(query).unique(), start=1):
        rows.append([number, *(inert(file_text(column.value(activity))) for column in columns[1:])])
    return columns, rows


def _display_width(value) -> int:
    """Characters as a spreadsheet draws them: CJK and other wide ones count twice."""
    if value is None:
        return 0
    if isinstance(value, datetime):
        return 16
    if isinstance(value, date):
        return 10
    text = str(value)[:WIDTH_MAX]  # wider than the cap is wide enough: stop counting there
    return sum(2 if unicodedata.east_asian_width(char) in "WF" else 1 for char in text)


def column_widths(columns: list[Column], rows: list[list]) -> list[int]:
    widths = []
    for index, column in enumerate(columns):
        widest = max([_display_width(column.header), *(_display_width(row[index]) for row in rows)])
        widths.append(min(max(widest + 2, WIDTH_MIN), WIDTH_MAX))
    return widths


NUMBER_FORMATS = {"date": "yyyy-mm-dd", "datetime": "yyyy-mm-dd hh:mm"}
# Text that openpyxl would store as an error value (#N/A …) rather than as text.
ERROR_TEXTS = frozenset(ERROR_CODES)


def _text_cell(sheet, value: str) -> WriteOnlyCell:
    cell = WriteOnlyCell(sheet, value=value)
    cell.data_type = "s"
    return cell


def to_xlsx(columns: list[Column], rows: list[list]) -> bytes:
    """A workbook with a frozen, bold header row and columns wide enough for Chinese text."""
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(SHEET_TITLE)
    for index, width in enumerate(column_widths(columns, rows), start=1):
        sheet.column_dimensions[get_column_letter(index)].width = width
    sheet.freeze_panes = "A2"
    bold, fill = Font(bold=True), PatternFill("solid", fgColor="F2E6E6")
    header = []
    for column in columns:
        cell = WriteOnlyCell(sheet, value=column.header)
        cell.font, cell.fill = bold, fill
        cell.alignment = Alignment(vertical="center")
        header.append(cell)
    sheet.append(header)
    dated = [index for index, column in enumerate(columns) if column.kind in NUMBER_FORMATS]
    for row in rows:
        # Plain values are written fastest; only dates need a cell object for their format.
        # Text reaches here through inert(), so none starts with "=" and none becomes a formula.
        cells = [_text_cell(sheet, value) if value in ERROR_TEXTS else value for value in row]
        for index in dated:
            if cells[index] is not None:
                cells[index] = WriteOnlyCell(sheet, value=cells[index])
                cells[index].number_format = NUMBER_FORMATS[columns[index].kind]
        sheet.append(cells)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def _csv_text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def to_csv(columns: list[Column], rows: list[list]) -> bytes:
    """UTF-8 with a BOM, so Excel on Windows opens the Chinese text correctly."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow([column.header for column in columns])
    for row in rows:
        writer.writerow([_csv_text(value) for value in row])
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


def download_name(extension: str, today: date | None = None) -> str:
    """质量月活动清单-20240915.xlsx, dated in Asia/Shanghai."""
    today = today or to_local(utcnow()).date()
    return f"{FILE_STEM}-{today:%Y%m%d}.{extension}"


def content_disposition(extension: str, today: date | None = None) -> str:
    """The export's header: the Chinese name in filename*, an ASCII one for clients that lack it."""
    today = today or to_local(utcnow()).date()
    return downloads.content_disposition(download_name(extension, today), extension,
                                         ascii_stem=f"{ASCII_FILE_STEM}-{today:%Y%m%d}")
