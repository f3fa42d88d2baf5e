"""How fast the activity list answers with 10,000 activities.

Run from the repository root:  .venv/bin/python bench/bench_activities.py [--requests 200]
                               [--activities 300000 --postgresql]

Builds a throwaway instance (migrated SQLite, or a private PostgreSQL cluster with
--postgresql; the 2024 campaign, demo accounts),
bulk-inserts activities spread over the 44 units, then times requests in-process
with the Flask test client. Targets: median < 25 ms and p95 < 50 ms for the list
and the search.
"""
from __future__ import annotations

import argparse
import contextlib
import os
import random
import statistics
import sys
import tempfile
import time
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import insert, select  # noqa: E402

from common import login, migrated_app, p95, pad, private_postgres  # noqa: E402
from qmonth.extensions import db  # noqa: E402
from qmonth.models import Activity, ActivityKind, ActivityState, Campaign, Unit, User, activity_task  # noqa: E402

CAMPAIGN_FILE = ROOT / "qmonth" / "campaigns" / "2024-shandong.toml"
TARGET_MEDIAN_MS, TARGET_P95_MS = 25.0, 50.0
# Indexes proposed for the models (see bench/README.md); --with-indexes creates them here
# so their effect can be measured before a migration adds them.
PROPOSED_INDEXES = [
    "CREATE INDEX IF NOT EXISTS ix_activity_campaign_updated ON activity (campaign_id, updated_at)",
    "CREATE INDEX IF NOT EXISTS ix_activity_campaign_state ON activity (campaign_id, state)",
]

TOPICS = ["钢筋工程", "混凝土质量", "住宅工程质量", "隔音降噪", "智能建造", "质量管理标准化", "检测机构",
          "监理行业", "市政道路", "供水管网", "园林绿化", "城市照明", "防水工程", "装配式建筑"]
FORMATS = ["培训班", "现场观摩会", "宣传周", "技能竞赛", "开放日", "专项督导", "技术交流会", "质量讲堂"]
COUNTIES = ["历下区", "市中区", "槐荫区", "天桥区", "历城区", "长清区", "章丘区", "莱芜区", "平阴县", "商河县"]
STATES = [ActivityState.DRAFT] * 2 + [ActivityState.SUBMITTED] * 3 + [ActivityState.ACCEPTED] * 4 + \
    [ActivityState.RETURNED]


def build_instance(instance: Path, count: int, with_indexes: bool = False, database_url: str | None = None):
    app = migrated_app(instance, **({"SQLALCHEMY_DATABASE_URI": database_url} if database_url else {}))
    with app.app_context():
        if db.session.scalar(select(db.func.count(Activity.id))) >= count:
            return app  # a database kept from an earlier run (--database-url): measure it as it is

        from qmonth.campaigns.loader import load_campaign_file

        load_campaign_file(CAMPAIGN_FILE)
    result = app.test_cli_runner().invoke(args=["seed-demo"])
    assert result.exit_code == 0, result.output
    with app.app_context():
        insert_activities(count)
        if with_indexes:
            for statement in PROPOSED_INDEXES:
                db.session.execute(db.text(statement))
        db.session.execute(db.text("ANALYZE"))
        db.session.commit()
    return app


def _figures(kind: ActivityKind, rng: random.Random) -> dict:
    values = {}
    for figure in kind.figures:
        if figure["type"] == "int":
            values[figure["code"]] = rng.randint(0, 300)
        elif figure["type"] == "choice":
            values[figure["code"]] = rng.choice(figure["choices"])
        elif figure["type"] == "multi":
            values[figure["code"]] = rng.sample(figure["choices"], 2)
        elif figure["type"] == "slogans":
            values[figure["code"]] = sorted(rng.sample(range(1, 13), 3))
        else:
            values[figure["code"]] = "某某项目"
    return values


