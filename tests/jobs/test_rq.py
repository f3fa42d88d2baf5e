"""Jobs on RQ with a real redis-server and real worker processes: a PDF made by a worker, a worker
killed with SIGKILL mid-render and its job finished by another with the same bytes, and the ZIP of
every unit's report made by two workers."""
from __future__ import annotations

import io
import re
import time
import zipfile

import pytest
from rq import Queue
from sqlalchemy import select

from qmonth import jobs
from qmonth.campaigns.services import active_campaign
from qmonth.extensions import db
from qmonth.jobs.models import Job, JobState
from qmonth.models import ActivityState
from qmonth.reports import printing, tasks
from qmonth.storage import pdf_cache, uploads
from qmonth.units import addressed_units

from tests.conftest import DEMO_CLOCK, app_in_context
from tests.helpers import csrf_token_from
from tests.jobs.rq_support import WorkerProcess, redis_server  # noqa: F401  (a fixture)
from tests.reports.support import add_photo, clear_unit

pytestmark = pytest.mark.xdist_group("rq")
# A killed worker's job is retried once its lease runs out: short, so that test waits little.
# Elsewhere a lease long enough that no heartbeat is missed on a loaded machine: with 3 s, a
# worker starved of CPU for 3 s while rendering (three test processes on two cores) once lost
# its lease to the other worker, which rendered the same PDF a second time.
KILLED_WORKER_LEASE_SECONDS, LEASE_SECONDS = 3, 60


@pytest.fixture
def rq_settings(request, instance_dir, database_url, redis_server) -> dict:
    short = request.node.originalname == "test_a_worker_killed_mid_render_is_replaced_and_the_job_completes_with_the_same_bytes"
    return {"INSTANCE_PATH": str(instance_dir), "SECRET_KEY": "test-secret-key", "TESTING": True,
            "SQLALCHEMY_DATABASE_URI": database_url, "UPLOAD_DIR": str(instance_dir / "uploads"),
            "DEMO_CLOCK": DEMO_CLOCK, "REDIS_URL": redis_server.url, "JOB_LEASE_SECONDS": KILLED_WORKER_LEASE_SECONDS if short else LEASE_SECONDS}


@pytest.fixture
def app(rq_settings, instance_dir):
    """The web side: the same settings as the workers, jobs enqueued on RQ."""
    yield from app_in_context(instance_dir, **{k: v for k, v in rq_settings.items() if k != "INSTANCE_PATH"})


@pytest.fixture
def workers(rq_settings, tmp_path):
    started: list[WorkerProcess] = []

    def start(name: str) -> WorkerProcess:
        worker = WorkerProcess(rq_settings, name, tmp_path / f"{name}.log").start()
        started.append(worker)
        return worker

    yield start
    for worker in started:
        worker.stop()


def job_row(key: str) -> Job:
    db.session.expire_all()
    return db.session.scalar(select(Job).where(Job.key == key))


def wait_until(check, seconds: float, what: str, logs=()):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.05)
    pytest.fail(f"{what} within {seconds} s\n" + "\n".join(path.read_text(errors="replace")[-3000:] for path in logs))


def ask_for_large_pdf(app, client, login_as, make_activity, photos: int) -> str:
    """The report of a bureau with `photos` large photos, asked for as a background job; its job key."""
    clear_unit("jinan-zj")
    activity = make_activity("jinan-zj", title="质量安全讲堂", kind="training", state=ActivityState.ACCEPTED)
    for seed in range(photos):
        add_photo(activity, seed=seed, caption=f"现场{seed + 1}", size=(1600, 1200))
    app.config["REPORT_SYNC_SECONDS"] = 0
    login_as("jinan-zj-admin")
    response = client.get("/reports/jinan-zj.pdf")
    assert response.status_code == 202
    status_url = re.search(r'data-hx-get="([^"]+)"', response.get_data(as_text=True)).group(1)
    return tasks.pdf_job_key(status_url.rsplit("fp=", 1)[1])



