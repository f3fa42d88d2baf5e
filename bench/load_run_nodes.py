"""Load run on two web nodes: PostgreSQL, Redis with one RQ worker, photos and files in S3 (issue 16).

Run from the repository root:

    .venv/bin/python bench/load_run_nodes.py                                # 200 users, 300 s
    .venv/bin/python bench/load_run_nodes.py --users 20 --seconds 30         # a short check
    .venv/bin/python bench/load_run_nodes.py --database-url postgresql+psycopg://...  # an empty database

The cluster of tests/platform/test_multi_node.py, started by the same code: two gunicorn nodes
(`--workers` each) with instance folders of their own and no shared disk, one RQ worker in a
third folder, redis-server on a Unix socket, SeaweedFS's S3 server for photos, files and the PDF
cache, and PostgreSQL: a throwaway cluster in a temporary folder (socket only, as scripts/test
starts one) unless --database-url names an empty database.

The users of bench/load_run.py, with every request sent to a node chosen at random (one session
cookie serves both: the nodes share SECRET_KEY and the database), and more actions:

* `photo`: one of the bureau's photos (thumbnail or screen copy), read from the object store;
* `resumable`: a 3-6 MB photo sent in 3-5 pieces (qmonth/photos/resumable.py), each piece to
  the other node than the piece before, and once midway the upload's status asked of the node
  that will not get the next piece;
* `quick`: quick entry on a phone: the form opened, a photo sent in pieces as above to the
  form's staging area before the form is saved, then the form submitted on the other node than
  the last piece's; the ledger expects the photo on the new entry;
* `twice`: the same form, or the same photo with the phone's id for it, posted to both nodes
  at once (a phone resending while the first answer is on its way): both answers must name one
  and the same new entry or photo;
* `report`: the bureau's PDF asked on one node (always rendered by the worker:
  REPORT_SYNC_SECONDS=0), its progress polled on the other node once a second, and the file
  downloaded from there. A new entry of the bureau meanwhile changes the PDF's fingerprint and
  the download starts another render: asked again, the roles swapped, up to four rounds.

Afterwards: the ledger check on PostgreSQL (lost, duplicated, stored but never acknowledged,
foreign data, the activity tally), every photo's three files in the object store and no upload
piece left there, no photo or PDF on a node's disk, the jobs' states, tracebacks in the nodes' and the
worker's logs, 5xx, p50/p95/p99 per kind for all requests and per node.
"""
from __future__ import annotations

import argparse
import contextlib
import hashlib
import os
import random
import re
import resource
import shutil
import sys
import tempfile
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import requests  # noqa: E402
from sqlalchemy import create_engine, text  # noqa: E402

from common import private_postgres  # noqa: E402
from load_run import (  # noqa: E402
    FORM_KEY, Ledger, Record, SimulatedUser, build_instance, camera_photos, check_database, latency_line, parse_mix,
    percentile, print_figures, print_outcome, print_verdict, read_world, run_users, start_users, with_comment,
)
from tests.jobs.rq_support import RedisServer, WorkerProcess  # noqa: E402
from tests.load_support import (  # noqa: E402
    Answer, BureauUser, activity_fields, activity_id_from, start_nodes, worker_settings,
)
from tests.storage.s3_server import start_s3_server  # noqa: E402

MIX = (("view", 54), ("photo", 5), ("submit", 20), ("quick", 3), ("twice", 2), ("upload", 5), ("resumable", 5),
       ("foreign", 5), ("report", 1))
KINDS = ("view", "photo", "form", "submit", "twice", "upload", "piece", "pdf", "poll", "foreign")
CHUNK = "application/offset+octet-stream"
PDF_FINGERPRINT = re.compile(r"fp=([0-9a-f]{64})")
PDF_ROUNDS = 4
PDF_WAIT_SECONDS = 180  # from the ask to the download, all rounds included
NODE_FILES = (".jpg", ".jpeg", ".pdf", ".upload", ".chunk", ".part")


