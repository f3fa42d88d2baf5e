"""Two web machines with no shared disk: two gunicorn instances, each with its own instance folder,
one RQ worker process (a third folder), PostgreSQL, redis-server and a real S3 server (SeaweedFS).
What one node receives the other serves; a photo sent in pieces may hit both; a PDF asked for on
one is downloaded from the other, even after its worker was killed mid-render."""
from __future__ import annotations

import hashlib
import re
import time
from pathlib import Path

import pytest
from sqlalchemy import func, select

from qmonth.extensions import db
from qmonth.jobs.models import Job, JobState
from qmonth.models import ActivityState, Photo
from qmonth.photos.storage import new_storage_key, photo_key
from qmonth.reports import printing, tasks
from qmonth.storage import pdf_cache, uploads

from tests import photo_samples as samples
from tests.conftest import DEMO_CLOCK, app_in_context
from tests.jobs.rq_support import WorkerProcess, redis_server  # noqa: F401  (a fixture)
from tests.load_support import SECRET_KEY, BureauUser, csrf_token_in, start_nodes, worker_settings
from tests.reports.support import clear_unit, jpeg_bytes
from tests.storage.conftest import s3_server  # noqa: F401  (the session's SeaweedFS)

pytestmark = [pytest.mark.postgresql_only("several machines share one database server"),
              pytest.mark.xdist_group("object-store")]

LEASE_SECONDS = 2
CHUNK = "application/offset+octet-stream"


@pytest.fixture
def shared_settings(database_url, redis_server, s3_server, tmp_path) -> dict:  # noqa: F811
    """What every node is told: the database, the broker and the store; never a folder."""
    return {"SQLALCHEMY_DATABASE_URI": database_url, "REDIS_URL": redis_server.url,
            "JOB_LEASE_SECONDS": LEASE_SECONDS, "REPORT_SYNC_SECONDS": 0, "DEMO_CLOCK": DEMO_CLOCK,
            **s3_server.settings(f"nodes-{tmp_path.name[-12:]}")}


@pytest.fixture
def app(instance_dir, shared_settings):
    """The test's own view of the cluster (database and store), for setting up and checking."""
    yield from app_in_context(instance_dir, **shared_settings, SECRET_KEY=SECRET_KEY)


@pytest.fixture
def nodes(app, shared_settings, tmp_path):
    settings = dict(shared_settings)
    started = start_nodes(tmp_path, settings.pop("SQLALCHEMY_DATABASE_URI"), settings)
    try:
        yield started
    finally:
        for node in started:
            node.stop()


@pytest.fixture
def worker(shared_settings, tmp_path):
    """`flask jobs worker` on a machine of its own (its own instance folder)."""
    folder = tmp_path / "worker"
    folder.mkdir()
    settings = worker_settings(folder, shared_settings["SQLALCHEMY_DATABASE_URI"], shared_settings)
    started: list[WorkerProcess] = []

    def start(name: str) -> WorkerProcess:
        process = WorkerProcess(settings, name, tmp_path / f"{name}.log").start()
        started.append(process)
        return process

    yield start
    for process in started:
        process.stop()


class Person:
    """One bureau user with one browser session, whose requests go to whichever node is named."""

    def __init__(self, nodes, username: str):
        self.user = BureauUser(nodes[0].url, username)
        self.user.log_in()

    def on(self, node) -> BureauUser:
        self.user.base_url = node.url
        return self.user


def files_under(folder: Path) -> list[str]:
    return sorted(path.name for path in folder.rglob("*") if path.is_file())


def put_print_photo(activity, *, seed: int) -> Photo:
    """A large photo in the object store, for a PDF that takes a while to render."""
    data = jpeg_bytes(seed, (1600, 1200))
    key = new_storage_key()
    uploads().put_bytes(photo_key(key, "print"), data)
    photo = Photo(activity=activity, unit_id=activity.unit_id, uploaded_by_id=activity.author_id,
                  position=len(activity.photos), caption=f"现场{seed + 1}", storage_key=key, width=1600,
                  height=1200, sha256=hashlib.sha256(data).hexdigest(), bytes_print=len(data))
    db.session.add(photo)
    db.session.commit()
    return photo


def wait_until(check, seconds: float, what: str, logs=()):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.05)
    pytest.fail(f"{what} within {seconds} s\n" + "\n".join(p.read_text(errors="replace")[-3000:] for p in logs))


def job_row(key: str) -> Job | None:
    db.session.expire_all()
    return db.session.scalar(select(Job).where(Job.key == key))


def thumbnails_on_page(html: str) -> list[str]:
    return re.findall(r'src="(/photos/[^"]+)"', html)


