"""Benchmark the photo pipeline on a 12-megapixel phone photo.

Run from the repository root: .venv/bin/python bench/bench_photos.py

Prints wall-clock and CPU milliseconds (median and p95) for process_photo on
a 4000x3000 JPEG (quality 92, EXIF orientation 6, GPS), the same without
JPEG draft mode, the output sizes, and what the browser would upload after
shrinking the photo on a canvas (Pillow stands in for the canvas encoder).
CPU time is printed beside wall time because this machine is shared: the
load average is shown, and wall time under load overstates the cost.
"""
from __future__ import annotations

import argparse
import contextlib
import io
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from PIL import Image, JpegImagePlugin  # noqa: E402

from qmonth.photos.processing import process_photo  # noqa: E402
from tests import photo_samples as samples  # noqa: E402

TARGET_MEDIAN_MS = 150
TARGET_UPLOAD_BYTES = 700 * 1024


def phone_photo() -> bytes:
    return samples.encode(
        samples.photo_like(4000, 3000, seed=12),
        "JPEG",
        quality=92,
        exif=samples.exif_with(6, gps=True).tobytes(),
    )


def measure(data: bytes, runs: int, warmup: int = 2) -> tuple[list[float], list[float]]:
    for _ in range(warmup):
        process_photo(io.BytesIO(data))
    wall, cpu = [], []
    for _ in range(runs):
        wall_start, cpu_start = time.perf_counter(), time.process_time()
        process_photo(io.BytesIO(data))
        wall.append((time.perf_counter() - wall_start) * 1000)
        cpu.append((time.process_time() - cpu_start) * 1000)
    return wall, cpu


def p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=20, method="inclusive")[-1]


def report(label: str, wall: list[float], cpu: list[float]) -> None:
    print(
        f"{label:<34} wall median {statistics.median(wall):6.1f} ms  p95 {p95(wall):6.1f} ms"
        f"  min {min(wall):6.1f} ms   cpu median {statistics.median(cpu):6.1f} ms"
        f"  p95 {p95(cpu):6.1f} ms   (n={len(wall)})"
    )


@contextlib.contextmanager
def without_draft_mode():
    """Make JPEG draft() a no-op, as if process_photo decoded every pixel."""
    original = JpegImagePlugin.JpegImageFile.draft
    JpegImagePlugin.JpegImageFile.draft = lambda self, mode, size: None
    try:
        yield
    finally:
        JpegImagePlugin.JpegImageFile.draft = original


def browser_upload(data: bytes, long_side: int, quality: int) -> int:
    """Bytes a canvas.toBlob("image/jpeg", quality/100) upload would weigh."""
    img = Image.open(io.BytesIO(data)).convert("RGB")
    scale = long_side / max(img.size)
    img = img.resize(
        (round(img.width * scale), round(img.height * scale)), Image.Resampling.BICUBIC
    )
    # Chrome encodes baseline 4:2:0 with libjpeg-turbo and no EXIF.
    return len(samples.encode(img, "JPEG", quality=quality, subsampling="4:2:0"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=25, help="timed runs (default 25)")
    args = parser.parse_args()

    data = phone_photo()
    print(f"Pillow {Image.__version__}, {os.cpu_count()} CPUs, load average "
          + " ".join(f"{load:.2f}" for load in os.getloadavg()))
    print(f"input: 4000x3000 JPEG q92, EXIF orientation 6 + GPS, {len(data) / 1e6:.2f} MB\n")

    wall, cpu = measure(data, args.runs)
    report("process_photo (draft mode)", wall, cpu)
    with without_draft_mode():
        slow_wall, slow_cpu = measure(data, max(5, args.runs // 2), warmup=1)
    report("process_photo (no draft mode)", slow_wall, slow_cpu)
    wall_ratio = statistics.median(slow_wall) / statistics.median(wall)
    cpu_ratio = statistics.median(slow_cpu) / statistics.median(cpu)
    print(f"{'draft mode speed-up':<34} wall x{wall_ratio:.2f}   cpu x{cpu_ratio:.2f}")
    with_profile = samples.encode(
        Image.open(io.BytesIO(data)),
        "JPEG",
        quality=92,
        exif=samples.exif_with(6, gps=True).tobytes(),
        icc_profile=samples.linear_rgb_profile(),
    )
    icc_wall, icc_cpu = measure(with_profile, max(5, args.runs // 2), warmup=1)
    report("same, non-sRGB ICC (like P3)", icc_wall, icc_cpu)
    verdict = "OK" if statistics.median(wall) < TARGET_MEDIAN_MS else "OVER TARGET"
    print(f"target: median < {TARGET_MEDIAN_MS} ms -> {verdict} (wall)\n")

    photo = process_photo(io.BytesIO(data))
    print(f"upright original: {photo.width}x{photo.height}")
    for name in ("print", "screen", "thumb"):
        copy = getattr(photo, name)
        size = Image.open(io.BytesIO(copy)).size
        print(f"  {name:<7} {size[0]}x{size[1]:<5} {len(copy) / 1024:7.1f} KB")
    print()

    print("browser upload (canvas stand-in, baseline JPEG 4:2:0):")
    for long_side, quality in ((2560, 85), (2048, 85), (1600, 85), (2560, 80)):
        size = browser_upload(data, long_side, quality)
        mark = "OK" if size < TARGET_UPLOAD_BYTES else "OVER 700 KB"
        print(f"  {long_side} px, quality 0.{quality}: {size / 1024:7.1f} KB  {mark}")


if __name__ == "__main__":
    main()
