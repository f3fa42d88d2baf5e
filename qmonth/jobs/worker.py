"""The RQ side: the function RQ calls, and the worker process (`flask --app app jobs worker`)."""
from __future__ import annotations

import logging
import os
import threading

from flask import Flask

from ..extensions import db

logger = logging.getLogger(__name__)

_app: Flask | None = None
_app_pid: int | None = None


def perform(job_id: int) -> bool:
    """Run one job of the `job` table (RQ's entry point; the job row says what to do)."""
    from . import run

    global _app, _app_pid
    if _app is None:  # a plain `rq worker`: build the app from the same settings as the web
        from qmonth import create_app

        _app, _app_pid = create_app(), os.getpid()
    with _app.app_context():
        if os.getpid() != _app_pid:
            # A forked work horse: the parent's pooled connections are not ours to use.
            db.engine.dispose(close=False)
        try:
            return run(job_id)
        finally:
            db.session.remove()


def _sweeper(app: Flask, stop: threading.Event) -> None:
    """Every half lease: jobs whose worker died are put back in the queue (see qmonth/jobs)."""
    from . import setting, sweep

    with app.app_context():
        interval = max(0.5, setting("JOB_LEASE_SECONDS") / 2)
        while not stop.wait(interval):
            try:
                revived = sweep()
                if revived:
                    logger.warning("jobs: %s job(s) revived", revived)
            except Exception:  # the database may be away for a moment; try again next time
                logger.warning("jobs: sweep failed", exc_info=True)
            finally:
                db.session.remove()


def run_worker(app: Flask, *, burst: bool = False, name: str | None = None, fork: bool = False) -> None:
    """An RQ worker on the app's queue, and a thread that sweeps dead jobs.

    By default jobs run in this process (RQ's SimpleWorker): fontconfig and the CJK fonts
    are loaded once per worker, not once per PDF, which a forked work horse would redo
    for every job (seconds each). `fork` gives each job a horse of its own instead, for
    memory that must go back to the system after every job.
    """
    from rq import SimpleWorker, Worker

    from . import engine

    global _app, _app_pid
    _app, _app_pid = app, os.getpid()
    rq_engine = engine(app)
    stop = threading.Event()
    threading.Thread(target=_sweeper, args=(app, stop), name="jobs-sweeper", daemon=True).start()
    try:
        worker_class = Worker if fork else SimpleWorker
        worker = worker_class([rq_engine.queue()], connection=rq_engine.connection, name=name)
        worker.work(burst=burst, logging_level="INFO", with_scheduler=False)
    finally:
        stop.set()
