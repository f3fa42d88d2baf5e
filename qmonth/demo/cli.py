"""`flask --app app seed-demo`: demo accounts, activities and reports, as they stand at the app's clock."""
from __future__ import annotations

from datetime import datetime
from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext
from sqlalchemy import select

from ..campaigns.services import active_campaign
from ..extensions import db
from ..models import Unit
from ..timeutil import LOCAL_TZ, utcnow
from .content import DEFAULT_CONTENT_FILE, DemoDataError, load_content


def demo_now() -> datetime:
    """The moment the demo stands at: the demo clock as set (so the same clock gives the same
    data, however long ago the app started), else the real now."""
    clock = current_app.config.get("DEMO_CLOCK")
    if not clock:
        return utcnow().replace(microsecond=0)
    moment = datetime.fromisoformat(clock)
    return moment if moment.tzinfo else moment.replace(tzinfo=LOCAL_TZ)


def _before_the_campaign() -> datetime | None:
    """When the demo's county bureaus were set up: before the campaign (the demo dates nothing after its clock)."""
    campaign = active_campaign()
    if campaign is None:
        return None
    return min(datetime.combine(campaign.issued_on, datetime.min.time(), LOCAL_TZ), demo_now())


@click.command("seed-demo", help="Create demo accounts for all units (password qmonth-demo), demo activities "
                                  "and summary reports, dated up to the app's clock (QMONTH_DEMO_CLOCK). "
                                  "Demo only.")
@click.option("--campaign-file", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Campaign to load first if none is loaded (default: the bundled 2024 file).")
@click.option("--data-file", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              default=DEFAULT_CONTENT_FILE, show_default=True,
              help="The demo's content: titles, sentences, places and figure ranges (TOML).")
@click.option("--activities", "activity_count", type=click.IntRange(min=0), default=200, show_default=True,
              help="Demo activities demo-1 … demo-N across the units; those already there are kept, "
                   "so running again adds none. 0 creates none (and no reports).")
@with_appcontext
def seed_demo_command(campaign_file, data_file, activity_count):
    from ..auth.services import hash_password
    from ..campaigns.loader import load_campaign_file
    from .counties import (
        read_counties, seed_county_activities, seed_county_due_date, seed_county_reports, seed_county_units,
    )
    from .seed import seed_demo_accounts, seed_demo_activities, seed_demo_reports

    try:
        content = load_content(data_file)
        counties = read_counties()
    except DemoDataError as error:
        raise click.ClickException(str(error)) from None
    if db.session.scalar(select(Unit.id).limit(1)) is None:
        path = campaign_file or Path(current_app.config["CAMPAIGN_DIR"]) / "2024-shandong.toml"
        load_campaign_file(path)
    try:
        county_units = seed_county_units(counties, at=_before_the_campaign())
    except DemoDataError as error:
        db.session.rollback()
        raise click.ClickException(str(error)) from None
    accounts = seed_demo_accounts(content, hash_password(content.password))
    db.session.commit()
    click.echo(f"demo county bureaus under {counties['parent']}: {county_units} created")
    click.echo(f"demo accounts: {accounts.created} created, {accounts.existing} already there")
    now = demo_now()
    try:
        county_due = seed_county_due_date(counties, active_campaign(), now=now)
    except DemoDataError as error:
        db.session.rollback()
        raise click.ClickException(str(error)) from None
    db.session.commit()
    click.echo(f"demo county due dates set by {counties['parent']}: {county_due} created")
    if activity_count:
        try:
            activities = seed_demo_activities(content, activity_count, now=now)
            reports = seed_demo_reports(content, now=now)
            county_activities = seed_county_activities(counties, active_campaign(), now=now)
            county_reports = seed_county_reports(counties, active_campaign(), now=now)
        except DemoDataError as error:
            db.session.rollback()
            raise click.ClickException(str(error)) from None
        db.session.commit()
        click.echo(f"demo activities: {activities.created} created, {activities.existing} already there")
        click.echo(f"demo reports: {reports.created} created, {reports.existing} already there")
        click.echo(f"demo county activities: {county_activities} created, county reports: {county_reports} created")
    else:
        click.echo("demo activities: none requested")
    click.echo(f"demo as of {now.astimezone(LOCAL_TZ):%Y-%m-%d %H:%M} (Asia/Shanghai)")
    click.echo(f"log in as '{content.province_username}', 'jinan-zj' or 'jinan-zj-admin' (any unit code, "
               f"the county bureaus' too, such as 'jinan-lixia-zj'); "
               f"password for all: {content.password}  (demo only)")
