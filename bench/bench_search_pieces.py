"""What PostgreSQL's search index costs per activity: the pieces function, old and new.

Run from the repository root:  .venv/bin/python bench/bench_search_pieces.py [--texts 5000]

Every insert and edit of an activity computes `qmonth_search_pieces` over its searched
text (title, county, address, description), and building the index computes it for
every row. This starts a private PostgreSQL cluster, migrates it (so the function is
the current one, e4b8d2f61c07's PL/pgSQL), adds the first version (a9c4e2f7b316's SQL
over generate_series) under another name, and times both over the same generated texts:
milliseconds per text, the ratio, and whether both give the same pieces for every text.
"""
from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "migrations" / "versions"))

from sqlalchemy import text  # noqa: E402

from common import migrated_app, private_postgres  # noqa: E402
from qmonth.extensions import db  # noqa: E402

WORDS = ("质量", "安全", "培训", "观摩", "检测", "开放日", "工地", "技能", "竞赛", "宣传", "讲堂", "𠮷祥", "𪚥", "样板",
         "工程", "建筑", "施工", "监理", "标准", "月", "活动", "，", "。", "BIM", "2024", " ")


def texts(count: int, seed: int = 20240901) -> list[str]:
    """Activity texts the size the demo's are: a title, a county, an address and a description
    of 150-500 characters, joined by the separator the index uses."""
    rng = random.Random(seed)
    made = []
    for _ in range(count):
        fields = ["".join(rng.choices(WORDS, k=rng.randint(4, 10))), rng.choice(["历下区", "市中区", "𠮷野"]),
                  "经十路 " + str(rng.randint(1, 999)) + " 号",
                  "".join(rng.choices(WORDS, k=rng.randint(80, 260)))]
        made.append("".join(field + "\x01" for field in fields).lower())
    return made


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--texts", type=int, default=5000)
    args = parser.parse_args()
    import importlib

    old = importlib.import_module("e4b8d2f61c07_faster_search_pieces").SLOW.replace(
        "qmonth_search_pieces(", "bench_old_search_pieces(")
    sample = texts(args.texts)
    with private_postgres() as url, tempfile.TemporaryDirectory() as instance:
        app = migrated_app(Path(instance), SQLALCHEMY_DATABASE_URI=url)
        with app.app_context():
            db.session.execute(text(old))
            db.session.execute(text("CREATE TEMP TABLE bench_text (id serial, body text)"))
            db.session.execute(text("INSERT INTO bench_text (body) VALUES (:body)"), [{"body": t} for t in sample])
            timings = {}
            for name in ("bench_old_search_pieces", "qmonth_search_pieces"):
                started = time.perf_counter()
                db.session.execute(text(f"CREATE TEMP TABLE out_{name} AS SELECT id, {name}(body) AS pieces "
                                        "FROM bench_text"))
                timings[name] = time.perf_counter() - started
            differing = db.session.scalar(text(
                "SELECT count(*) FROM out_bench_old_search_pieces o JOIN out_qmonth_search_pieces n USING (id) "
                "WHERE NOT (o.pieces @> n.pieces AND n.pieces @> o.pieces)"))
            chars = sum(len(t) for t in sample)
    old_s, new_s = timings["bench_old_search_pieces"], timings["qmonth_search_pieces"]
    print(f"{args.texts} texts, {chars / args.texts:.0f} characters each on average")
    print(f"first version (SQL, generate_series): {old_s:6.2f} s  {old_s / args.texts * 1000:6.2f} ms a text")
    print(f"current (PL/pgSQL, one pass):         {new_s:6.2f} s  {new_s / args.texts * 1000:6.2f} ms a text")
    print(f"ratio {old_s / new_s:.1f}x; texts whose pieces differ: {differing}")


if __name__ == "__main__":
    main()
