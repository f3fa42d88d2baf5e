"""flask --app app photos ...: upload folder maintenance."""
import click
from flask.cli import AppGroup

photos_group = AppGroup("photos", help="Maintain the upload folder.")


@photos_group.command("sweep", help="Remove files no row points to, stale temporary files and staged uploads older than two days.")
def sweep_command():
    from .services import sweep

    removed = sweep()
    click.echo(f"removed {removed['orphans']} orphan files, {removed['temporary']} temporary files, "
               f"{removed['staged']} stale staged uploads")
