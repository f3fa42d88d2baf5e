"""Background jobs: their state in the database, run by a thread of the web process or by RQ workers.

One engine per app, chosen once in create_app (`init_app`):

* embedded (the default, no extra service): a thread of the web process runs the job;
* rq: with REDIS_URL (QMONTH_REDIS_URL=redis://host:6379/0) set, jobs are enqueued on
  RQ and run by `flask --app app jobs worker` on any machine that reaches the database,
  Redis and the file store.

Whatever the engine, the `job` table is the truth, so any web node shows a job's progress:

* Idempotent: a job is found by its key (a PDF's is its fingerprint). Asking again for the
  same key joins the queued or running job, or reuses a done job's result.
* Never twice at once: a worker runs a job only after claiming it with one conditional
  UPDATE (state queued, or running with an expired lease), which only one can win.
* Survives a killed worker: a running job holds a lease (JOB_LEASE_SECONDS) that a thread
  of its worker keeps extending. When the worker dies (SIGKILL, a lost machine, RQ's own
  job timeout killing the work horse), the lease runs out; `revive` — run by every RQ
  worker's sweeper and by the status poll of any web node — puts the job back in the
  queue and dispatches it again. Each claim counts an attempt; after JOB_MAX_ATTEMPTS (3)
  claims that never finished, the job fails with a message and is not retried.

How this sits with RQ's own handling: RQ keeps a dead worker's job in its
StartedJobRegistry until that worker's heartbeat key expires, then a later worker's
maintenance moves it to the FailedJobRegistry as "abandoned"; jobs are enqueued without an
RQ Retry, so RQ never re-runs one by itself and cannot race the lease. RQ's job_timeout
(JOB_TIMEOUT_SECONDS) only bounds a single attempt: the horse is killed, its heartbeats
stop, and the lease path above decides about a retry. Redis' role is delivery only:
losing its data (a restart without persistence) loses nothing, as a queued job nobody
claimed within JOB_TIMEOUT_SECONDS is dispatched again.

A task that raises fails at once (a render that broke will break again): JobError carries a
message for the user; anything else is logged and the user reads a generic one. Asking for
the same key again after a failure starts afresh.
"""
from __future__ import annotations

import logging
import secrets
import threading
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from typing import Callable

from flask import Flask, current_app
from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError

from ..extensions import db
from .models import Job, JobState, machine_now

logger = logging.getLogger(__name__)

_EXTENSION = "qmonth.jobs"
GENERIC_ERROR = "生成失败，请稍后重试。如问题持续，请联系省厅管理员。"
GAVE_UP = "生成多次中断，已停止重试，请点击重新生成。如问题持续，请联系省厅管理员。"
BROKER_DOWN = "后台任务服务暂时无法连接，请稍后重试。"

DEFAULTS = {
    "REDIS_URL": "",
    "JOB_QUEUE": "qmonth",
    "JOB_LEASE_SECONDS": 60,
    "JOB_MAX_ATTEMPTS": 3,
    "JOB_TIMEOUT_SECONDS": 30 * 60,
    "JOB_THREADS": 2,
    "JOB_KEEP_DAYS": 7,
}

_TASKS: dict[str, Callable] = {}


class JobError(Exception):
    """A failure whose message (Chinese) the user reads."""


def task(kind: str):
    """Register the function that runs jobs of this kind: f(RunningJob) -> result key or None."""
    def register(function):
        _TASKS[kind] = function
        return function
    return register


def setting(name: str, app: Flask | None = None):
    app = app or current_app
    value = app.config.get(name, DEFAULTS[name])
    return type(DEFAULTS[name])(value) if value not in (None, "") else DEFAULTS[name]


# The engines ---------------------------------------------------------------------------

class EmbeddedEngine:
    """A thread of this process per job; at most JOB_THREADS run at once."""

    name = "embedded"
    parallel = False  # one process renders one PDF at a time (printing._render_lock)

    def __init__(self, app: Flask):
        self.app = app
        self.slots = threading.BoundedSemaphore(max(1, setting("JOB_THREADS", app)))

    def dispatch(self, job_id: int) -> None:
        threading.Thread(target=self._work, args=(job_id,), name=f"job-{job_id}", daemon=True).start()

    def _work(self, job_id: int) -> None:
        with self.slots, self.app.app_context():
            try:
                run(job_id)
            except Exception:  # a thread must report, never die silently
                logger.exception("jobs: job %s crashed", job_id)
            finally:
                db.session.remove()

    def health(self) -> str:
        return "not configured"