def insert_activities(count: int) -> None:
    """Top the table up to `count` rows with bulk inserts (executemany): seconds, not minutes.

    seed-demo may already have added some demo entries; they count towards the total.
    """
    rng = random.Random(2024)
    first_id = (db.session.scalar(select(db.func.max(Activity.id))) or 0) + 1
    existing = db.session.scalar(select(db.func.count(Activity.id)))
    campaign = db.session.scalar(select(Campaign).where(Campaign.is_active))
    units = list(db.session.scalars(select(Unit).order_by(Unit.position)))
    authors = {user.unit_id: user.id for user in db.session.scalars(select(User).where(User.unit_id.is_not(None)))}
    kinds = list(campaign.kinds)
    task_ids = {task.number: task.id for task in campaign.tasks}
    start = datetime(2024, 9, 1, tzinfo=timezone.utc)
    activities, links = [], []
    for number in range(first_id, first_id + max(count - existing, 0)):
        unit = units[number % len(units)]
        kind = kinds[rng.randrange(len(kinds))]
        topic, form = rng.choice(TOPICS), rng.choice(FORMATS)
        starts_on = date(2024, 9, rng.randint(1, 28))
        state = rng.choice(STATES)
        updated = start + timedelta(minutes=rng.randint(0, 60 * 24 * 40))
        activities.append({
            "id": number, "campaign_id": campaign.id, "unit_id": unit.id, "author_id": authors[unit.id],
            "kind_id": kind.id, "title": f"{unit.city}{topic}{form}（第{number}期）",
            "organiser": unit.name, "co_organisers": "", "starts_on": starts_on,
            "ends_on": starts_on + timedelta(days=rng.randint(0, 2)),
            "county": rng.choice(COUNTIES), "address": f"{topic}项目部会议室 {rng.randint(1, 300)} 号",
            "participants": rng.randint(10, 2000),
            "description": f"围绕{topic}组织{form}，" + "结合“质量月”主题，宣贯标准规范，交流经验做法。" * rng.randint(2, 8),
            "results": "提升了参训人员的质量意识。", "contact_name": "联系人", "contact_phone": "0531-00000000",
            "figures": _figures(kind, rng), "no_fee_declared": True, "state": state,
            "is_highlight": state is ActivityState.ACCEPTED and rng.random() < 0.1,
            "return_reason": "请补充现场照片。" if state is ActivityState.RETURNED else "",
            "submitted_at": updated if state is not ActivityState.DRAFT else None,
            "created_at": updated, "updated_at": updated,
        })
        for task_number in {kind.default_task_number or 1, rng.randint(1, 9)}:
            links.append({"activity_id": number, "task_id": task_ids[task_number]})
    with search_index_built_after():
        for first in range(0, len(activities), 20_000):  # bounded statements and memory
            db.session.execute(insert(Activity), activities[first:first + 20_000])
        for first in range(0, len(links), 50_000):
            db.session.execute(insert(activity_task), links[first:first + 50_000])
        db.session.commit()


@contextlib.contextmanager
def search_index_built_after():
    """On PostgreSQL, drop the search pieces index for the bulk insert and build it once after:
    kept up row by row, its pieces made a million-row build take about an hour."""
    definition = None
    if db.session.get_bind().dialect.name == "postgresql":
        definition = db.session.scalar(db.text(
            "SELECT indexdef FROM pg_indexes WHERE indexname = 'ix_activity_search_pieces'"))
    if definition:
        db.session.execute(db.text("DROP INDEX ix_activity_search_pieces"))
        db.session.commit()
    yield
    if definition:
        started = time.perf_counter()
        db.session.execute(db.text("SET maintenance_work_mem = '2GB'"))
        db.session.execute(db.text("SET max_parallel_maintenance_workers = 2"))
        db.session.execute(db.text(definition))
        db.session.commit()
        print(f"search pieces index built in {time.perf_counter() - started:.0f} s")


