"""The print HTML of each report, rendered once and used for the PDF and the browser preview."""
from __future__ import annotations

from datetime import datetime, timezone

from flask import current_app, render_template

from ..charts import activities_per_city, activities_per_kind, activities_per_task
from ..photos.storage import photo_key
from ..storage import uploads
from ..timeutil import format_date_cn
from .data import HIGHLIGHT_PHOTOS, BulletinData, ProvinceData, UnitReportData, figures_paragraph, rollup_paragraph
from .printing import PrintDocument

DIGITS = "零一二三四五六七八九"


def cn_numeral(number: int) -> str:
    """1 → 一, 10 → 十, 12 → 十二, 25 → 二十五 (headings 一、 and （一）)."""
    if number < 10:
        return DIGITS[number]
    tens, ones = divmod(number, 10)
    if number < 100:
        return ("" if tens == 1 else DIGITS[tens]) + "十" + (DIGITS[ones] if ones else "")
    return str(number)


def paragraphs(text: str | None) -> list[str]:
    """User text split into paragraphs at line breaks; blank lines dropped."""
    return [line.strip() for line in (text or "").splitlines() if line.strip()]


def _w3c(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _context(root: str, updated_at: datetime, light: bool = False) -> dict:
    return {
        "root": root,
        "light": light,  # a browser preview without the print fonts (tens of MB), for phones
        "photo_src": lambda photo: f"{root}/photos/{photo.id}/print.jpg",
        "static_src": lambda name: f"{root}/static/{name}",
        "numeral": cn_numeral,
        "paragraphs": paragraphs,
        "date_cn": format_date_cn,
        "created_w3c": _w3c(updated_at),
        "highlight_photos": HIGHLIGHT_PHOTOS,
    }


def _document(html: str, photos, download_name: str) -> PrintDocument:
    photos = list({photo.id: photo for photo in photos}.values())
    return PrintDocument(
        html=html,
        download_name=download_name,
        static_folder=current_app.static_folder,
        photo_files={photo.id: photo_key(photo.storage_key, "print") for photo in photos},
        photo_store=uploads(),
        photo_keys=[(photo.id, f"{photo.storage_key}:{photo.sha256}:{photo.bytes_print}") for photo in photos],
    )


def unit_html(data: UnitReportData, root: str = "", light: bool = False) -> str:
    return render_template("reports/print/unit.html", data=data, figures_text=figures_paragraph(data.figures),
                           rollup_text=rollup_paragraph(data) if data.rolled_up else "",
                           **_context(root, data.updated_at, light))


def unit_document(data: UnitReportData) -> PrintDocument:
    return _document(unit_html(data), data.photos, f"{data.title}.pdf")


def province_charts(data: ProvinceData) -> list:
    figures = data.figures
    return [
        activities_per_city(data.city_counts),
        activities_per_task([(f"{t.task.number}. {t.task.title}", t.count) for t in figures.tasks]),
        activities_per_kind([(k.kind.name, k.count) for k in figures.kinds]),
    ]


def province_html(data: ProvinceData, root: str = "", light: bool = False) -> str:
    return render_template("reports/print/province.html", data=data, charts=province_charts(data),
                           **_context(root, data.updated_at, light))


def province_document(data: ProvinceData) -> PrintDocument:
    return _document(province_html(data), data.photos, f"{data.title}.pdf")


def bulletin_html(data: BulletinData, root: str = "", light: bool = False) -> str:
    return render_template("reports/print/bulletin.html", data=data, **_context(root, data.updated_at, light))


def bulletin_document(data: BulletinData) -> PrintDocument:
    return _document(bulletin_html(data), data.photos, f"质量月活动简报第{data.bulletin.number}期.pdf")
