"""Operator commands for campaign files: flask --app app campaign --help."""
from __future__ import annotations

from pathlib import Path

import click
from flask.cli import AppGroup

from .loader import CampaignFileError, load_campaign_file


@click.group("campaign", cls=AppGroup, help="Load and inspect campaign files.")
def campaign_group():
    pass


@campaign_group.command("load", help="Load or update a campaign from a TOML file. All or nothing.")
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
def campaign_load(path: Path):
    try:
        result = load_campaign_file(path)
    except CampaignFileError as error:
        raise click.ClickException(f"{path}: {error}") from None
    campaign = result.campaign
    state = "created" if result.created else ("updated" if result.changed else "unchanged")
    click.echo(
        f"{campaign.slug}: {state} — {len(campaign.groups)} groups, {len(campaign.tasks)} tasks, "
        f"{len(campaign.kinds)} kinds, {len(campaign.slogans)} slogans"
        f"{', active' if campaign.is_active else ''}"
    )
    if result.units_held:
        click.echo(f"units held while another campaign is active ({len(result.units_held)} "
                   f"differences: {'; '.join(result.units_held[:5])}); they are applied when "
                   f"{campaign.slug} is made the active campaign")
