"""Commands for operators: flask --app app <command> --help."""
from __future__ import annotations

from pathlib import Path

import click
from flask import Flask
from flask.cli import with_appcontext
from sqlalchemy import select

from .campaigns.cli import campaign_group
from .extensions import db
from .models import Role, Unit


def register_commands(app: Flask) -> None:
    app.cli.add_command(campaign_group)
    app.cli.add_command(create_user_command)
    from .demo.cli import seed_demo_command

    app.cli.add_command(seed_demo_command)
    app.cli.add_command(backup_command)
    app.cli.add_command(restore_command)
    from .reports.cli import report_group

    app.cli.add_command(report_group)
    from .photos.cli import photos_group

    app.cli.add_command(photos_group)
    from .jobs.cli import jobs_group

    app.cli.add_command(jobs_group)


@click.command("create-user", help="Create an account (operators). Prompts for the password.")
@click.argument("username")
@click.option("--name", "display_name", default="", help="Display name (defaults to the username).")
@click.option("--role", type=click.Choice([r.value for r in Role]), default=Role.REPORTER.value, show_default=True)
@click.option("--unit", "unit_code", default=None, help="Unit code, e.g. jinan-zj (not for province admins).")
@click.password_option(help="Password (at least 10 characters); prompted for when omitted.")
@with_appcontext
def create_user_command(username, display_name, role, unit_code, password):
    from .admin.services import AccountError, create_user
    from .auth.services import password_problem

    problem = password_problem(password)
    if problem:
        raise click.ClickException(problem)
    unit = None
    if unit_code:
        unit = db.session.scalar(select(Unit).where(Unit.code == unit_code))
        if unit is None:
            raise click.ClickException(f"unknown unit code: {unit_code}")
    try:
        user = create_user(actor=None, username=username, display_name=display_name,
                           role=Role(role), unit=unit, password=password)
        db.session.commit()
    except AccountError as error:
        db.session.rollback()
        raise click.ClickException(str(error)) from None
    click.echo(f"created {user.username} ({user.role.value}{', ' + unit.code if unit else ''})")


@click.command("backup", help="Back up the database (a consistent copy, taken while the app runs) and the "
                              "uploads into a new folder DIR/qmonth-<UTC time>, with a manifest of row "
                              "counts and file checksums. PostgreSQL: uses pg_dump.")
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path))
@click.option("--keep", type=click.IntRange(min=0), default=0, show_default=True,
              help="Afterwards delete all but the newest N backups in DIR (0 keeps every one).")
@with_appcontext
def backup_command(directory: Path, keep: int):
    from .backup import BackupError, make_backup, prune_backups

    try:
        folder, manifest = make_backup(directory)
    except BackupError as error:
        raise click.ClickException(str(error)) from None
    counts = manifest["counts"]
    click.echo(f"backup written to {folder}: {counts.get('activity', 0)} activities, "
               f"{counts.get('photo', 0)} photos, {len(manifest['files'])} files "
               f"({sum(f['bytes'] for f in manifest['files']) / 1e6:.1f} MB)")
    if manifest["missing_files"]:
        click.echo(f"warning: {len(manifest['missing_files'])} files named by the database were not found "
                   f"(deleted during the backup, or lost): see missing_files in {folder / 'manifest.json'}",
                   err=True)
    for gone in prune_backups(directory, keep):
        click.echo(f"deleted old backup {gone}")


@click.command("restore", help="Restore a backup folder made by `backup` (DIR/qmonth-<UTC time>) into the "
                               "configured database and upload folder. Stop the app first. Refuses to "
                               "replace a database that holds data unless --force is given.")
@click.argument("backup_folder", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--force", is_flag=True, help="Replace the data of a database that is not empty.")
@with_appcontext
def restore_command(backup_folder: Path, force: bool):
    from .backup import BackupError, restore_backup

    click.echo("Stop the app (every gunicorn worker) before restoring: a running worker would go on "
               "serving and writing the old data.")
    try:
        counts = restore_backup(backup_folder, force=force)
    except BackupError as error:
        raise click.ClickException(str(error)) from None
    click.echo(f"restored {backup_folder}: {counts.get('activity', 0)} activities, "
               f"{counts.get('photo', 0)} photos, {counts.get('user', 0)} accounts")
    click.echo("Next: flask --app app db upgrade (if this code is newer than the backup), then start the app.")
