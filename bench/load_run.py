"""Load run: gunicorn (4 workers) on loopback and N simulated bureau users for D seconds.

Run from the repository root:

    .venv/bin/python bench/load_run.py                          # 200 users, 600 s (the full run)
    .venv/bin/python bench/load_run.py --users 50 --seconds 60  # a short check
    .venv/bin/python bench/load_run.py --nodes 2                # two web nodes: bench/load_run_nodes.py

Each user logs in with a session of their own (200 users share the 88 bureau
accounts) and then, with an exponential pause of --think seconds on average
between actions, does one of:

* 60 % page views: home, activity list, a search, one of the bureau's
  activities, the catalogue, the bureau's report;
* 25 % submissions: open the form and register an activity (nine in ten
  submitted at once, one in ten saved as a draft that later gets photos);
* 10 % photo uploads of 3-6 MB camera-like JPEGs (generated once, cached in
  the temporary folder) to one of the user's drafts;
* 5 % requests for another bureau's activity, its edit form, its photo or its
  report: each must be a 404.

Every page a user sees is also searched for activities this run registered for
other bureaus ("foreign data leaks"). Afterwards the database is compared with
the users' ledger of acknowledged entries (lost, duplicated) and checked with
PRAGMA integrity_check, and the activity tally (kept by triggers) is compared with
a count of the rows. Prints counts, 5xx, p50/p95/p99 per kind, /healthz
(probed twice a second) as the trivial baseline, and the verdict against the
targets; exits with 1 when a target is missed.

The clients run on the same machine as the server and take CPU from it; the
load average and the clients' own CPU time are printed.
"""
from __future__ import annotations

import argparse
import os
import random
import re
import resource
import shutil
import statistics
import sys
import tempfile
import threading
import time
from collections import Counter, defaultdict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import requests  # noqa: E402
from sqlalchemy import create_engine, text  # noqa: E402

from qmonth import create_app  # noqa: E402
from tests import photo_samples as samples  # noqa: E402
from tests.load_support import (  # noqa: E402
    BureauUser, GunicornServer, activity_id_from,
)

CAMPAIGN_FILE = ROOT / "qmonth" / "campaigns" / "2024-shandong.toml"
MIX = (("view", 60), ("submit", 25), ("upload", 10), ("foreign", 5))
TARGETS = (("view", 95, 0.3), ("view", 99, 1.0), ("submit", 99, 1.0), ("upload", 99, 6.0))
PREFIX = "负载"
LOAD_TITLE = re.compile(PREFIX + r" ([a-z]+-[a-z]+) u\d+ ")
PAGE_CSRF = re.compile(r'"X-CSRFToken": "([^"]+)"')
FORM_KEY = re.compile(r'name="form_key" type="hidden" value="([0-9a-f]{32})"')
PHOTO_SHAPES = ((4000, 3000, 94), (4000, 3000, 96), (4032, 3024, 95), (4608, 3456, 94), (4608, 3456, 96),
                (4608, 3456, 97))
MAX_PHOTOS_PER_DRAFT = 30


# The instance ---------------------------------------------------------------------------

def sqlite_url(instance: Path) -> str:
    return f"sqlite:///{instance / 'qmonth.db'}"


def build_instance(instance: Path, database_url: str | None = None, **settings) -> None:
    """Migrated database (SQLite in the instance unless named), the 2024 campaign, 89 demo accounts
    and 200 demo activities."""
    app = create_app({"INSTANCE_PATH": instance, "SECRET_KEY": "load-run",
                      "SQLALCHEMY_DATABASE_URI": database_url or sqlite_url(instance),
                      "UPLOAD_DIR": str(instance / "uploads"), **settings})
    with app.app_context():
        from flask_migrate import upgrade

        from qmonth.campaigns.loader import load_campaign_file
        from qmonth.extensions import db

        upgrade()
        load_campaign_file(CAMPAIGN_FILE)
        db.session.commit()
    result = app.test_cli_runner().invoke(args=["seed-demo"])
    assert result.exit_code == 0, result.output
    with app.app_context():
        from qmonth.extensions import db

        db.engine.dispose()


