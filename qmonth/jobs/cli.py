"""Operator commands for background jobs: `flask --app app jobs worker|sweep|list`."""
from __future__ import annotations

import click
from flask import current_app
from flask.cli import with_appcontext


@click.group("jobs", help="Background jobs (PDFs, the all-reports ZIP): run a worker, inspect the queue.")
def jobs_group():
    pass


@jobs_group.command("worker", help="Run an RQ worker for the job queue (needs QMONTH_REDIS_URL). "
                                   "Start as many as you like, on any machine that reaches the database, "
                                   "Redis and the file store.")
@click.option("--burst", is_flag=True, help="Stop when the queue is empty.")
@click.option("--name", default=None, help="Worker name (unique per Redis).")
@click.option("--fork", is_flag=True, help="Run each job in a forked work horse (memory freed after every job; "
                                           "fonts loaded again for each PDF).")
@with_appcontext
def worker_command(burst, name, fork):
    from . import engine
    from .worker import run_worker

    if engine().name != "rq":
        raise click.ClickException("QMONTH_REDIS_URL is not set: jobs run inside the web process, "
                                   "no worker is needed.")
    run_worker(current_app._get_current_object(), burst=burst, name=name, fork=fork)


@jobs_group.command("sweep", help="Put back in the queue the jobs whose worker died (workers do this by themselves).")
@with_appcontext
def sweep_command():
    from . import sweep

    click.echo(f"{sweep()} job(s) revived")


@jobs_group.command("list", help="The most recent jobs and their state.")
@click.option("--limit", default=20, show_default=True)
@with_appcontext
def list_command(limit):
    from sqlalchemy import select

    from ..extensions import db
    from .models import Job

    for job in db.session.scalars(select(Job).order_by(Job.id.desc()).limit(limit)):
        click.echo(f"{job.id}\t{job.kind}\t{job.state.value}\t{job.done}/{job.total}\tattempts={job.attempts}\t"
                   f"{job.key[:40]}\t{job.error}")