def measure(client, path: str, requests: int, headers: dict | None = None) -> tuple[list[float], list[float]]:
    """Wall-clock and CPU milliseconds per request. Everything runs in this thread (SQLite
    included), so on a busy machine the CPU time shows what the wall time would be idle."""
    for _ in range(10):  # warm up: templates compiled, statements cached
        assert client.get(path, headers=headers).status_code == 200
    wall, cpu = [], []
    for _ in range(requests):
        started, started_cpu = time.perf_counter(), time.process_time()
        response = client.get(path, headers=headers)
        wall.append((time.perf_counter() - started) * 1000)
        cpu.append((time.process_time() - started_cpu) * 1000)
        assert response.status_code == 200, (path, response.status_code)
    return wall, cpu


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--activities", type=int, default=10_000)
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--with-indexes", action="store_true",
                        help="create the proposed indexes first (until a migration adds them)")
    parser.add_argument("--postgresql", action="store_true",
                        help="run on a private PostgreSQL cluster instead of SQLite")
    parser.add_argument("--database-url", help="an existing database to fill once and measure again "
                        "(e.g. postgresql+psycopg://postgres@/qmonth?host=/path/to/socket-dir)")
    options = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="qmonth-bench-") as tmp, contextlib.ExitStack() as stack:
        database_url = options.database_url or (
            stack.enter_context(private_postgres()) if options.postgresql else None)
        started = time.perf_counter()
        app = build_instance(Path(tmp), options.activities, options.with_indexes, database_url)
        print(f"{'PostgreSQL' if database_url else 'SQLite'} instance with {options.activities} activities "
              f"built in {time.perf_counter() - started:.1f} s"
              f"{', proposed indexes added' if options.with_indexes else ''}")
        htmx = {"HX-Request": "true"}
        province, bureau, county = app.test_client(), app.test_client(), app.test_client()
        login(province, "province")
        login(bureau, "jinan-zj")
        login(county, "jinan-lixia-zj")
        with app.app_context():
            def rows_under(code: str) -> tuple[int, int]:
                """Units and activities in the unit's subtree."""
                path = db.session.scalar(select(Unit.path).where(Unit.code == code))
                units = select(Unit.id).where(Unit.path.like(f"{path}%"))
                return (db.session.scalar(select(db.func.count()).select_from(units.subquery())),
                        db.session.scalar(select(db.func.count(Activity.id)).where(Activity.unit_id.in_(units))))

            (bureau_units, bureau_rows), (_, county_rows) = rows_under("jinan-zj"), rows_under("jinan-lixia-zj")
            # A title of the county's (each holds its id: 第<id>期), so its one-match search finds one.
            county_number = db.session.scalar(select(db.func.max(Activity.id)).join(Unit).where(
                Unit.code == "jinan-lixia-zj", Activity.title.like("%期）")))
        # (name, client, path, headers, held to the target?)
        cases = [
            ("trivial route /healthz", province, "/healthz", None, False),
            ("province: list, first page (full)", province, "/activities/", None, True),
            ("province: search 培训 (htmx fragment)", province, "/activities/?q=培训", htmx, True),
            ("province: search 第4321期 (one match)", province, "/activities/?q=第4321期", htmx, False),
            ("province: search 质量 (matches nearly all)", province, "/activities/?q=质量", htmx, False),
            ("province: search 质 (one character)", province, "/activities/?q=质", htmx, False),
            (f"city ({bureau_units} units, {bureau_rows} rows): list", bureau, "/activities/", None, True),
            ("city: search 培训 (htmx fragment)", bureau, "/activities/?q=培训", htmx, True),
            (f"city: search 第{county_number}期 (one match)", bureau, f"/activities/?q=第{county_number}期", htmx,
             True),
            (f"county ({county_rows} rows): list", county, "/activities/", None, True),
            ("county: search 培训 (htmx fragment)", county, "/activities/?q=培训", htmx, True),
            (f"county: search 第{county_number}期 (one match)", county, f"/activities/?q=第{county_number}期", htmx,
             True),
        ]
        results = []
        for name, client, path, headers, judged in cases:
            wall, cpu = measure(client, path, options.requests, headers)
            results.append((name, statistics.median(wall), p95(wall), statistics.median(cpu), judged))

    baseline = results[0][1]
    print(f"\n{options.requests} requests each, in-process (Flask test client), times in ms; "
          f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs\n")
    print(f"{pad('request', 42)} {'median':>8} {'p95':>8} {'x trivial':>10} {'cpu med':>8}  target")
    print("-" * 91)
    failed = False
    for name, median, high, cpu_median, judged in results:
        ok = median < TARGET_MEDIAN_MS and high < TARGET_P95_MS
        failed |= judged and not ok
        verdict = ("ok" if ok else "MISSED") if judged else ("" if name.startswith("trivial") else "(info)")
        print(f"{pad(name, 42)} {median:8.2f} {high:8.2f} {median / baseline:10.1f} {cpu_median:8.2f}  {verdict}")
    print(f"\ntargets: median < {TARGET_MEDIAN_MS:.0f} ms, p95 < {TARGET_P95_MS:.0f} ms for list and search")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