@dataclass
class World:
    """What the users may legitimately know before the run: accounts, units, ids."""

    accounts: list[tuple[str, str]]  # (username, unit code) of every bureau account
    activities_by_unit: dict[str, list[tuple[int, str]]]  # unit code -> [(id, title)]
    photos_by_unit: dict[str, list[int]] = field(default_factory=lambda: defaultdict(list))
    # unit code -> itself and every unit below it: what that unit's accounts may see (the
    # reporting tree: the province sees all, a city bureau its counties)
    subtree: dict[str, set[str]] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def sees(self, viewer: str, unit: str) -> bool:
        """May the accounts of unit `viewer` see `unit`'s entries and report?"""
        return unit == viewer or unit in self.subtree.get(viewer, ())


def read_world(database_url: str) -> World:
    engine = create_engine(database_url)
    with engine.connect() as connection:
        accounts = [tuple(row) for row in connection.execute(text(
            'SELECT u.username, unit.code FROM "user" AS u JOIN unit ON unit.id = u.unit_id '
            "WHERE u.is_enabled ORDER BY u.id"))]
        activities = connection.execute(text(
            "SELECT unit.code, activity.id, activity.title FROM activity JOIN unit ON unit.id = activity.unit_id"
        )).all()
        parents = dict(connection.execute(text(
            "SELECT unit.code, parent.code FROM unit LEFT JOIN unit AS parent ON parent.id = unit.parent_id")).all())
    engine.dispose()
    by_unit = defaultdict(list)
    for code, activity_id, title in activities:
        by_unit[code].append((activity_id, title))
    subtree = defaultdict(set)
    for code in parents:
        above = code
        while above is not None:
            subtree[above].add(code)
            above = parents.get(above)
    return World(accounts=accounts, activities_by_unit=by_unit, subtree=dict(subtree))


def with_comment(jpeg: bytes, text: str) -> bytes:
    """The same picture with a JPEG comment (COM segment) after SOI: other bytes, same pixels."""
    body = text.encode("ascii")
    return jpeg[:2] + b"\xff\xfe" + (len(body) + 2).to_bytes(2, "big") + body + jpeg[2:]


def camera_photos(count: int = len(PHOTO_SHAPES)) -> list[bytes]:
    """3-6 MB JPEGs with sensor-like noise, made once and kept in the temporary folder."""
    cache = Path(tempfile.gettempdir()) / "qmonth-load-run-photos"
    cache.mkdir(exist_ok=True)
    photos = []
    for seed, (width, height, quality) in enumerate(PHOTO_SHAPES[:count]):
        path = cache / f"site-{seed}-{width}x{height}-q{quality}.jpg"
        if not path.exists():
            path.write_bytes(samples.encode(samples.photo_like(width, height, seed=seed), quality=quality))
        photos.append(path.read_bytes())
    return photos


# The users ------------------------------------------------------------------------------

@dataclass
class Record:
    kind: str
    path: str
    status: int
    seconds: float
    ok: bool
    note: str = ""
    node: str = ""  # which web node answered (the two-node run)


@dataclass
class Ledger:
    entries: dict[str, int] = field(default_factory=dict)  # title -> id the redirect named
    photos: dict[int, int] = field(default_factory=dict)  # photo id -> activity id
    records: list[Record] = field(default_factory=list)
    leaks: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, record: Record) -> None:
        with self.lock:
            self.records.append(record)