def test_two_nodes_without_a_shared_disk_serve_one_bureau(app, nodes, worker, make_activity, tmp_path):
    node_a, node_b = nodes
    reporter = Person(nodes, "jinan-zj")
    activity = make_activity("jinan-zj", title="质量安全讲堂")
    page = reporter.on(node_a).request("GET", f"/activities/{activity.id}/edit")
    assert page.status == 200, page.text[:500]
    csrf = csrf_token_in(page.text)

    # A photo uploaded on node A is seen, thumbnail and all, on node B.
    photo_bytes = samples.encode(samples.photo_like(900, 600, seed=3), "JPEG", quality=90)
    sent = reporter.on(node_a).upload_photo(activity.id, csrf, photo_bytes, "一号现场.jpg")
    assert sent.status == 200 and sent.json["ok"], sent.text[:500]
    photo = db.session.get(Photo, sent.json["id"])
    seen = reporter.on(node_b).request("GET", f"/activities/{activity.id}")
    [thumb_url] = [url for url in thumbnails_on_page(seen.text) if "thumb" in url]
    thumb = reporter.user.http.get(node_b.url + thumb_url, timeout=30)
    assert thumb.status_code == 200 and thumb.headers["Content-Type"] == "image/jpeg"
    assert thumb.content == uploads().read_bytes(photo_key(photo.storage_key, "thumb"))

    # A photo sent in pieces whose pieces alternate between the nodes is made once.
    data = samples.encode(samples.photo_like(1200, 900, seed=4), "JPEG", quality=92)
    created = reporter.on(node_a).request("POST", f"/activities/{activity.id}/photo-uploads", headers={
        "X-CSRFToken": csrf}, data={"length": str(len(data)), "filename": "二号现场.jpg",
                                    "sha256": hashlib.sha256(data).hexdigest()})
    assert created.status == 201, created.text[:500]
    url = created.json["url"]
    cuts = [0, len(data) // 4, len(data) // 2, 3 * len(data) // 4, len(data)]
    answers = []
    for number, (start, end) in enumerate(zip(cuts, cuts[1:])):
        node = (node_a, node_b)[number % 2]
        head = reporter.user.http.head((node_b if node is node_a else node_a).url + url, timeout=30)
        assert head.headers["Upload-Offset"] == str(start)  # the other node knows where it stands
        answers.append(reporter.on(node).request("PATCH", url, data=data[start:end], headers={
            "X-CSRFToken": csrf, "Content-Type": CHUNK, "Upload-Offset": str(start)}))
    assert [answer.status for answer in answers] == [200, 200, 200, 200], [a.text[:300] for a in answers]
    assert [answer.json["complete"] for answer in answers] == [False, False, False, True]
    made = answers[-1].json["photo"]
    assert made["already_received"] is False
    again = reporter.on(node_a).request("PATCH", url, data=b"", headers={
        "X-CSRFToken": csrf, "Content-Type": CHUNK, "Upload-Offset": str(len(data))})
    assert again.status == 200 and again.json["photo"]["id"] == made["id"]
    db.session.expire_all()
    assert db.session.scalar(select(func.count(Photo.id)).where(Photo.activity_id == activity.id)) == 2
    assert db.session.get(Photo, made["id"]).original_sha256 == hashlib.sha256(data).hexdigest()
    shown = reporter.on(node_b).request("GET", f"/activities/{activity.id}").text
    assert shown.count(f'id="photo-{made["id"]}"') == 1
    assert not [key for key in uploads().list("incoming/")], "the pieces are gone once the photo is made"
    for folder in (node_a.instance, node_b.instance):  # nothing of the photos on either machine's disk
        assert not [name for name in files_under(folder) if name.endswith((".jpg", ".upload", ".chunk"))]

    # A PDF asked for on node A: the worker is killed mid-render, a new one retries, node B serves it.
    clear_unit("jinan-zj")
    accepted = make_activity("jinan-zj", title="质量月现场观摩会", kind="training", state=ActivityState.ACCEPTED)
    for seed in range(16):
        put_print_photo(accepted, seed=seed)
    admin = Person(nodes, "jinan-zj-admin")
    asked = admin.on(node_a).request("GET", "/reports/jinan-zj.pdf")
    assert asked.status == 202, asked.text[:500]
    fingerprint = re.search(r'data-hx-get="[^"]+fp=([0-9a-f]+)"', asked.text).group(1)
    key = tasks.pdf_job_key(fingerprint)
    first = worker("worker-a")
    wait_until(lambda: (row := job_row(key)) is not None and row.state is JobState.RUNNING, 60,
               "the worker took the job", [tmp_path / "worker-a.log"])
    first.kill()
    killed = job_row(key)
    assert killed.state is JobState.RUNNING and killed.attempts == 1, "the render ended before the kill"
    waiting = admin.on(node_b).request("GET", "/reports/jinan-zj.pdf")
    assert waiting.status == 202  # node B knows the job node A started: no second render is queued
    assert db.session.scalar(select(func.count(Job.id)).where(Job.kind == "pdf")) == 1
    worker("worker-b")
    done = wait_until(lambda: (row := job_row(key)).state is JobState.DONE and row, 60,
                      "the second worker finished the job", [tmp_path / "worker-b.log"])
    assert done.attempts == 2 and done.error == ""
    download = admin.user.http.get(node_b.url + "/reports/jinan-zj.pdf", timeout=60)
    assert download.status_code == 200 and download.headers["Content-Type"] == "application/pdf"
    document = printing.document_from_payload(done.payload, app.static_folder, uploads())
    one_node = printing.render_pdf(document)
    assert download.content == pdf_cache().read_bytes(done.result_key) == one_node
