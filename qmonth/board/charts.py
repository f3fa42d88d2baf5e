"""Charts of the stats page: the shared bar charts (qmonth/charts.py, also in the PDF)
plus a column chart for a day-by-day series, drawn the same way (plain SVG, text as text)."""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from markupsafe import Markup, escape

from ..charts import (
    BAR_COLOUR, GRID_COLOUR, INK, Chart, _nice_maximum, activities_per_city, activities_per_kind,
    activities_per_task, bar_chart, svg_opening,
)
from .stats import StatRow, Stats

WIDTH = 600
HEIGHT = 240
LEFT = 44
RIGHT = 8
TOP = 12
BOTTOM = 30
FONT_SIZE = 12


def column_chart(title: str, rows: Iterable[tuple[str, int]], *, unit: str = "项", description: str = "",
                 chart_id: str = "chart-columns", label_every: int = 5) -> Chart:
    """Vertical columns in the given order (a time series); every `label_every`-th column is labelled."""
    rows = tuple((str(label), int(value or 0)) for label, value in rows)
    maximum = _nice_maximum(max((value for _, value in rows), default=0))
    plot_width, plot_height = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    slot = plot_width / max(len(rows), 1)
    bar_width = max(slot * 0.7, 1)
    axis_y = TOP + plot_height
    parts = svg_opening(chart_id, title, rows, unit=unit, description=description, width=WIDTH, height=HEIGHT,
                        font_size=FONT_SIZE)
    for tick in range(5):
        y = axis_y - plot_height * tick / 4
        value = maximum * tick / 4
        parts.append(f'<line x1="{LEFT}" y1="{y:.1f}" x2="{WIDTH - RIGHT}" y2="{y:.1f}" stroke="{GRID_COLOUR}" '
                     f'stroke-width="1"/>')
        parts.append(f'<text x="{LEFT - 6}" y="{y + 4:.1f}" text-anchor="end" fill="#5d6570" font-size="11">'
                     f'{int(value) if value.is_integer() else f"{value:.1f}"}</text>')
    for index, (label, value) in enumerate(rows):
        x = LEFT + index * slot + (slot - bar_width) / 2
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
        parts.append(f'<text x="{LEFT + 8}" y="{TOP + 16}" fill="#5d6570">暂无数据</text>')
    parts.append(f'<line x1="{LEFT}" y1="{axis_y}" x2="{WIDTH - RIGHT}" y2="{axis_y}" stroke="{INK}" '
                 f'stroke-width="1"/>')
    parts.append("</svg>")
    return Chart(title=title, unit=unit, rows=rows, svg=Markup("".join(parts)))


@dataclass
class ChartPanel:
    """A chart and the rows it was drawn from, for the table of numbers beside it."""

    chart: Chart
    rows: list[StatRow]
    with_participants: bool = True


def stats_charts(stats: Stats) -> list[ChartPanel]:
    def pairs(rows, attribute="total"):
        return [(row.label, getattr(row, attribute)) for row in rows]

    day_description = ("每日正在开展的活动数量（跨多日的活动每天各计一次）："
                       + "；".join(f"{row.label}{row.total}项" for row in stats.by_day))
    return [
        ChartPanel(activities_per_city(pairs(stats.by_city)), stats.by_city),
        ChartPanel(bar_chart("各市参与人次", pairs(stats.by_city, "participants"), unit="人次",
                             chart_id="chart-city-people"), stats.by_city),
        ChartPanel(activities_per_task(pairs(stats.by_task)), stats.by_task),
        ChartPanel(activities_per_kind(pairs(stats.by_kind)), stats.by_kind),
        # Participants are not split by day: a three-day activity's people would count three times.
        ChartPanel(column_chart(f"{stats.campaign.starts_on.month}月每日开展活动数量", pairs(stats.by_day),
                                chart_id="chart-day", description=day_description),
                   stats.by_day, with_participants=False),
    ]