class SimulatedUser:
    def __init__(self, number: int, username: str, unit: str, server_url: str, world: World, ledger: Ledger,
                 photos: list[bytes], think: float, seed: int):
        self.number = number
        self.unit = unit
        self.http = self.client(server_url, username, seed)
        self.world = world
        self.ledger = ledger
        self.photos = photos
        self.think = think
        self.rng = random.Random(seed)
        self.csrf_token = ""
        self.drafts: list[list[int]] = []  # [activity id, photos uploaded]
        self.entries = 0

    # Helpers

    def client(self, server_url: str, username: str, seed: int) -> BureauUser:
        return BureauUser(server_url, username, timeout=120)

    def _record(self, kind: str, path: str, answer, ok: bool, note: str = "") -> None:
        self.ledger.add(Record(kind, path, answer.status, answer.seconds, ok,
                               note or ("" if ok else answer.text[:200]), getattr(self.http, "last_node", "")))

    def _get(self, kind: str, path: str, *, expect: int = 200) -> str:
        answer = self.http.request("GET", path)
        ok = answer.status == expect
        self._record(kind, path, answer, ok)
        if answer.status == 200:
            self._check_for_leaks(path, answer.text)
            token = PAGE_CSRF.search(answer.text)
            if token:
                self.csrf_token = token.group(1)
        return answer.text if ok else ""

    def _check_for_leaks(self, path: str, html: str) -> None:
        for unit in set(LOAD_TITLE.findall(html)):
            if not self.world.sees(self.unit, unit):
                with self.ledger.lock:
                    self.ledger.leaks.append(f"{self.http.username} saw {unit}'s entry on {path}")

    # Actions

    def start(self, logged_in: "SimulatedUser | None" = None) -> None:
        """Log in, or take a copy of the session of a user of the same account already logged in."""
        if logged_in is None:
            self.http.log_in()
        else:
            self.http.http.cookies.update(logged_in.http.http.cookies)
        self._get("setup", "/")

    def view(self) -> None:
        with self.world.lock:
            own = list(self.world.activities_by_unit.get(self.unit, []))
        detail = f"/activities/{self.rng.choice(own)[0]}" if own else "/activities/"
        path = self.rng.choice(["/", "/activities/", "/activities/?q=培训", detail, "/campaign",
                                f"/reports/{self.unit}"])
        self._get("view", path)

    def submit(self, *, draft: bool | None = None) -> None:
        """Open the form and register an activity; one in ten (and the first) kept as a draft for photos."""
        html = self._get("form", "/activities/new")
        key = FORM_KEY.search(html)
        if not key:
            return
        self.entries += 1
        if draft is None:
            draft = self.entries % 10 == 0 or not self.drafts
        title = self._new_title()
        answer = self.http.post_activity({"csrf_token": self.csrf_token, "form_key": key.group(1)}, title,
                                         submit=not draft)
        activity_id = activity_id_from(answer)
        ok = activity_id is not None
        self._record("submit", "/activities/new", answer, ok)
        if ok:
            self._entry_made(title, activity_id)
            if draft:
                self.drafts.append([activity_id, 0])

    def _new_title(self) -> str:
        return f"{PREFIX} {self.unit} u{self.number} 第{self.entries}项"

    def _entry_made(self, title: str, activity_id: int) -> None:
        with self.ledger.lock:
            self.ledger.entries[title] = activity_id
        with self.world.lock:
            self.world.activities_by_unit[self.unit].append((activity_id, title))

    def upload(self) -> None:
        draft = self._open_draft()
        if draft is None:
            return
        # Each upload a distinct file: the same picture twice on one activity is refused.
        photo = with_comment(self.rng.choice(self.photos), f"{draft[0]}-{draft[1]}-{self.rng.random()}")
        answer = self.http.upload_photo(draft[0], self.csrf_token, photo)
        ok = answer.status == 200 and bool(answer.json and answer.json.get("ok"))
        self._record("upload", f"/activities/{draft[0]}/photos", answer, ok)
        if ok:
            self._photo_made(draft, answer.json["id"])

    def _open_draft(self) -> list[int] | None:
        """One of the user's drafts with room for a photo (a new draft when there is none)."""
        open_drafts = [d for d in self.drafts if d[1] < MAX_PHOTOS_PER_DRAFT]
        if not open_drafts:
            self.submit(draft=True)
            return None
        return self.rng.choice(open_drafts)

    def _photo_made(self, draft: list[int], photo_id: int) -> None:
        draft[1] += 1
        with self.ledger.lock:
            self.ledger.photos[photo_id] = draft[0]
        with self.world.lock:
            self.world.photos_by_unit[self.unit].append(photo_id)

    def foreign(self) -> None:
        """Another bureau's activity, edit form, photo or report: always a 404, never its data."""
        with self.world.lock:
            others = [u for u in self.world.activities_by_unit if not self.world.sees(self.unit, u)]
            if others:
                other = self.rng.choice(others)
                activity_id, title = self.rng.choice(self.world.activities_by_unit[other])
                photos = list(self.world.photos_by_unit.get(other, []))
        if not others:  # the province sees every unit
            self.view()
            return
        paths = [f"/activities/{activity_id}", f"/activities/{activity_id}/edit", f"/reports/{other}"]
        if photos:
            paths.append(f"/photos/{self.rng.choice(photos)}/thumb.jpg")
        path = self.rng.choice(paths)
        answer = self.http.request("GET", path)
        ok = answer.status == 404
        self._record("foreign", path, answer, ok)
        if answer.status == 200 or (title and title in answer.text):
            with self.ledger.lock:
                self.ledger.leaks.append(f"{self.http.username} got {other}'s {path} ({answer.status})")

    def run(self, stop_at: float, mix) -> None:
        kinds, weights = zip(*mix)
        time.sleep(self.rng.uniform(0, self.think))  # users do not all start in the same second
        while time.monotonic() < stop_at:
            kind = self.rng.choices(kinds, weights)[0]
            try:
                getattr(self, kind)()
            except Exception as error:  # a bug in the client must show, not stop the run silently
                self.ledger.add(Record(kind, "?", 0, 0.0, False, f"client error: {error!r}"))
            pause = min(self.rng.expovariate(1 / self.think), self.think * 5)
            time.sleep(max(0.0, min(pause, stop_at - time.monotonic())))


