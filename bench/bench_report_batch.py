"""N bureau report PDFs made by RQ workers: wall time with 1 worker and with 2, and the ratio.

Run from the repository root:
    .venv/bin/python bench/bench_report_batch.py            # 44 bureaus, 50 activities, 150 photos each
    .venv/bin/python bench/bench_report_batch.py --small    # 6 bureaus, 10 activities, 20 photos each

Builds a throwaway instance (migrated SQLite, the 2024 campaign, demo accounts, no demo
entries), gives each of the first N units its activities and photos (1600 × 1200 JPEGs of
~250 KB, hard links to a dozen images so the disk holds them once), starts its own
redis-server on a unix socket in the instance folder, then for 1 and for 2 workers
(`qmonth.jobs.worker.run_worker`, as `flask --app app jobs worker` runs it): empties the PDF
cache and the job table, asks for the N PDFs as the ZIP does (one job each), and times until
every job is done. The ratio should approach min(2, cores free).
"""
from __future__ import annotations

import argparse
import hashlib
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from bench_reports import CAMPAIGN_FILE, noisy_jpeg  # noqa: E402

WORKER_SCRIPT = """
import sys
from qmonth import create_app
from qmonth.jobs.worker import run_worker
app = create_app(eval(sys.argv[1]))
with app.app_context():
    run_worker(app, name=sys.argv[2])
"""