class RQEngine:
    """RQ on Redis: enqueue here, `flask --app app jobs worker` runs the jobs."""

    name = "rq"
    parallel = True

    def __init__(self, app: Flask, url: str):
        self.app = app
        self.url = url
        self.queue_name = setting("JOB_QUEUE", app)
        self._connection = None
        self._lock = threading.Lock()

    @property
    def connection(self):
        # Made on first use: gunicorn --preload forks after create_app (redis-py also
        # re-creates its pool in a child process).
        if self._connection is None:
            with self._lock:
                if self._connection is None:
                    from redis import Redis

                    self._connection = Redis.from_url(self.url, socket_connect_timeout=3, socket_timeout=10)
        return self._connection

    def queue(self):
        from rq import Queue

        return Queue(self.queue_name, connection=self.connection)

    def dispatch(self, job_id: int) -> None:
        self.queue().enqueue("qmonth.jobs.worker.perform", job_id,
                             job_timeout=setting("JOB_TIMEOUT_SECONDS", self.app),
                             result_ttl=600, failure_ttl=7 * 86400, description=f"qmonth job {job_id}")

    def health(self) -> str:
        try:
            self.connection.ping()
        except Exception:  # any failure means "down"
            return "down"
        return "ok"


def init_app(app: Flask) -> None:
    """Pick the engine: RQ when REDIS_URL is set, else threads of this process."""
    from . import models  # noqa: F401 (the table)

    url = str(app.config.get("REDIS_URL") or "").strip()
    if url and not url.startswith(("redis://", "rediss://", "unix://")):
        raise ValueError(f"QMONTH_REDIS_URL must be a redis://, rediss:// or unix:// URL, not {url!r}")
    app.extensions[_EXTENSION] = RQEngine(app, url) if url else EmbeddedEngine(app)


def engine(app: Flask | None = None):
    return (app or current_app).extensions[_EXTENSION]


def broker_health(app: Flask | None = None) -> str:
    """"ok", "down" (Redis does not answer) or "not configured" (embedded engine)."""
    return engine(app).health()


# Reading and asking ----------------------------------------------------------------------

@contextmanager
def _transaction():
    """A short transaction of the current session, committed at once.

    Committed at once because every node must see a job the moment it exists. The current
    session, not a second connection, because on SQLite a POST request holds the write lock
    for its whole length (BEGIN IMMEDIATE): another connection of the same request could
    never write. Whatever the caller read before is committed first, so a write here never
    upgrades an old read snapshot (which SQLite refuses instead of waiting).
    """
    session = db.session
    session.commit()
    try:
        yield session
        session.commit()
    except Exception:
        session.rollback()
        raise


def get(job_id: int) -> Job | None:
    with _transaction() as session:
        return session.get(Job, job_id)


def find(key: str) -> Job | None:
    with _transaction() as session:
        return session.scalar(select(Job).where(Job.key == key))


def submit(kind: str, key: str, payload: dict, *, requested_by_id: int | None = None, total: int = 1,
           result_exists: Callable[[Job], bool] | None = None, dispatch: bool = True) -> Job:
    """The job for `key`: the one queued or running, a done one whose result still exists,
    or a new (or restarted) one that is dispatched now."""
    job = find(key)
    if job is None:
        try:
            with _transaction() as session:
                job = Job(kind=kind, key=key, state=JobState.QUEUED, payload=payload, total=total,
                          requested_by_id=requested_by_id, lease_until=_dispatch_deadline())
                session.add(job)
        except IntegrityError:
            return submit(kind, key, payload, requested_by_id=requested_by_id, total=total,
                          result_exists=result_exists, dispatch=dispatch)  # another request made it first
        return _dispatch(job) if dispatch else job
    if job.state is JobState.DONE and (result_exists is None or result_exists(job)):
        return job
    if job.is_finished:
        # Failed, or done with its result gone (pruned): the same key starts afresh.
        with _transaction() as session:
            restarted = session.execute(
                update(Job).where(Job.id == job.id, Job.state == job.state).values(
                    state=JobState.QUEUED, payload=payload, total=total, done=0, error="", attempts=0,
                    claimed_by=None, result_key=None, started_at=None, finished_at=None,
                    created_at=machine_now(), requested_by_id=requested_by_id, lease_until=_dispatch_deadline(),
                )).rowcount
        job = get(job.id)
        return _dispatch(job) if restarted and dispatch else job
    return revive(job) if dispatch else job


def _dispatch_deadline():
    """A queued job nobody claimed by then is dispatched again (the message may be lost)."""
    return machine_now() + timedelta(seconds=setting("JOB_TIMEOUT_SECONDS"))


def _dispatch(job: Job) -> Job:
    try:
        engine().dispatch(job.id)
    except Exception:
        logger.exception("jobs: could not dispatch job %s", job.id)
        _set_failed(job.id, BROKER_DOWN, only_state=JobState.QUEUED)
        return get(job.id)
    return job


def revive(job: Job) -> Job:
    """A job whose worker is gone (its lease ran out): back in the queue and dispatched again,
    or failed after JOB_MAX_ATTEMPTS claims. Anything else is returned as it is."""
    now = machine_now()
    if job.is_finished or job.lease_until is None or job.lease_until > now:
        return job
    if job.state is JobState.RUNNING and job.attempts >= setting("JOB_MAX_ATTEMPTS"):
        _set_failed(job.id, GAVE_UP, only_state=JobState.RUNNING, expired_before=now)
        logger.warning("jobs: job %s gave up after %s attempts", job.id, job.attempts)
        return get(job.id)
    with _transaction() as session:
        won = session.execute(
            update(Job).where(Job.id == job.id, Job.state == job.state, Job.lease_until < now).values(
                state=JobState.QUEUED, claimed_by=None, lease_until=_dispatch_deadline())).rowcount
    if won:  # only one reviver dispatches it
        logger.warning("jobs: job %s (%s) lost its worker; dispatched again", job.id, job.kind)
        return _dispatch(get(job.id))
    return get(job.id)


