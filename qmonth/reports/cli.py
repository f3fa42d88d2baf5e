"""flask --app app report ...: print reports from the command line."""
from __future__ import annotations

from pathlib import Path

import click
from flask.cli import AppGroup
from sqlalchemy import select

from ..extensions import db
from ..campaigns.services import active_campaign
from ..models import Campaign, Unit

report_group = AppGroup("report", help="Print reports to files (PDF, DOCX).")

OUTPUT = click.option("-o", "--output", "output", required=True, type=click.Path(dir_okay=False, path_type=Path),
                      help="File to write (.pdf; for `unit`, a name ending in .docx writes the Word version).")


YEAR = click.option("--year", type=int, default=None,
                    help="The campaign of that year (default: the active one); a past campaign's report "
                         "names and groups its units as that campaign's tree had them.")


def _campaign(year: int | None = None):
    if year is not None:
        campaign = db.session.scalar(select(Campaign).where(Campaign.year == year))
        if campaign is None:
            raise click.ClickException(f"no campaign of {year}")
        return campaign
    campaign = active_campaign()
    if campaign is None:
        raise click.ClickException("no campaign loaded: run `flask --app app campaign load FILE` first")
    return campaign


def _write_pdf(document, output: Path) -> None:
    from .printing import render_pdf

    output.parent.mkdir(parents=True, exist_ok=True)
    render_pdf(document, str(output))
    click.echo(f"wrote {output} ({output.stat().st_size} bytes)")


@report_group.command("unit", help="Print a bureau's summary report (总结报告), e.g. `report unit jinan-zj -o r.pdf`. "
                                   "Counts submitted and accepted entries; uses the narrative saved in qmonth.")
@click.argument("code")
@OUTPUT
@YEAR
def unit_command(code: str, output: Path, year: int | None):
    from .data import build_unit_report
    from .documents import unit_document
    from .services import find_report, new_report
    from .word import unit_docx

    campaign = _campaign(year)
    unit = db.session.scalar(select(Unit).where(Unit.code == code))
    if unit is None:
        raise click.ClickException(f"unknown unit code: {code}")
    report = find_report(campaign, unit) or new_report(campaign, unit)
    data = build_unit_report(campaign, unit, report)
    if output.suffix.lower() == ".docx":
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_bytes(unit_docx(data).getvalue())
        click.echo(f"wrote {output} ({output.stat().st_size} bytes)")
        return
    _write_pdf(unit_document(data), output)


@report_group.command("province", help="Print the province roll-up (全省汇总): submission status of every unit, "
                                       "figures, charts and highlights.")
@OUTPUT
@YEAR
def province_command(output: Path, year: int | None):
    from .data import build_province
    from .documents import province_document

    _write_pdf(province_document(build_province(_campaign(year))), output)


@report_group.command("bulletin", help="Print bulletin issue N (活动简报 第N期) of the active campaign.")
@click.argument("number", type=click.IntRange(min=1))
@OUTPUT
def bulletin_command(number: int, output: Path):
    from ..models import Bulletin
    from .data import build_bulletin
    from .documents import bulletin_document

    campaign = _campaign()
    bulletin = db.session.scalar(select(Bulletin).where(Bulletin.campaign_id == campaign.id,
                                                        Bulletin.number == number))
    if bulletin is None:
        raise click.ClickException(f"no bulletin number {number} in {campaign.slug}")
    _write_pdf(bulletin_document(build_bulletin(bulletin)), output)