def settings(instance: Path, redis_url: str) -> dict:
    return {"INSTANCE_PATH": str(instance), "SECRET_KEY": "bench", "UPLOAD_DIR": str(instance / "uploads"),
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{instance / 'qmonth.db'}", "REDIS_URL": redis_url}


def build(instance: Path, redis_url: str, bureaus: int, activities: int, photos: int) -> None:
    from flask_migrate import upgrade
    from sqlalchemy import select

    from qmonth import create_app
    from qmonth.extensions import db
    from qmonth.models import Activity, ActivityKind, ActivityState, Campaign, Photo, Task, Unit, UnitReport, User
    from qmonth.photos.storage import new_storage_key, photo_path

    app = create_app(settings(instance, redis_url))
    with app.app_context():
        upgrade()
    runner = app.test_cli_runner()
    for args in (["campaign", "load", str(CAMPAIGN_FILE)], ["seed-demo", "--activities", "0"]):
        result = runner.invoke(args=args)
        assert result.exit_code == 0, result.output
    images_dir = instance / "images"
    images_dir.mkdir()
    images = []
    for seed in range(12):
        path = images_dir / f"{seed}.jpg"
        path.write_bytes(noisy_jpeg(seed))
        images.append(path)
    rnd = random.Random(2024)
    per_activity = max(1, photos // activities)
    with app.app_context():
        campaign = db.session.scalar(select(Campaign).where(Campaign.is_active))
        campaign.report_due_at = campaign.report_due_at + timedelta(days=3650)
        kinds = list(db.session.scalars(select(ActivityKind)))
        tasks = list(db.session.scalars(select(Task)))
        units = list(db.session.scalars(select(Unit).order_by(Unit.position)))[:bureaus]
        authors = {u.unit_id: u for u in db.session.scalars(select(User).where(User.unit_id.is_not(None)))}
        count = 0
        for unit in units:
            for n in range(activities):
                kind = kinds[n % len(kinds)]
                day = date(2024, 9, 1 + n % 30)
                entry = Activity(
                    campaign=campaign, unit=unit, author=authors[unit.id], kind=kind,
                    tasks=[tasks[n % len(tasks)]], title=f"{unit.city}市“质量月”{kind.name}活动（第{n + 1}场）",
                    organiser=unit.name, starts_on=day, ends_on=day, county="历下区", address=f"经十路{100 + n}号",
                    participants=rnd.randrange(30, 600),
                    figures={f["code"]: rnd.randrange(5, 300) for f in kind.figures if f.get("type") == "int"},
                    no_fee_declared=True, state=ActivityState.ACCEPTED,
                    description="围绕质量月主题，组织建设、施工、监理、检测单位负责人和技术骨干参加。" * 2,
                    results="参会人员系统学习了有关标准规范。", contact_name="张明", contact_phone="0531-88886666")
                db.session.add(entry)
                for index in range(per_activity):
                    key = new_storage_key()
                    target = photo_path(key, "print")
                    target.parent.mkdir(parents=True, exist_ok=True)
                    image = images[count % len(images)]
                    os.link(image, target)
                    entry.photos.append(Photo(
                        unit_id=unit.id, uploaded_by_id=authors[unit.id].id, position=index,
                        caption=f"活动现场{index + 1}", storage_key=key, width=1600, height=1200,
                        sha256=hashlib.sha256(f"{count}".encode()).hexdigest(), bytes_print=image.stat().st_size))
                    count += 1
            db.session.add(UnitReport(campaign=campaign, unit=unit, overview="全市按照通知要求组织开展质量月活动。" * 4,
                                      signature=unit.name, signed_on=date(2024, 10, 9), revision=1))
        db.session.commit()
    print(f"data: {bureaus} bureaus × {activities} activities × {per_activity * activities} photos")


def start_redis(folder: Path) -> tuple[subprocess.Popen, str]:
    socket = folder / "redis.sock"
    process = subprocess.Popen([shutil.which("redis-server") or "redis-server", "--port", "0", "--unixsocket",
                                str(socket), "--dir", str(folder), "--save", "", "--appendonly", "no"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    while not socket.exists():
        if process.poll() is not None:
            raise SystemExit("redis-server did not start (apt-get install redis-server)")
        time.sleep(0.05)
    return process, f"unix://{socket}"


def batch(app, bureaus: int, worker_count: int, instance: Path, config: dict) -> float:
    """Every PDF job of the first `bureaus` units, from an empty cache, with this many workers."""
    from sqlalchemy import delete, select

    from qmonth.campaigns.services import active_campaign
    from qmonth.extensions import db
    from qmonth.jobs.models import Job, JobState
    from qmonth.models import User
    from qmonth.reports import printing, tasks

    with app.app_context():
        db.session.execute(delete(Job))
        db.session.commit()
        shutil.rmtree(printing.cache_dir(instance), ignore_errors=True)
        viewer = db.session.scalar(select(User).where(User.username == "province"))
        documents = tasks.unit_documents(active_campaign(), viewer)[:bureaus]
    workers = [subprocess.Popen([sys.executable, "-c", WORKER_SCRIPT, repr(config), f"bench-{worker_count}-{n}"],
                                cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
               for n in range(worker_count)]
    try:
        time.sleep(3)  # the workers are up and waiting (their start-up is not the render)
        with app.app_context():
            started = time.perf_counter()
            for _unit, document in documents:
                tasks.start_pdf(document)
            while True:
                db.session.expire_all()
                states = list(db.session.scalars(select(Job.state)))
                if any(state is JobState.FAILED for state in states):
                    raise SystemExit("a PDF job failed: see `flask jobs list`")
                if len(states) == bureaus and all(state is JobState.DONE for state in states):
                    wall = time.perf_counter() - started
                    busy = sum((job.finished_at - job.started_at).total_seconds()
                               for job in db.session.scalars(select(Job)))
                    # Jobs in flight at once, on average: near the worker count when they run in
                    # parallel, whatever else the machine is doing.
                    print(f"  render time summed over jobs {busy:.1f} s, {busy / wall:.2f} jobs in flight on average")
                    return wall
                time.sleep(0.1)
    finally:
        for worker in workers:
            worker.terminate()
        for worker in workers:
            worker.wait(timeout=60)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--small", action="store_true", help="6 bureaus, 10 activities, 20 photos each")
    parser.add_argument("--bureaus", type=int)
    parser.add_argument("--activities", type=int)
    parser.add_argument("--photos", type=int)
    parser.add_argument("--keep", type=Path, help="build the instance here and keep it")
    args = parser.parse_args()
    bureaus = args.bureaus or (6 if args.small else 44)
    activities = args.activities or (10 if args.small else 50)
    photos = args.photos or (20 if args.small else 150)
    instance = args.keep or Path(tempfile.mkdtemp(prefix="qmonth-batch-"))
    instance.mkdir(parents=True, exist_ok=True)
    redis, redis_url = start_redis(instance)
    try:
        config = settings(instance, redis_url)
        started = time.perf_counter()
        build(instance, redis_url, bureaus, activities, photos)
        print(f"built in {time.perf_counter() - started:.1f} s; {os.cpu_count()} cores, "
              f"load average {os.getloadavg()[0]:.1f}")
        from qmonth import create_app

        app = create_app(config)
        times = {}
        for worker_count in (1, 2):
            times[worker_count] = batch(app, bureaus, worker_count, instance, config)
            print(f"{bureaus} PDFs with {worker_count} worker{'s' if worker_count > 1 else ''}: "
                  f"{times[worker_count]:.1f} s ({times[worker_count] / bureaus:.2f} s per PDF)", flush=True)
        print(f"ratio 1 worker / 2 workers: {times[1] / times[2]:.2f}")
    finally:
        redis.terminate()
        redis.wait(timeout=10)
        if args.keep is None:
            shutil.rmtree(instance, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