class NodeHopper(BureauUser):
    """A bureau user whose every request goes to a node picked at random, unless one is named."""

    def __init__(self, nodes: dict[str, str], username: str, *, seed: int, timeout: float = 120):
        super().__init__(next(iter(nodes.values())), username, timeout=timeout)
        self.nodes = nodes
        self.names = sorted(nodes)
        self.pick_rng = random.Random(seed + 1_000_003)
        self.last_node = ""

    def pick(self) -> str:
        return self.pick_rng.choice(self.names)

    def other_node(self, node: str) -> str:
        return self.pick_rng.choice([name for name in self.names if name != node])

    def request(self, method: str, path: str, *, node: str | None = None, **kwargs) -> Answer:
        self.last_node = node or self.pick()
        self.base_url = self.nodes[self.last_node]
        return super().request(method, path, **kwargs)

    def fetch(self, path: str, *, node: str) -> tuple[Answer, str, bytes]:
        """GET a file: the answer (its text only when it is a page), its content type and its bytes."""
        self.last_node = node
        started = time.perf_counter()
        try:
            response = self.http.get(self.nodes[node] + path, allow_redirects=False, timeout=self.timeout)
        except requests.RequestException as error:
            return Answer(0, time.perf_counter() - started, text=f"{type(error).__name__}: {error}"), "", b""
        kind = response.headers.get("Content-Type", "")
        page = response.content.decode("utf-8", "replace") if kind.startswith("text/") else ""
        return Answer(response.status_code, time.perf_counter() - started, text=page), kind, response.content


@dataclass
class PdfTrip:
    asked_on: str
    downloaded_on: str
    seconds: float
    rounds: int  # renders waited for (0: the PDF was in the cache)
    ok: bool


@dataclass
class NodesLedger(Ledger):
    pdfs: list[PdfTrip] = field(default_factory=list)