def sweep() -> int:
    """Revive every job whose lease ran out; forget jobs finished long ago. Returns how many revived."""
    now = machine_now()
    with _transaction() as session:
        stale = list(session.scalars(select(Job).where(Job.state.in_((JobState.QUEUED, JobState.RUNNING)),
                                                       Job.lease_until < now)))
        session.execute(delete(Job).where(Job.state.in_((JobState.DONE, JobState.FAILED)),
                                          Job.finished_at < now - timedelta(days=setting("JOB_KEEP_DAYS"))))
    for job in stale:
        revive(job)
    return len(stale)


# Running -------------------------------------------------------------------------------

@dataclass
class RunningJob:
    """What a task is given: its job's payload, and a way to report progress."""

    id: int
    token: str
    payload: dict
    attempts: int

    def progress(self, done: int, total: int | None = None) -> None:
        values = {"done": done, "lease_until": _lease_end()}
        if total is not None:
            values["total"] = total
        with _transaction() as session:
            session.execute(update(Job).where(Job.id == self.id, Job.claimed_by == self.token).values(**values))


def _lease_end():
    return machine_now() + timedelta(seconds=setting("JOB_LEASE_SECONDS"))


def claim(job_id: int) -> str | None:
    """Take the job for this process if it is queued, or running under an expired lease,
    and attempts remain. One UPDATE: of two workers only one can win it."""
    token = secrets.token_hex(16)
    now = machine_now()
    with _transaction() as session:
        won = session.execute(
            update(Job).where(
                Job.id == job_id, Job.attempts < setting("JOB_MAX_ATTEMPTS"),
                (Job.state == JobState.QUEUED) | ((Job.state == JobState.RUNNING) & (Job.lease_until < now)),
            ).values(state=JobState.RUNNING, claimed_by=token, attempts=Job.attempts + 1, started_at=now,
                     lease_until=_lease_end(), error="")).rowcount
    return token if won else None


def run(job_id: int) -> bool:
    """Claim and run one job here; False when it was not ours to run (done, or someone has it)."""
    token = claim(job_id)
    if token is None:
        return False
    job = get(job_id)
    running = RunningJob(job.id, token, dict(job.payload or {}), job.attempts)
    heartbeat = _Heartbeat(current_app._get_current_object(), job.id, token)
    heartbeat.start()
    try:
        function = _TASKS.get(job.kind)
        if function is None:
            raise LookupError(f"no task registered for jobs of kind {job.kind!r}")
        result_key = function(running)
    except JobError as error:
        heartbeat.stop()
        _set_failed(job.id, str(error), token=token)
    except Exception:
        heartbeat.stop()
        logger.exception("jobs: job %s (%s) failed", job.id, job.kind)
        _set_failed(job.id, GENERIC_ERROR, token=token)
    else:
        heartbeat.stop()
        with _transaction() as session:
            session.execute(update(Job).where(Job.id == job.id, Job.claimed_by == token,
                                              Job.state == JobState.RUNNING).values(
                state=JobState.DONE, result_key=result_key, done=Job.total, finished_at=machine_now(),
                lease_until=None))
    return True


def _set_failed(job_id: int, message: str, *, token: str | None = None, only_state: JobState | None = None,
                expired_before=None) -> None:
    conditions = [Job.id == job_id]
    if token is not None:
        conditions.append(Job.claimed_by == token)
    if only_state is not None:
        conditions.append(Job.state == only_state)
    if expired_before is not None:
        conditions.append(Job.lease_until < expired_before)
    with _transaction() as session:
        session.execute(update(Job).where(*conditions).values(
            state=JobState.FAILED, error=message, finished_at=machine_now(), lease_until=None))


class _Heartbeat(threading.Thread):
    """Extends the lease of a running job every third of JOB_LEASE_SECONDS until stopped."""

    def __init__(self, app: Flask, job_id: int, token: str):
        super().__init__(name=f"job-{job_id}-lease", daemon=True)
        self.app, self.job_id, self.token = app, job_id, token
        self.stopped = threading.Event()

    def run(self) -> None:
        with self.app.app_context():
            interval = max(0.2, setting("JOB_LEASE_SECONDS") / 3)
            while not self.stopped.wait(interval):
                try:
                    with _transaction() as session:
                        session.execute(update(Job).where(Job.id == self.job_id, Job.claimed_by == self.token,
                                                          Job.state == JobState.RUNNING)
                                        .values(lease_until=_lease_end()))
                except Exception:  # a missed beat is retried; the lease has slack for two
                    logger.warning("jobs: lease of job %s not extended", self.job_id, exc_info=True)
            db.session.remove()

    def stop(self) -> None:
        self.stopped.set()
        self.join(timeout=10)