def probe_healthz(url: str, stop_at: float, timings: list[float]) -> None:
    session = requests.Session()
    while time.monotonic() < stop_at:
        started = time.perf_counter()
        try:
            if session.get(f"{url}/healthz", timeout=30).status_code == 200:
                timings.append(time.perf_counter() - started)
        except requests.RequestException:
            pass
        time.sleep(0.5)


def start_users(users: list[SimulatedUser], accounts: int) -> float:
    """Log the first user of each account in (four at a time); the others copy that session."""
    started = time.monotonic()
    with ThreadPoolExecutor(4) as pool:
        list(pool.map(SimulatedUser.start, users[:accounts]))
    login_seconds = time.monotonic() - started
    for user in users[accounts:]:
        user.start(logged_in=users[user.number % accounts])
    print(f"{min(accounts, len(users))} logins in {login_seconds:.0f} s ({len(users)} users, the same account "
          f"sharing a copy of its session); running …", flush=True)
    return login_seconds


def run_users(users: list[SimulatedUser], seconds: float, mix, healthz_urls: list[str],
              healthz: list[float]) -> None:
    """Every user acts until the time is up; each server's /healthz is probed twice a second meanwhile."""
    stop_at = time.monotonic() + seconds
    threads = [threading.Thread(target=user.run, args=(stop_at, mix), daemon=True) for user in users]
    threads += [threading.Thread(target=probe_healthz, args=(url, stop_at, healthz), daemon=True)
                for url in healthz_urls]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=seconds + 300)


# Figures ------------------------------------------------------------------------------------

def percentile(values: list[float], p: int) -> float:
    if len(values) < 2:
        return values[0] if values else float("nan")
    return statistics.quantiles(values, n=100, method="inclusive")[p - 1]