class NodeUser(SimulatedUser):
    """A user of bench/load_run.py whose requests are spread over the nodes."""

    def client(self, server_url, username: str, seed: int) -> NodeHopper:
        return NodeHopper(server_url, username, seed=seed)

    def resumable(self) -> None:
        """A photo for one of the user's drafts, in pieces."""
        draft = self._open_draft()
        if draft is None:
            return
        photo = with_comment(self.rng.choice(self.photos), f"r{draft[0]}-{draft[1]}-{self.rng.random()}")
        made = self._send_in_pieces(f"/activities/{draft[0]}/photo-uploads", photo)
        if made is not None:
            self._photo_made(draft, made["id"])

    def quick(self) -> None:
        """Quick entry on a phone: a photo sent in pieces before the form is saved (staged under the
        form's key), then the form submitted on the other node; the photo must end on the new entry."""
        html = self._get("form", "/activities/new")
        key = FORM_KEY.search(html)
        if not key:
            return
        photo = with_comment(self.rng.choice(self.photos), f"q{key.group(1)}-{self.rng.random()}")
        made = self._send_in_pieces(f"/activities/staged/{key.group(1)}/photo-uploads", photo)
        if made is None:
            return
        self.entries += 1
        title = self._new_title()
        answer = self.http.request("POST", "/activities/new", node=self.http.other_node(self.http.last_node), data={
            "csrf_token": self.csrf_token, "form_key": key.group(1), **activity_fields(title, submit=True)})
        activity_id = activity_id_from(answer)
        self._record("submit", "/activities/new", answer, activity_id is not None)
        if activity_id is not None:
            self._entry_made(title, activity_id)
            with self.ledger.lock:
                self.ledger.photos[made["id"]] = activity_id

    def twice(self) -> None:
        """The same form, or the same photo with the phone's id for it, sent to both nodes at once (a
        phone resending while the first answer is still on its way): one entry or photo, and both
        answers name it."""
        if self.drafts and self.rng.random() < 0.5:
            self._twice_photo()
            return
        html = self._get("form", "/activities/new")
        key = FORM_KEY.search(html)
        if not key:
            return
        self.entries += 1
        title = self._new_title()
        answers = self._both_at_once("/activities/new", data={
            "csrf_token": self.csrf_token, "form_key": key.group(1), **activity_fields(title, submit=True)})
        ids = {node: activity_id_from(answer) for node, answer in answers.items()}
        if self._twins_agree("/activities/new", answers, ids):
            self._entry_made(title, ids["a"])

    def _twice_photo(self) -> None:
        draft = self._open_draft()
        if draft is None:
            return
        photo = with_comment(self.rng.choice(self.photos), f"t{draft[0]}-{draft[1]}-{self.rng.random()}")
        path = f"/activities/{draft[0]}/photos"
        answers = self._both_at_once(
            path, headers={"X-Requested-With": "qmonth-upload", "X-CSRFToken": self.csrf_token},
            data={"client_id": str(uuid.uuid4())}, files={"photo": ("现场.jpg", photo, "image/jpeg")})
        ids = {node: answer.json.get("id") if answer.status == 200 and answer.json else None
               for node, answer in answers.items()}
        if self._twins_agree(path, answers, ids):
            self._photo_made(draft, ids["a"])

    def _both_at_once(self, path: str, **kwargs) -> dict[str, Answer]:
        """One POST sent to node a and to node b at the same moment, with the same session."""
        twin = BureauUser(self.http.nodes["b"], self.http.username, timeout=self.http.timeout)
        twin.http.cookies.update(self.http.http.cookies)
        with ThreadPoolExecutor(2) as pool:
            on_a = pool.submit(self.http.request, "POST", path, node="a", **kwargs)
            on_b = pool.submit(twin.request, "POST", path, **kwargs)
            return {"a": on_a.result(), "b": on_b.result()}

    def _twins_agree(self, path: str, answers: dict[str, Answer], ids: dict) -> bool:
        ok = None not in ids.values() and len(set(ids.values())) == 1
        for node, answer in answers.items():
            self.ledger.add(Record("twice", path, answer.status, answer.seconds, ok,
                                   "" if ok else f"ids {ids}: {answer.text[:150]}", node))
        return ok

    def _send_in_pieces(self, create_path: str, photo: bytes) -> dict | None:
        """Create the upload, then send 3-5 pieces, each to another node than the one before (once
        midway the status is asked of the node that will not get the next piece, as a phone does
        after a cut). The photo's JSON, or None."""
        headers = {"X-CSRFToken": self.csrf_token}
        created = self.http.request("POST", create_path, headers=headers, data={
            "length": str(len(photo)), "filename": "分片现场.jpg", "sha256": hashlib.sha256(photo).hexdigest()})
        ok = created.status == 201 and bool(created.json and created.json.get("url"))
        self._record("piece", create_path, created, ok)
        if not ok:
            return None
        url = created.json["url"]
        pieces = self.rng.randint(3, 5)
        bounds = [0, *sorted(self.rng.sample(range(1, len(photo)), pieces - 1)), len(photo)]
        node = self.http.last_node
        for number, (start, end) in enumerate(zip(bounds, bounds[1:])):
            node = self.http.other_node(node)
            if number == pieces // 2:
                status = self.http.request("GET", url, node=self.http.other_node(node))
                ok = status.status == 200 and bool(status.json) and status.json.get("offset") == start
                self._record("piece", url, status, ok, "" if ok else f"offset {status.text[:150]} != {start}")
            answer = self.http.request("PATCH", url, node=node, data=photo[start:end], headers={
                **headers, "Content-Type": CHUNK, "Upload-Offset": str(start)})
            ok = answer.status == 200 and bool(answer.json) and answer.json.get("complete") is (end == len(photo))
            self._record("piece", url, answer, ok)
            if not ok:
                return None
        return answer.json["photo"]

    def photo(self) -> None:
        """One of the bureau's photos (thumbnail or screen copy) from whichever node: read from S3."""
        with self.world.lock:
            own = list(self.world.photos_by_unit.get(self.unit, []))
        if not own:
            self.view()
            return
        path = f"/photos/{self.rng.choice(own)}/{self.rng.choice(['thumb', 'screen'])}.jpg"
        answer, kind, body = self.http.fetch(path, node=self.http.pick())
        ok = answer.status == 200 and kind == "image/jpeg" and body.startswith(b"\xff\xd8")
        self._record("photo", path, answer, ok, "" if ok else f"{answer.status} {kind} {len(body)} bytes")

    def report(self) -> None:
        """The bureau's PDF asked on one node, polled and downloaded on the other."""
        path = f"/reports/{self.unit}.pdf"
        started = time.monotonic()
        asked_on = self.http.pick()
        answer, kind, body = self.http.fetch(path, node=asked_on)
        rounds = 0
        while True:
            if answer.status == 200 and kind == "application/pdf" and body.startswith(b"%PDF-"):
                self._record("pdf", path, answer, True, "cached" if not rounds else "")
                self._trip(asked_on, self.http.last_node, started, rounds, True)
                return
            fingerprint = PDF_FINGERPRINT.search(answer.text)
            ok = answer.status == 202 and fingerprint is not None and rounds < PDF_ROUNDS
            self._record("pdf", path, answer, ok, "" if ok or answer.status != 202 else "fingerprint kept changing")
            if not ok:
                self._trip(asked_on, self.http.last_node, started, rounds, False)
                return
            rounds += 1
            asked_on = self.http.last_node
            other = self.http.other_node(asked_on)
            if not self._wait_for_pdf(f"/reports/{self.unit}/pdf-status?fp={fingerprint.group(1)}", other,
                                      started + PDF_WAIT_SECONDS):
                self._trip(asked_on, other, started, rounds, False)
                return
            answer, kind, body = self.http.fetch(path, node=other)

    def _wait_for_pdf(self, status_path: str, node: str, deadline: float) -> bool:
        """Poll the progress fragment once a second, as the page does, until the PDF is made."""
        while time.monotonic() < deadline:
            time.sleep(1)
            status = self.http.request("GET", status_path, node=node, headers={"HX-Request": "true"})
            failed = status.status != 200 or "pdf-failed" in status.text
            self._record("poll", status_path.split("?")[0], status, not failed)
            if failed:
                return False
            if "pdf-ready" in status.text:
                return True
        self.ledger.add(Record("poll", status_path.split("?")[0], 0, 0.0, False,
                               f"not made within {PDF_WAIT_SECONDS} s of the ask", node))
        return False

    def _trip(self, asked_on: str, downloaded_on: str, started: float, rounds: int, ok: bool) -> None:
        with self.ledger.lock:
            self.ledger.pdfs.append(PdfTrip(asked_on, downloaded_on, time.monotonic() - started, rounds, ok))


