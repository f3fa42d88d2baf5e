"""flask --app app photos ...: upload folder maintenance."""
import click
from flask.cli import AppGroup

photos_group = AppGroup("photos", help="Maintain the upload folder.")


@photos_group.command("sweep", help="Remove staged uploads older than two days, photos sent in pieces and "
                        "not finished within 24 hours, and files no row points to and temporary files "
                        "once they are ten minutes old (younger ones may belong to an upload in progress).")
def sweep_command():
    from .services import sweep

    removed = sweep()
    click.echo(f"removed {removed['orphans']} orphan files, {removed['temporary']} temporary files, "
               f"{removed['staged']} stale staged uploads, {removed['resumable']} expired partial uploads")