def check_database(database_url: str, ledger: Ledger) -> dict:
    """The database against the ledger; SQLite's integrity check; the activity tally (kept by
    triggers) against a count of the rows."""
    engine = create_engine(database_url)
    with engine.connect() as connection:
        rows = connection.execute(text("SELECT id, title FROM activity WHERE title LIKE :prefix"),
                                  {"prefix": f"{PREFIX} %"}).all()
        photo_rows = dict(connection.execute(text("SELECT id, activity_id FROM photo")).all())
        tally = {tuple(row[:3]): row[3] for row in connection.execute(text(
            "SELECT campaign_id, unit_id, state, count FROM activity_tally")) if row[3]}
        counted = {tuple(row[:3]): row[3] for row in connection.execute(text(
            "SELECT campaign_id, unit_id, state, count(*) FROM activity GROUP BY campaign_id, unit_id, state"))}
        if engine.dialect.name == "sqlite":
            integrity = [row[0] for row in connection.execute(text("PRAGMA integrity_check"))]
        else:
            integrity = ["ok"]  # no PRAGMA on PostgreSQL: constraints and the tally are what is checked
    engine.dispose()
    counts = Counter(title for _id, title in rows)
    stored = {title: activity_id for activity_id, title in rows}
    return {
        "lost": sorted(t for t, i in ledger.entries.items() if stored.get(t) != i),
        "duplicated": sorted(t for t, n in counts.items() if n > 1),
        "unacknowledged": sorted(set(stored) - set(ledger.entries)),
        "lost_photos": sorted(p for p, a in ledger.photos.items() if photo_rows.get(p) != a),
        "unacknowledged_photos": sorted(p for p, a in photo_rows.items()
                                        if a in set(stored.values()) and p not in ledger.photos),
        "tally_wrong": sorted((k, tally.get(k, 0), counted.get(k, 0)) for k in set(tally) | set(counted)
                              if tally.get(k, 0) != counted.get(k, 0)),
        "integrity": integrity,
    }


def latency_line(name: str, records: list[Record], *, width: int = 8) -> tuple[str, list[float]]:
    times = [r.seconds for r in records if r.status]
    return (f"{name:<{width}} {len(records):>6} {sum(not r.ok for r in records):>6} "
            f"{sum(r.status >= 500 for r in records):>4} {percentile(times, 50) * 1000:>7.0f} "
            f"{percentile(times, 95) * 1000:>7.0f} {percentile(times, 99) * 1000:>7.0f} "
            f"{max(times, default=float('nan')) * 1000:>7.0f}"), times


def print_figures(records: list[Record], kinds, healthz: list[float], *, width: int = 8) -> dict:
    """count, not ok, 5xx and p50/p95/p99/max per kind; /healthz as the baseline."""
    print(f"{'kind':<{width}} {'count':>6} {'not ok':>6} {'5xx':>4} {'p50 ms':>7} {'p95 ms':>7} {'p99 ms':>7} "
          f"{'max ms':>7}")
    figures = {}
    for kind in kinds:
        line, figures[kind] = latency_line(kind, [r for r in records if r.kind == kind], width=width)
        print(line)
    print(f"{'healthz':<{width}} {len(healthz):>6} {'':>6} {'':>4} {percentile(healthz, 50) * 1000:>7.0f} "
          f"{percentile(healthz, 95) * 1000:>7.0f} {percentile(healthz, 99) * 1000:>7.0f} "
          f"{max(healthz, default=float('nan')) * 1000:>7.0f}")
    if healthz and figures.get("view"):
        print(f"views p95 / healthz p95 = {percentile(figures['view'], 95) / percentile(healthz, 95):.1f}")
    return figures


def print_outcome(records: list[Record], ledger: Ledger, result: dict) -> list[tuple[str, bool]]:
    """Lost, duplicated, leaks and the first failures; the checks every load run must pass."""
    not_ok = [r for r in records if not r.ok]
    fivexx = sum(r.status >= 500 for r in records)
    print(f"acknowledged entries {len(ledger.entries)}, photos {len(ledger.photos)}; "
          f"lost {len(result['lost'])}, duplicated {len(result['duplicated'])}, lost photos "
          f"{len(result['lost_photos'])}, stored but never acknowledged {len(result['unacknowledged'])} "
          f"(photos {len(result['unacknowledged_photos'])}); "
          f"foreign data leaks {len(ledger.leaks)}; tally wrong {len(result['tally_wrong'])}; "
          f"integrity {result['integrity'][:3]}")
    for record in not_ok[:10]:
        print(f"  not ok: {record.kind} {record.node} {record.path} -> {record.status} {record.note[:120]!r}")
    for leak in ledger.leaks[:10]:
        print(f"  leak: {leak}")
    for key, kept, counted in result["tally_wrong"][:5]:
        print(f"  tally {key}: {kept} kept, {counted} rows")
    return [("no 5xx", fivexx == 0), ("every request as expected", not not_ok),
            ("no lost entry", not result["lost"] and not result["lost_photos"]),
            ("no duplicated entry", not result["duplicated"]),
            ("nothing stored that was not acknowledged", not result["unacknowledged"]
             and not result["unacknowledged_photos"]), ("no foreign data", not ledger.leaks),
            ("tally right", not result["tally_wrong"]), ("integrity ok", result["integrity"] == ["ok"])]