def files_on_disk(folder: Path) -> list[str]:
    """Photos, pieces or PDFs a node kept on its own disk (there should be none: all in S3)."""
    return sorted(str(path.relative_to(folder)) for path in folder.rglob("*")
                  if path.is_file() and path.suffix.lower() in NODE_FILES)


def tracebacks(log: Path) -> list[str]:
    """The exception line of each traceback in a log, and gunicorn's errors (a worker timed out)."""
    try:
        lines = log.read_text(errors="replace").splitlines()
    except FileNotFoundError:
        return []
    found, inside = [], False
    for line in lines:
        if line.startswith("Traceback"):
            inside = True
        elif inside and line and not line.startswith(" "):
            found.append(line)
            inside = False
        elif "[ERROR]" in line or "[CRITICAL]" in line:
            found.append(line)
    return found


def job_states(database_url: str) -> dict[str, int]:
    engine = create_engine(database_url)
    with engine.connect() as connection:
        states = {str(state): count for state, count in connection.execute(text(
            "SELECT state, count(*) FROM job GROUP BY state"))}
    engine.dispose()
    return states


def check_store(folder: Path, database_url: str, settings: dict) -> dict:
    """Every photo's three files in the object store; no upload pieces left behind."""
    from qmonth import create_app
    from qmonth.extensions import db
    from qmonth.photos.storage import PHOTO_VARIANTS, photo_key
    from qmonth.storage import uploads

    folder.mkdir(exist_ok=True)
    app = create_app({"INSTANCE_PATH": str(folder), "SECRET_KEY": "load-run", "SQLALCHEMY_DATABASE_URI": database_url,
                      "UPLOAD_DIR": str(folder / "uploads"), **settings})
    with app.app_context():
        keys = {item.key for item in uploads().list("")}
        rows = db.session.execute(text("SELECT id, storage_key FROM photo")).all()
        db.engine.dispose()
    return {"objects": len(keys), "photos": len(rows),
            "missing": [(photo_id, variant) for photo_id, key in rows for variant in PHOTO_VARIANTS
                        if photo_key(key, variant) not in keys],
            "pieces": sorted(key for key in keys if key.startswith("incoming/"))}


