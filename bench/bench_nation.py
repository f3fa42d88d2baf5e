"""A synthetic nation on PostgreSQL: one province's board, list, search and report data.

Run from the repository root:
    .venv/bin/python bench/bench_nation.py                       # 31 x 16 x 10 units, 300,000 activities
    .venv/bin/python bench/bench_nation.py --activities 30000    # a quicker look
    .venv/bin/python bench/bench_nation.py --database-url URL    # fill a kept database once, measure again

Builds a throwaway instance on a private PostgreSQL cluster (or the database named): the 2024
campaign and its demo accounts, then under the campaign's root 31 provinces, each with 16 cities of
10 counties (31 + 496 + 4,960 = 5,487 units beside the 44 of the campaign file), a reporter in
every unit and an admin in every province, and the activities spread evenly over all units. It
then times, in process with the Flask test client, as the admin of the first province (a middle
node, whose subtree is 177 units): its board, its activity list and two searches, and its report
data (the roll-up of its subtree, `build_unit_report`); the root's board and list are shown for
comparison. Targets (issue 15): the province's board p95 <= 100 ms, its list and search p50 <= 25 ms,
its report data <= 2 s.
"""
from __future__ import annotations

import argparse
import contextlib
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import insert, select  # noqa: E402

from bench_activities import CAMPAIGN_FILE, insert_activities, measure  # noqa: E402
from common import PASSWORD, login, migrated_app, p95, pad, private_postgres  # noqa: E402
from qmonth.extensions import db  # noqa: E402
from qmonth.models import Activity, Campaign, Department, Role, Unit, User  # noqa: E402

BOARD_P95_MS, LIST_P50_MS, REPORT_S = 100.0, 25.0, 2.0
PROVINCE_ADMIN = "n-p01-admin"


def add_level(parents: list[Unit], count: int, code: str, name: str) -> list[Unit]:
    """`count` units under each parent, their ids taken by one flush, then their paths set."""
    units = []
    for parent in parents:
        for number in range(1, count + 1):
            unit_code = f"{parent.code}-{code}{number:02d}" if parent.depth else f"n-{code}{number:02d}"
            label = f"{parent.city if parent.depth else ''}{name}{number}"
            units.append(Unit(code=unit_code, name=f"{label}住房和城乡建设局", city=label, department=Department.ZJ, position=number, parent_id=parent.id,
                              depth=parent.depth + 1, path=""))
    db.session.add_all(units)
    db.session.flush()
    by_id = {parent.id: parent for parent in parents}
    for unit in units:
        unit.path = f"{by_id[unit.parent_id].path}{unit.id}/"
    db.session.flush()
    return units


def build_nation(provinces: int, cities: int, counties: int) -> int:
    """The nation's units under the campaign's root, a reporter in each, an admin in each province."""
    from qmonth.auth.services import hash_password

    campaign = db.session.scalar(select(Campaign).where(Campaign.is_active))
    root = db.session.get(Unit, campaign.root_unit_id)
    top = add_level([root], provinces, "p", "省")
    middle = add_level(top, cities, "c", "市")
    bottom = add_level(middle, counties, "x", "县")
    secret = hash_password(PASSWORD)
    users = [{"username": unit.code, "display_name": "填报员", "unit_id": unit.id, "role": Role.REPORTER,
              "password_hash": secret} for unit in [*top, *middle, *bottom]]
    users += [{"username": f"{unit.code}-admin", "display_name": "管理员", "unit_id": unit.id,
               "role": Role.UNIT_ADMIN, "password_hash": secret} for unit in top]
    for first in range(0, len(users), 2000):
        db.session.execute(insert(User), users[first:first + 2000])
    db.session.commit()
    return len(top) + len(middle) + len(bottom)


def build_instance(instance: Path, database_url: str, options) -> object:
    app = migrated_app(instance, SQLALCHEMY_DATABASE_URI=database_url)
    with app.app_context():
        if db.session.scalar(select(User.id).where(User.username == PROVINCE_ADMIN)) is not None:
            return app  # a database kept from an earlier run: measure it as it is
        from qmonth.campaigns.loader import load_campaign_file

        load_campaign_file(CAMPAIGN_FILE)
    result = app.test_cli_runner().invoke(args=["seed-demo"])
    assert result.exit_code == 0, result.output
    with app.app_context():
        started = time.perf_counter()
        added = build_nation(options.provinces, options.cities, options.counties)
        print(f"{added} units and their accounts added in {time.perf_counter() - started:.1f} s")
        insert_activities(options.activities)
        db.session.execute(db.text("ANALYZE"))
        db.session.commit()
        # The fill's 300,000 inserts updated each unit's tally row ~50 times inside a few
        # transactions, leaving 15 MB of dead row versions around 1 MB of live ones, which every
        # list's counts then read. A running campaign's updates come one by one, and in-page
        # pruning and autovacuum keep the table near its live size: compact it once, as a
        # bulk load is followed by a VACUUM in practice (outside a transaction).
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.execute(db.text("VACUUM (FULL, ANALYZE) activity_tally"))
            connection.execute(db.text("VACUUM ANALYZE activity"))
    return app