def print_verdict(checks: list[tuple[str, bool]], figures: dict) -> bool:
    for kind, p, limit in TARGETS:
        if not figures.get(kind):
            print(f"(no {kind} requests: the {kind} p{p} target is not judged)")
            continue
        value = percentile(figures[kind], p)
        checks.append((f"{kind} p{p} {value * 1000:.0f} ms < {limit * 1000:.0f} ms", value < limit))
    print()
    for name, passed in checks:
        print(f"{'PASS' if passed else 'FAIL'}  {name}")
    return all(passed for _name, passed in checks)


def parse_mix(text_: str) -> list[tuple[str, float]]:
    return [(kind, float(weight)) for kind, _, weight in (part.partition("=") for part in text_.split(","))]


def main() -> int:
    if any(arg.split("=")[0] in ("--nodes", "--database-url") for arg in sys.argv[1:]):
        # Several nodes on PostgreSQL with Redis and S3: the sibling script, same users and checks.
        sys.path.insert(0, str(ROOT / "bench"))
        from load_run_nodes import main as main_on_nodes

        return main_on_nodes()
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, default=200)
    parser.add_argument("--seconds", type=float, default=600)
    parser.add_argument("--think", type=float, default=10.0, help="mean pause between a user's actions (s)")
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--mix", default=",".join(f"{kind}={weight}" for kind, weight in MIX),
                        help="weights of the actions (default %(default)s)")
    parser.add_argument("--keep", type=Path, help="build the instance here and keep it")
    args = parser.parse_args()
    mix = parse_mix(args.mix)

    workdir = args.keep or Path(tempfile.mkdtemp(prefix="qmonth-load-"))
    instance = workdir / "instance"
    if instance.exists():
        shutil.rmtree(instance)
    instance.mkdir(parents=True)
    print(f"instance {instance}; building (migrate, campaign, demo accounts and activities) …", flush=True)
    build_instance(instance)
    world = read_world(sqlite_url(instance))
    photos = camera_photos()
    print(f"{len(photos)} photos of {min(map(len, photos)) / 1e6:.1f}-{max(map(len, photos)) / 1e6:.1f} MB; "
          f"{args.users} users on {len(world.accounts)} bureau accounts, think {args.think:g} s, "
          f"{args.seconds:g} s, gunicorn -w {args.workers}, mix {args.mix}", flush=True)

    ledger = Ledger()
    healthz: list[float] = []
    server = GunicornServer(instance, workers=args.workers, timeout=120)
    load_before = os.getloadavg()
    cpu_before = resource.getrusage(resource.RUSAGE_SELF)
    try:
        server.start()
        users = [SimulatedUser(n, *world.accounts[n % len(world.accounts)], server.url, world, ledger, photos,
                               args.think, seed=n) for n in range(args.users)]
        start_users(users, len(world.accounts))
        run_users(users, args.seconds, mix, [server.url], healthz)
        load_after = os.getloadavg()
    finally:
        server.stop()
    cpu_after = resource.getrusage(resource.RUSAGE_SELF)
    log = server.log()

    result = check_database(sqlite_url(instance), ledger)
    records = [r for r in ledger.records if r.kind != "setup"]
    print()
    figures = print_figures(records, ("view", "form", "submit", "upload", "foreign"), healthz)
    rate = len(records) / args.seconds
    print(f"requests: {len(records)} in {args.seconds:g} s ({rate:.1f}/s); "
          f"load average {load_before[0]:.1f} before, {load_after[0]:.1f} at the end; "
          f"client CPU {cpu_after.ru_utime + cpu_after.ru_stime - cpu_before.ru_utime - cpu_before.ru_stime:.0f} s")
    checks = print_outcome(records, ledger, result)
    if "database is locked" in log:
        print("  gunicorn log: 'database is locked' appears")
    passed = print_verdict(checks, figures)
    if not args.keep:
        shutil.rmtree(workdir, ignore_errors=True)
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