def print_pdf_trips(trips: list[PdfTrip]) -> list[tuple[str, bool]]:
    made = [t for t in trips if t.rounds]
    crossed = [t for t in made if t.ok and t.asked_on != t.downloaded_on]
    print(f"PDFs: {len(trips)} asked, {len(trips) - len(made)} from the cache at once, {len(made)} rendered by the "
          f"worker ({len(crossed)} asked on one node and downloaded from the other, "
          f"{sum(t.rounds > 1 for t in made)} needing more than one render), {sum(not t.ok for t in trips)} failed; "
          f"ask to download p50 {percentile([t.seconds for t in crossed], 50):.1f} s, "
          f"p95 {percentile([t.seconds for t in crossed], 95):.1f} s")
    return [("every PDF delivered", all(t.ok for t in trips)),
            ("a PDF asked on one node was downloaded from the other", bool(crossed))]


def print_per_node(records, names: list[str]) -> None:
    for name in names:
        mine = [r for r in records if r.node == name]
        print(f"node {name}: {len(mine)} requests")
        for kind in KINDS:
            print("  " + latency_line(kind, [r for r in mine if r.kind == kind])[0])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, default=200)
    parser.add_argument("--seconds", type=float, default=300)
    parser.add_argument("--think", type=float, default=10.0, help="mean pause between a user's actions (s)")
    parser.add_argument("--nodes", type=int, default=2)
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers per node")
    parser.add_argument("--database-url", help="an empty PostgreSQL database (default: a throwaway cluster)")
    parser.add_argument("--mix", default=",".join(f"{kind}={weight}" for kind, weight in MIX),
                        help="weights of the actions (default %(default)s)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder (logs, S3 data)")
    args = parser.parse_args()
    if args.nodes < 2:
        parser.error("--nodes: at least 2 (bench/load_run.py is the one-node run)")
    mix = parse_mix(args.mix)
    workdir = Path(tempfile.mkdtemp(prefix="qmonth-load-nodes-"))
    ledger = NodesLedger()
    healthz: list[float] = []
    with contextlib.ExitStack() as stack:
        database_url = args.database_url or stack.enter_context(private_postgres())
        # Room for the run: at full speed 300 s store ~600 photos in three sizes and ~270 photos'
        # pieces (kept until SeaweedFS vacuums), past the suite's 1.9 GB; a full store failed them.
        s3 = start_s3_server(workdir / "seaweedfs", volumes=300)
        stack.callback(s3.stop)
        redis_folder = workdir / "redis"
        redis_folder.mkdir()
        redis = RedisServer(redis_folder).start()
        stack.callback(redis.stop)
        settings = {"REDIS_URL": redis.url, "REPORT_SYNC_SECONDS": 0, **s3.settings("load-run")}
        print(f"work folder {workdir}; building the database (migrate, campaign, demo accounts and "
              f"activities) …", flush=True)
        (workdir / "builder").mkdir()
        build_instance(workdir / "builder", database_url, **settings)
        world = read_world(database_url)
        photos = camera_photos()

        nodes = start_nodes(workdir, database_url, settings, count=args.nodes, workers=args.workers, timeout=120)
        for node in nodes:
            stack.callback(node.stop)
        names = {node.instance.name.removeprefix("node-"): node.url for node in nodes}
        (workdir / "worker").mkdir()
        worker = WorkerProcess(worker_settings(workdir / "worker", database_url, settings), "load-worker",
                               workdir / "worker.log").start()
        stack.callback(worker.stop)
        print(f"{len(photos)} photos of {min(map(len, photos)) / 1e6:.1f}-{max(map(len, photos)) / 1e6:.1f} MB; "
              f"{args.users} users on {len(world.accounts)} bureau accounts, think {args.think:g} s, "
              f"{args.seconds:g} s; {args.nodes} nodes x gunicorn -w {args.workers}, 1 RQ worker, PostgreSQL, "
              f"Redis, S3; mix {args.mix}", flush=True)

        load_before = os.getloadavg()
        cpu_before = resource.getrusage(resource.RUSAGE_SELF)
        users = [NodeUser(n, *world.accounts[n % len(world.accounts)], names, world, ledger, photos, args.think,
                          seed=n) for n in range(args.users)]
        start_users(users, len(world.accounts))
        run_users(users, args.seconds, mix, [node.url for node in nodes], healthz)
        load_after = os.getloadavg()
        cpu_after = resource.getrusage(resource.RUSAGE_SELF)
        for node in nodes:
            node.stop()
        worker.stop()

        result = check_database(database_url, ledger)
        jobs = job_states(database_url)
        store = check_store(workdir / "checker", database_url, settings)
        left_on_disk = {node.instance.name: files_on_disk(node.instance) for node in nodes}
        logged = {node.instance.name: tracebacks(node.log_path) for node in nodes}
        logged["worker"] = tracebacks(workdir / "worker.log")

    records = [r for r in ledger.records if r.kind != "setup"]
    print()
    figures = print_figures(records, KINDS, healthz)
    print()
    print_per_node(records, sorted(names))
    print()
    print(f"requests: {len(records)} in {args.seconds:g} s ({len(records) / args.seconds:.1f}/s); "
          f"load average {load_before[0]:.1f} before, {load_after[0]:.1f} at the end; "
          f"client CPU {cpu_after.ru_utime + cpu_after.ru_stime - cpu_before.ru_utime - cpu_before.ru_stime:.0f} s")
    checks = print_outcome(records, ledger, result)
    checks += print_pdf_trips(ledger.pdfs)
    print(f"jobs by state: {jobs}; object store: {store['objects']} objects, {store['photos']} photos, "
          f"{len(store['missing'])} photo files missing, {len(store['pieces'])} upload pieces left")
    for name, files in left_on_disk.items():
        for path in files[:5]:
            print(f"  on {name}'s disk: {path}")
    for name, lines in logged.items():
        for line in lines[:5]:
            print(f"  {name} log: {line[:200]}")
    checks += [("no job failed", not any("fail" in state.lower() for state in jobs)),
               ("every photo's files in the store, no piece left", not store["missing"] and not store["pieces"]),
               ("no photo, piece or PDF on a node's disk", not any(left_on_disk.values())),
               ("no traceback in the logs", not any(logged.values()))]
    passed = print_verdict(checks, figures)
    if args.keep:
        print(f"kept {workdir}")
    else:
        shutil.rmtree(workdir, ignore_errors=True)
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
