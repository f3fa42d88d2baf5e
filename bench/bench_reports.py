"""How fast, how big and how hungry the report PDFs are.

Run from the repository root:  .venv/bin/python bench/bench_reports.py [--runs 3] [--keep DIR]

Builds a throwaway instance (migrated SQLite, the 2024 campaign, demo accounts)
and two scenarios, each measured in a child process of its own so that peak
memory (ru_maxrss) belongs to that scenario alone:

* bureau — one bureau's summary report: 50 activities, 150 photos;
* province — the roll-up: 800 activities over the 44 units, 150 highlights
  with 2 photos each (300 photos printed).

Photos are realistic print copies: 1600 × 1200 px JPEGs with sensor-like noise,
~250 KB each (a dozen distinct images made once, copied under new names).

For each scenario the child times qmonth's whole path as the PDF link runs it
(load the data, render the HTML, fingerprint, WeasyPrint with the safe fetcher,
write into the cache), then WeasyPrint alone on the saved HTML with its own
default fetcher reading file:// URLs, and the ratio of the two. Targets: bureau
< 3 s, < 400 MB, < 40 MB; province < 15 s, < 700 MB, < 80 MB; ratio < 1.2.
"""
from __future__ import annotations

import argparse
import hashlib
import io
import json
import os
import random
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

CAMPAIGN_FILE = ROOT / "qmonth" / "campaigns" / "2024-shandong.toml"
BUREAU = "jinan-zj"
TARGETS = {  # seconds, MB of peak RSS, MB of PDF
    "bureau": (3.0, 400, 40),
    "province": (15.0, 700, 80),
}
RATIO_TARGET = 1.2
MB = 1024 * 1024


