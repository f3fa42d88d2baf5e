"""Server-rendered SVG bar and column charts, the same markup on web pages and in PDFs.

A chart is plain SVG built from numbers: no script, no CSS, nothing fetched, so
WeasyPrint draws it as vectors and the browser shows it under the strict CSP.
Text stays text (searchable in the PDF) and uses the CJK font stacks; every
label is escaped. Each chart carries <title>/<desc> for screen readers, and
`Chart.rows` gives the same numbers for a table beside it.
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from markupsafe import Markup, escape

# Official 黑体 first (PDF, office PCs), then the vendored face, then screen fonts.
FONT_FAMILY = ("'黑体', SimHei, qm-hei, 'Noto Sans CJK SC', 'Microsoft YaHei', "
               "'PingFang SC', qm-fallback, qm-ext-a, qm-ext-b, qm-ext-g, sans-serif")

BAR_COLOUR = "#9e1b1b"
GRID_COLOUR = "#d9dde3"
INK = "#1f2328"

WIDTH = 600
ROW_HEIGHT = 24
BAR_HEIGHT = 15
TOP = 8
FONT_SIZE = 13


@dataclass(frozen=True)
class Chart:
    """An SVG bar chart and the rows it was drawn from."""

    title: str
    unit: str
    rows: tuple[tuple[str, int], ...]
    svg: Markup

    @property
    def total(self) -> int:
        return sum(value for _, value in self.rows)

    def __html__(self) -> str:
        return str(self.svg)


def svg_opening(chart_id: str, title: str, rows, *, unit: str, description: str, width: int, height: int,
                font_size: int) -> list[str]:
    """The <svg> element with its title and description (read by screen readers), shared by
    every chart; the description defaults to the numbers themselves."""
    title_id, desc_id = f"{chart_id}-title", f"{chart_id}-desc"
    description = description or "；".join(f"{label}{value}{unit}" for label, value in rows) or "暂无数据"
    return [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" id="{escape(chart_id)}" role="img" '
        f'viewBox="0 0 {width} {height}" width="{width}" height="{height}" '
        f'aria-labelledby="{escape(title_id)} {escape(desc_id)}" font-family="{escape(FONT_FAMILY)}" '
        f'font-size="{font_size}">',
        f'<title id="{escape(title_id)}">{escape(title)}</title>',
        f'<desc id="{escape(desc_id)}">{escape(description)}</desc>',
    ]


def _nice_maximum(value: int) -> int:
    """The axis end: four equal whole-number steps (1, 2, 5, 10, 20, 25, 50, 100, …)."""
    scale = 1
    while True:
        for factor in ((1, 2, 5) if scale == 1 else (1, 2, 2.5, 5)):
            step = int(scale * factor)
            if 4 * step >= max(value, 1):
                return 4 * step
        scale *= 10


def _label_width(labels: Iterable[str]) -> int:
    """Room for the longest label: CJK glyphs are one em wide, ASCII about half."""
    widest = max((sum(1 if ord(ch) > 0x2E7F else 0.55 for ch in label) for label in labels), default=2)
    return int(min(max(widest, 2) * FONT_SIZE + 12, WIDTH * 0.45))


def bar_chart(title: str, rows: Iterable[tuple[str, int]], *, unit: str = "项", description: str = "",
              chart_id: str = "chart") -> Chart:
    """A horizontal bar chart, one bar per (label, value) row, in the given order."""
    rows = tuple((str(label), int(value or 0)) for label, value in rows)
    label_width = _label_width(label for label, _ in rows)
    value_room = 64
    plot_left = label_width
    plot_width = WIDTH - label_width - value_room
    maximum = _nice_maximum(max((value for _, value in rows), default=0))
    height = TOP + max(len(rows), 1) * ROW_HEIGHT + 22

    parts = svg_opening(chart_id, title, rows, unit=unit, description=description, width=WIDTH, height=height,
                        font_size=FONT_SIZE)
    axis_y = TOP + max(len(rows), 1) * ROW_HEIGHT
    for tick in range(5):
        x = plot_left + plot_width * tick / 4
        parts.append(f'<line x1="{x:.1f}" y1="{TOP - 2}" x2="{x:.1f}" y2="{axis_y}" stroke="{GRID_COLOUR}" '
                     f'stroke-width="1"/>')
        parts.append(f'<text x="{x:.1f}" y="{axis_y + 15}" text-anchor="middle" fill="#5d6570" font-size="11">'
                     f'{_tick_label(maximum * tick / 4)}</text>')
    for index, (label, value) in enumerate(rows):
        y = TOP + index * ROW_HEIGHT
        bar = plot_width * value / maximum
        text_y = y + ROW_HEIGHT / 2 + FONT_SIZE * 0.35
        parts.append(f'<text x="{plot_left - 8}" y="{text_y:.1f}" text-anchor="end" fill="{INK}">'
                     f'{escape(label)}</text>')
        parts.append(f'<rect x="{plot_left}" y="{y + (ROW_HEIGHT - BAR_HEIGHT) / 2:.1f}" width="{bar:.1f}" '
                     f'height="{BAR_HEIGHT}" fill="{BAR_COLOUR}"/>')
        parts.append(f'<text x="{plot_left + bar + 5:.1f}" y="{text_y:.1f}" fill="{INK}">{value}</text>')
    if not rows:
        parts.append(f'<text x="{plot_left}" y="{TOP + 16}" fill="#5d6570">暂无数据</text>')
    parts.append(f'<line x1="{plot_left}" y1="{TOP - 2}" x2="{plot_left}" y2="{axis_y}" stroke="{INK}" '
                 f'stroke-width="1"/>')
    parts.append("</svg>")
    return Chart(title=title, unit=unit, rows=rows, svg=Markup("".join(parts)))


def _tick_label(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:.1f}"


# A column chart (a day-by-day series) is taller, with its axis labels on the left.
COLUMN_HEIGHT = 240
COLUMN_LEFT = 44
COLUMN_RIGHT = 8
COLUMN_TOP = 12
COLUMN_BOTTOM = 30
COLUMN_FONT_SIZE = 12


def column_chart(title: str, rows: Iterable[tuple[str, int]], *, unit: str = "项", description: str = "",
                 chart_id: str = "chart-columns", label_every: int = 5) -> Chart:
    """Vertical columns in the given order (a time series); every `label_every`-th column is labelled."""
    rows = tuple((str(label), int(value or 0)) for label, value in rows)
    maximum = _nice_maximum(max((value for _, value in rows), default=0))
    plot_width, plot_height = WIDTH - COLUMN_LEFT - COLUMN_RIGHT, COLUMN_HEIGHT - COLUMN_TOP - COLUMN_BOTTOM
    slot = plot_width / max(len(rows), 1)
    bar_width = max(slot * 0.7, 1)
    axis_y = COLUMN_TOP + plot_height
    parts = svg_opening(chart_id, title, rows, unit=unit, description=description, width=WIDTH, height=COLUMN_HEIGHT,
                        font_size=COLUMN_FONT_SIZE)
    for tick in range(5):
        y = axis_y - plot_height * tick / 4
        value = maximum * tick / 4
        parts.append(f'<line x1="{COLUMN_LEFT}" y1="{y:.1f}" x2="{WIDTH - COLUMN_RIGHT}" y2="{y:.1f}" '
                     f'stroke="{GRID_COLOUR}" stroke-width="1"/>')
        parts.append(f'<text x="{COLUMN_LEFT - 6}" y="{y + 4:.1f}" text-anchor="end" fill="#5d6570" font-size="11">'
                     f'{_tick_label(value)}</text>')
    for index, (label, value) in enumerate(rows):
        x = COLUMN_LEFT + index * slot + (slot - bar_width) / 2
        height = plot_height * value / maximum
        parts.append(f'<rect x="{x:.1f}" y="{axis_y - height:.1f}" width="{bar_width:.1f}" height="{height:.1f}" '
                     f'fill="{BAR_COLOUR}"><title>{escape(label)}：{value}{escape(unit)}</title></rect>')
        last = index == len(rows) - 1
        if (index % label_every == 0 and len(rows) - index > 2) or last:
            # The last label ends at its column, so it stays inside the picture.
            anchor, label_x = ("end", x + bar_width) if last else ("middle", x + bar_width / 2)
            parts.append(f'<text x="{label_x:.1f}" y="{axis_y + 16}" text-anchor="{anchor}" fill="{INK}" '
                         f'font-size="11">{escape(label)}</text>')
    if not rows:
        parts.append(f'<text x="{COLUMN_LEFT + 8}" y="{COLUMN_TOP + 16}" fill="#5d6570">暂无数据</text>')
    parts.append(f'<line x1="{COLUMN_LEFT}" y1="{axis_y}" x2="{WIDTH - COLUMN_RIGHT}" y2="{axis_y}" '
                 f'stroke="{INK}" stroke-width="1"/>')
    parts.append("</svg>")
    return Chart(title=title, unit=unit, rows=rows, svg=Markup("".join(parts)))


def activities_per_city(counts: Iterable[tuple[str, int]]) -> Chart:
    """Activities registered in each city (all of its bureaus together)."""
    return bar_chart("各市活动数量", counts, unit="项", chart_id="chart-city")


def activities_per_task(counts: Iterable[tuple[str, int]]) -> Chart:
    """Activities serving each key task (an activity may serve several)."""
    return bar_chart("各项重点任务活动数量", counts, unit="项", chart_id="chart-task")


def activities_per_kind(counts: Iterable[tuple[str, int]]) -> Chart:
    """Activities of each kind."""
    return bar_chart("各类型活动数量", counts, unit="项", chart_id="chart-kind")