def time_report_data(app, code: str, runs: int) -> tuple[list[float], int]:
    """Seconds to build a unit's live report data (its subtree rolled up), fresh session each run."""
    from qmonth.reports.data import build_unit_report
    from qmonth.reports.services import get_or_create_report

    seconds, count = [], 0
    for _ in range(runs):
        with app.app_context():
            campaign = db.session.scalar(select(Campaign).where(Campaign.is_active))
            unit = db.session.scalar(select(Unit).where(Unit.code == code))
            report = get_or_create_report(campaign, unit)
            started = time.perf_counter()
            data = build_unit_report(campaign, unit, report, live=True)
            seconds.append(time.perf_counter() - started)
            count = data.figures.count
            db.session.rollback()
    return seconds, count


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--provinces", type=int, default=31)
    parser.add_argument("--cities", type=int, default=16)
    parser.add_argument("--counties", type=int, default=10)
    parser.add_argument("--activities", type=int, default=300_000)
    parser.add_argument("--requests", type=int, default=100)
    parser.add_argument("--database-url", help="an existing PostgreSQL database to fill once and measure again")
    options = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="qmonth-bench-") as tmp, contextlib.ExitStack() as stack:
        database_url = options.database_url or stack.enter_context(private_postgres())
        started = time.perf_counter()
        app = build_instance(Path(tmp), database_url, options)
        with app.app_context():
            units = db.session.scalar(select(db.func.count(Unit.id)))
            activities = db.session.scalar(select(db.func.count(Activity.id)))
            province = db.session.scalar(select(Unit).where(Unit.code == "n-p01"))
            subtree = db.session.scalar(select(db.func.count(Unit.id)).where(Unit.path.like(f"{province.path}%")))
            in_subtree = db.session.scalar(select(db.func.count(Activity.id)).join(Unit).where(
                Unit.path.like(f"{province.path}%")))
            root_children = db.session.scalar(select(db.func.count(Unit.id)).where(Unit.depth == 1))
            one_match = db.session.scalar(select(Activity.id).join(Unit).where(
                Unit.path.like(f"{province.path}%")).order_by(Activity.id.desc()).limit(1))
        print(f"PostgreSQL instance: {units} units, {activities} activities; province n-p01: {subtree} units, "
              f"{in_subtree} activities (ready in {time.perf_counter() - started:.0f} s)")
        htmx = {"HX-Request": "true"}
        admin, root = app.test_client(), app.test_client()
        login(admin, PROVINCE_ADMIN)
        login(root, "province")
        # (name, client, path, headers, target: ("p50"|"p95", ms) or None)
        cases = [
            ("trivial route /healthz", admin, "/healthz", None, None),
            ("province: board (full page)", admin, "/board/", None, ("p95", BOARD_P95_MS)),
            ("province: list, first page (full)", admin, "/activities/", None, ("p50", LIST_P50_MS)),
            ("province: search 培训 (htmx)", admin, "/activities/?q=培训", htmx, ("p50", LIST_P50_MS)),
            (f"province: search 第{one_match}期 (one match)", admin, f"/activities/?q=第{one_match}期", htmx,
             ("p50", LIST_P50_MS)),
            (f"root: board ({root_children} units below)", root, "/board/", None, None),
            ("root: list, first page (full)", root, "/activities/", None, None),
            ("root: search 培训 (htmx)", root, "/activities/?q=培训", htmx, None),
        ]
        results = []
        for name, client, path, headers, target in cases:
            wall, cpu = measure(client, path, options.requests, headers)
            results.append((name, statistics.median(wall), p95(wall), statistics.median(cpu), target))
        report_seconds, report_count = time_report_data(app, "n-p01", 5)

    print(f"\n{options.requests} requests each, in-process (Flask test client), times in ms; "
          f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs\n")
    print(f"{pad('request', 46)} {'p50':>8} {'p95':>8} {'cpu p50':>8}  target")
    print("-" * 86)
    failed = False
    for name, median, high, cpu_median, target in results:
        verdict = ""
        if target:
            which, limit = target
            ok = (median if which == "p50" else high) <= limit
            failed |= not ok
            verdict = f"{which} <= {limit:.0f}: {'ok' if ok else 'MISSED'}"
        print(f"{pad(name, 46)} {median:8.2f} {high:8.2f} {cpu_median:8.2f}  {verdict}")
    worst = max(report_seconds)
    failed |= worst > REPORT_S
    print(f"\nprovince report data ({report_count} activities rolled up), 5 runs: "
          f"median {statistics.median(report_seconds):.2f} s, worst {worst:.2f} s "
          f"(target <= {REPORT_S:.0f} s: {'ok' if worst <= REPORT_S else 'MISSED'})")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