def settings(instance: Path) -> dict:
    return {"INSTANCE_PATH": instance, "SECRET_KEY": "bench", "UPLOAD_DIR": str(instance / "uploads"),
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{instance / 'qmonth.db'}"}


# Building the data (parent process) ----------------------------------------------------

def noisy_jpeg(seed: int, size=(1600, 1200), target=250_000) -> bytes:
    """A photo-like JPEG: smooth colour fields plus grain, at the quality that lands near `target` bytes."""
    from PIL import Image, ImageDraw, ImageFilter

    rnd = random.Random(seed)
    image = Image.new("RGB", size, tuple(rnd.randrange(60, 200) for _ in range(3)))
    draw = ImageDraw.Draw(image)
    for _ in range(40):
        x, y = rnd.randrange(size[0]), rnd.randrange(size[1])
        draw.ellipse([x, y, x + rnd.randrange(100, 700), y + rnd.randrange(80, 500)],
                     fill=tuple(rnd.randrange(256) for _ in range(3)))
    image = image.filter(ImageFilter.GaussianBlur(6))
    noise = Image.effect_noise(size, 28).convert("RGB")
    image = Image.blend(image, noise, 0.12)
    best = b""
    for quality in (85, 80, 75, 70, 65, 60, 55, 50):
        output = io.BytesIO()
        image.save(output, "JPEG", quality=quality)
        best = output.getvalue()
        if len(best) <= target * 1.1:
            break
    return best


def build(instance: Path) -> dict:
    from sqlalchemy import select

    from qmonth import create_app
    from qmonth.extensions import db
    from qmonth.models import (
        Activity, ActivityKind, ActivityState, Campaign, Photo, Task, Unit, UnitReport, User,
    )
    from qmonth.photos.storage import new_storage_key, photo_path, write_atomically

    app = create_app(settings(instance))
    with app.app_context():
        from flask_migrate import upgrade

        upgrade()
    runner = app.test_cli_runner()
    for args in (["campaign", "load", str(CAMPAIGN_FILE)], ["seed-demo", "--activities", "0"]):
        result = runner.invoke(args=args)
        assert result.exit_code == 0, result.output

    images = [noisy_jpeg(seed) for seed in range(12)]
    rnd = random.Random(2024)
    with app.app_context():
        campaign = db.session.scalar(select(Campaign).where(Campaign.is_active))
        campaign.report_due_at = campaign.report_due_at + timedelta(days=3650)
        kinds = list(db.session.scalars(select(ActivityKind)))
        tasks = list(db.session.scalars(select(Task)))
        units = list(db.session.scalars(select(Unit).order_by(Unit.position)))
        authors = {u.unit_id: u for u in db.session.scalars(select(User).where(User.unit_id.is_not(None)))}
        photo_count = 0

        def photo(activity, index):
            nonlocal photo_count
            data = images[photo_count % len(images)]
            key = new_storage_key()
            write_atomically(photo_path(key, "print"), data)
            activity.photos.append(Photo(unit_id=activity.unit.id, uploaded_by_id=activity.author.id, position=index,
                                         caption=f"活动现场{index + 1}", storage_key=key, width=1600, height=1200,
                                         sha256=hashlib.sha256(data + str(photo_count).encode()).hexdigest(),
                                         bytes_print=len(data)))
            photo_count += 1

        def activity(unit, n):
            kind = kinds[n % len(kinds)]
            figures = {f["code"]: rnd.randrange(5, 300) for f in kind.figures if f.get("type") == "int"}
            day = date(2024, 9, 1 + n % 30)
            return Activity(
                campaign=campaign, unit=unit, author=authors[unit.id], kind=kind,
                tasks=[tasks[n % len(tasks)]] + ([tasks[(n + 4) % len(tasks)]] if n % 3 == 0 else []),
                title=f"{unit.city}市“质量月”{kind.name}活动（第{n + 1}场）", organiser=unit.name,
                starts_on=day, ends_on=day, county="历下区", address=f"经十路{100 + n}号",
                participants=rnd.randrange(30, 600), figures=figures, no_fee_declared=True,
                description=("围绕质量月主题，组织建设、施工、监理、检测单位负责人和技术骨干参加，"
                             "结合典型案例讲解质量管理标准化和质量多发问题防治措施。") * 2,
                results="参会人员系统学习了有关标准规范，进一步落实了质量主体责任。",
                state=ActivityState.ACCEPTED if n % 4 else ActivityState.SUBMITTED,
                contact_name="张明", contact_phone="0531-88886666")

        bureau = next(u for u in units if u.code == BUREAU)
        bureau_entries = [activity(bureau, n) for n in range(50)]
        for entry in bureau_entries:
            db.session.add(entry)
            for index in range(3):
                photo(entry, index)
        db.session.add(UnitReport(
            campaign=campaign, unit=bureau, overview="全市住建系统按照通知要求组织开展质量月活动。" * 4,
            practices="一是加强组织领导；二是突出宣传培训；三是强化督导帮扶。" * 4,
            highlights_text="在全市开展“检测开放日”和质量安全讲堂，社会反响良好。" * 3,
            problems="部分县区活动形式较为单一，基层检测能力仍有短板。下一步将持续深化质量提升行动。" * 3,
            signature=bureau.name, signed_on=date(2024, 10, 9), revision=1))
        db.session.flush()
        report = db.session.scalar(select(UnitReport).where(UnitReport.unit_id == bureau.id))
        report.highlight_activity_ids = [e.id for e in bureau_entries[:6]]

        # The other 43 addressed bureaus: not the root, and not 济南's county bureaus (seed-demo adds
        # them), whose entries would roll up into the bureau scenario's report.
        others = [u for u in units if u.depth == 1 and u.code != BUREAU]
        province_entries = list(bureau_entries)
        for n in range(800 - len(bureau_entries)):
            entry = activity(others[n % len(others)], n)
            db.session.add(entry)
            province_entries.append(entry)
        highlights = [e for e in province_entries if e.state is ActivityState.ACCEPTED][::4][:150]
        for entry in highlights:
            entry.is_highlight = True
            for index in range(2 - min(len(entry.photos), 2)):
                photo(entry, len(entry.photos) + index)
        db.session.commit()
        printed = sum(min(len(e.photos), 2) for e in highlights)
        return {"photos": photo_count, "bureau_photos": 150, "highlights": len(highlights),
                "highlight_photos": printed, "image_kb": statistics.mean(len(i) for i in images) / 1024}


# Measuring (child process) ---------------------------------------------------------------

def document_for(scenario: str):
    from sqlalchemy import select

    from qmonth.extensions import db
    from qmonth.campaigns.services import active_campaign
    from qmonth.models import Unit
    from qmonth.reports.data import build_province, build_unit_report
    from qmonth.reports.documents import province_document, unit_document
    from qmonth.reports.services import get_or_create_report

    campaign = active_campaign()
    if scenario == "bureau":
        unit = db.session.scalar(select(Unit).where(Unit.code == BUREAU))
        return unit_document(build_unit_report(campaign, unit, get_or_create_report(campaign, unit)))
    return province_document(build_province(campaign))


def file_html(document, static_folder: str) -> str:
    """The saved HTML with its URLs pointing at the files, for WeasyPrint's own fetcher."""
    html = document.html.replace('"/static/', f'"{Path(static_folder).as_uri()}/')

    def photo(match):
        return '"' + document.photo_store.local_path(document.photo_files[int(match.group(1))]).as_uri() + '"'

    return re.sub(r'"/photos/(\d+)/print\.jpg"', photo, html)


def child(scenario: str, instance: Path, runs: int, mode: str) -> None:
    import flask

    from qmonth import create_app
    from qmonth.reports import printing

    app = create_app(settings(instance))
    timings, cpu, size = [], [], 0
    with app.app_context(), app.test_request_context():
        flask.g.pop("active_campaign", None)
        if mode == "qmonth":
            for _ in range(runs):
                shutil.rmtree(Path(app.instance_path) / "cache", ignore_errors=True)
                start, cpu_start = time.perf_counter(), time.process_time()
                document = document_for(scenario)      # data + HTML, as the view does
                key = printing.build_pdf(document, app.instance_path)  # fingerprint, render, cache
                timings.append(time.perf_counter() - start)
                cpu.append(time.process_time() - cpu_start)
                size = (printing.cache_dir(app.instance_path) / key).stat().st_size
                flask.g.pop("active_campaign", None)
                from qmonth.extensions import db

                db.session.remove()
            start = time.perf_counter()
            document = document_for(scenario)
            assert printing.cached_pdf(document, app.instance_path) is not None
            cached = time.perf_counter() - start
            (instance / f"{scenario}.html").write_text(file_html(document, app.static_folder), encoding="utf-8")
            result = {"times": timings, "cpu": cpu, "size": size, "cached": cached}
        else:
            from weasyprint import HTML

            saved = instance / f"{scenario}.html"
            for _ in range(runs):
                start, cpu_start = time.perf_counter(), time.process_time()
                HTML(filename=str(saved)).write_pdf(str(instance / f"{scenario}-plain.pdf"))
                timings.append(time.perf_counter() - start)
                cpu.append(time.process_time() - cpu_start)
            result = {"times": timings, "cpu": cpu, "size": (instance / f"{scenario}-plain.pdf").stat().st_size}
    result["maxrss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps(result))


def run_child(scenario: str, instance: Path, runs: int, mode: str) -> dict:
    command = [sys.executable, __file__, "--child", scenario, "--mode", mode, "--instance", str(instance),
               "--runs", str(runs)]
    output = subprocess.run(command, check=True, capture_output=True, text=True).stdout
    return json.loads(output.strip().splitlines()[-1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3, help="renders per measurement (median reported)")
    parser.add_argument("--keep", type=Path, help="build the instance here and keep it (default: a temp dir)")
    parser.add_argument("--child", choices=sorted(TARGETS), help=argparse.SUPPRESS)
    parser.add_argument("--mode", choices=("qmonth", "weasyprint"), default="qmonth", help=argparse.SUPPRESS)
    parser.add_argument("--instance", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.instance, args.runs, args.mode)
        return 0

    folder = args.keep or Path(tempfile.mkdtemp(prefix="qmonth-bench-reports-"))
    folder.mkdir(parents=True, exist_ok=True)
    try:
        started = time.perf_counter()
        facts = build(folder)
        print(f"instance built in {time.perf_counter() - started:.1f} s: {facts['photos']} photos of "
              f"~{facts['image_kb']:.0f} KB; bureau: 50 activities, {facts['bureau_photos']} photos; "
              f"province: 800 activities, {facts['highlights']} highlights, "
              f"{facts['highlight_photos']} highlight photos")
        rows, ok = [], True
        for scenario in ("bureau", "province"):
            full = run_child(scenario, folder, args.runs, "qmonth")
            plain = run_child(scenario, folder, args.runs, "weasyprint")
            row = {
                "scenario": scenario,
                "wall": statistics.median(full["times"]), "cpu": statistics.median(full["cpu"]),
                "rss": full["maxrss_mb"], "pdf": full["size"] / MB,
                "wp_wall": statistics.median(plain["times"]), "wp_cpu": statistics.median(plain["cpu"]),
                "wp_rss": plain["maxrss_mb"], "cached": full["cached"] * 1000,
            }
            row["ratio"] = row["cpu"] / row["wp_cpu"]
            row["wall_ratio"] = row["wall"] / row["wp_wall"]
            max_s, max_mb, max_pdf = TARGETS[scenario]
            row["verdicts"] = [row["cpu"] < max_s, row["rss"] < max_mb, row["pdf"] < max_pdf,
                               row["ratio"] < RATIO_TARGET]
            ok &= all(row["verdicts"])
            rows.append(row)
        load = os.getloadavg()[0]
        print(f"\nload average {load:.2f} on {os.cpu_count()} CPUs (a render is single-threaded: on a quiet "
              "machine wall ≈ CPU; under load wall overstates the cost, so the verdict uses CPU time)\n")
        header = (f"{'scenario':<9} {'wall s':>7} {'CPU s':>6} {'target':>7} {'peak MB':>8} {'target':>7} "
                  f"{'PDF MB':>7} {'target':>7} {'WP wall':>8} {'WP CPU':>7} {'WP MB':>6} {'ratio':>6} "
                  f"{'(wall)':>7} {'cached ms':>10}  verdict")
        print(header)
        print("-" * len(header))
        for r in rows:
            max_s, max_mb, max_pdf = TARGETS[r["scenario"]]
            marks = "".join("ok " if v else "NO " for v in r["verdicts"])
            print(f"{r['scenario']:<9} {r['wall']:>7.2f} {r['cpu']:>6.2f} {'<' + str(max_s):>7} {r['rss']:>8.0f} "
                  f"{'<' + str(max_mb):>7} {r['pdf']:>7.1f} {'<' + str(max_pdf):>7} {r['wp_wall']:>8.2f} "
                  f"{r['wp_cpu']:>7.2f} {r['wp_rss']:>6.0f} {r['ratio']:>6.2f} {r['wall_ratio']:>7.2f} "
                  f"{r['cached']:>10.0f}  {marks}")
        print(f"\nverdict columns: time (CPU), peak memory, PDF size, ratio < {RATIO_TARGET}. "
              f"qmonth = data + HTML + fingerprint + WeasyPrint through the safe fetcher + cache write "
              f"(median of {args.runs}); WP = WeasyPrint alone on the saved HTML with file:// URLs; "
              "ratio = qmonth CPU / WP CPU; cached ms = the second click (data, HTML, fingerprint, file found).")
        return 0 if ok else 1
    finally:
        if not args.keep:
            shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