def test_healthz_reports_the_broker(app, client, redis_server):
    assert client.get("/healthz").get_json()["broker"] == "ok"
    redis_server.stop()
    answer = client.get("/healthz")
    assert answer.status_code == 503 and answer.get_json()["broker"] == "down"


def test_a_pdf_job_runs_on_a_worker_process(app, client, login_as, make_activity, workers, tmp_path):
    assert jobs.engine().name == "rq"
    key = ask_for_large_pdf(app, client, login_as, make_activity, photos=2)
    assert job_row(key).state is JobState.QUEUED  # nothing runs it in the web process
    assert len(Queue("qmonth", connection=jobs.engine().connection)) == 1
    workers("worker-a")
    job = wait_until(lambda: (row := job_row(key)).state is JobState.DONE and row, 120, "the worker made the PDF",
                     [tmp_path / "worker-a.log"])
    assert job.attempts == 1
    made = pdf_cache().read_bytes(job.result_key)
    document = printing.document_from_payload(job.payload, app.static_folder, uploads())
    assert made == printing.render_pdf(document)


def test_a_worker_killed_mid_render_is_replaced_and_the_job_completes_with_the_same_bytes(
        app, client, login_as, make_activity, workers, tmp_path):
    key = ask_for_large_pdf(app, client, login_as, make_activity, photos=40)
    first = workers("worker-a")
    wait_until(lambda: job_row(key).state is JobState.RUNNING, 120, "the first worker took the job",
               [tmp_path / "worker-a.log"])
    first.kill()
    killed = job_row(key)
    assert killed.state is JobState.RUNNING and killed.attempts == 1, "the render ended before the kill"
    assert not pdf_cache().exists(killed.result_key or printing.cache_key(killed.payload["fingerprint"]))
    # The lease runs out; the new worker's sweeper puts the job back on the queue and runs it.
    workers("worker-b")
    job = wait_until(lambda: (row := job_row(key)).state is JobState.DONE and row, 180,
                     "the second worker finished the job", [tmp_path / "worker-b.log"])
    assert job.attempts == 2 and job.error == ""
    made = pdf_cache().read_bytes(job.result_key)
    document = printing.document_from_payload(job.payload, app.static_folder, uploads())
    assert made == printing.render_pdf(document)


@pytest.mark.postgresql_only("several machines; SQLite makes the ZIP with embedded jobs in tests/reports")
def test_two_workers_make_the_zip_of_every_units_report(app, client, login_as, workers, tmp_path):
    workers("worker-a")
    workers("worker-b")
    login_as("province")
    page = client.get("/reports/").get_data(as_text=True)
    response = client.post("/reports/zip", data={"csrf_token": csrf_token_from(page)})
    assert response.status_code == 303
    url = response.headers["Location"]

    def finished():
        fragment = client.get(url, headers={"HX-Request": "true"}).get_data(as_text=True)
        return ("下载ZIP" in fragment or "重新打包" in fragment) and fragment

    fragment = wait_until(finished, 400, "the ZIP was made", [tmp_path / "worker-a.log", tmp_path / "worker-b.log"])
    download = re.search(r'href="([^"]+)" id="zip-download"', fragment).group(1)
    archive = zipfile.ZipFile(io.BytesIO(client.get(download).get_data()))
    units = list(db.session.scalars(addressed_units(active_campaign())))  # the root's 44 children
    names = [entry.filename for entry in archive.infolist()]
    assert len(names) == len(units) == 44
    assert [name.split("-")[1] for name in names] == [unit.name for unit in units]
    assert all(archive.read(name).startswith(b"%PDF") for name in names)
    pdf_jobs = list(db.session.scalars(select(Job).where(Job.kind == "pdf")))
    assert len(pdf_jobs) == 44 and all(job.state is JobState.DONE and job.attempts == 1 for job in pdf_jobs)
