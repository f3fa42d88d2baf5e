"""Benchmark the photo pipeline on a 12-megapixel phone photo.

Run from the repository root: .venv/bin/python bench/bench_photos.py
                              .venv/bin/python bench/bench_photos.py --against bedd0dc

Prints wall-clock and CPU milliseconds (median and p95) for process_photo on
a 4000x3000 JPEG (quality 92, EXIF orientation 6, GPS), the same without
JPEG draft mode, the output sizes, and what the browser would upload after
shrinking the photo on a canvas (Pillow stands in for the canvas encoder).
CPU time is printed beside wall time because this machine is shared: the
load average is shown, and wall time under load overstates the cost. The
kernel's part of the CPU time is mostly page faults on freshly allocated
image memory.

--against REV also times process_photo as qmonth/photos/processing.py was at
that git revision and prints the ratio. Each version runs in child processes
of its own (the module sets a process-wide Pillow memory option), taking
turns so that both see the same load.
"""
from __future__ import annotations

import argparse
import contextlib
import importlib.util
import io
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from PIL import Image, JpegImagePlugin  # noqa: E402

from tests import photo_samples as samples  # noqa: E402

TARGET_MEDIAN_MS = 150
TARGET_UPLOAD_BYTES = 700 * 1024
CURRENT = "working tree"


@dataclass
class Timings:
    wall: list[float] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)
    kernel: list[float] = field(default_factory=list)

    def extend(self, other: Timings) -> None:
        self.wall += other.wall
        self.cpu += other.cpu
        self.kernel += other.kernel


def phone_photo() -> bytes:
    return samples.encode(
        samples.photo_like(4000, 3000, seed=12),
        "JPEG",
        quality=92,
        exif=samples.exif_with(6, gps=True).tobytes(),
    )


def load_processing(revision: str) -> ModuleType:
    """qmonth.photos.processing from the working tree, or as it was at a git revision."""
    if revision == CURRENT:
        from qmonth.photos import processing

        return processing
    source = subprocess.run(
        ["git", "show", f"{revision}:qmonth/photos/processing.py"],
        cwd=ROOT, check=True, capture_output=True, text=True,
    ).stdout
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "processing_at_revision.py"
        path.write_text(source)
        spec = importlib.util.spec_from_file_location("processing_at_revision", path)
        module = importlib.util.module_from_spec(spec)
        sys.modules[spec.name] = module  # dataclasses look their module up there
        spec.loader.exec_module(module)
    return module


def measure(data: bytes, runs: int, warmup: int = 2, process_photo=None) -> Timings:
    process_photo = process_photo or load_processing(CURRENT).process_photo
    for _ in range(warmup):
        process_photo(io.BytesIO(data))
    timings = Timings()
    for _ in range(runs):
        wall_start, cpu_start = time.perf_counter(), time.process_time()
        kernel_start = resource.getrusage(resource.RUSAGE_SELF).ru_stime
        process_photo(io.BytesIO(data))
        timings.wall.append((time.perf_counter() - wall_start) * 1000)
        timings.cpu.append((time.process_time() - cpu_start) * 1000)
        timings.kernel.append((resource.getrusage(resource.RUSAGE_SELF).ru_stime - kernel_start) * 1000)
    return timings


def p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=20, method="inclusive")[-1]


def report(label: str, timings: Timings) -> None:
    wall, cpu = timings.wall, timings.cpu
    print(
        f"{label:<34} wall median {statistics.median(wall):6.1f} ms  p95 {p95(wall):6.1f} ms"
        f"  min {min(wall):6.1f} ms   cpu median {statistics.median(cpu):6.1f} ms"
        f"  p95 {p95(cpu):6.1f} ms  (kernel {statistics.median(timings.kernel):4.1f})   (n={len(wall)})"
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


def time_in_child(revision: str, photo: Path, runs: int) -> Timings:
    """Time one version in a fresh interpreter, as a worker process would run it."""
    output = subprocess.run(
        [sys.executable, __file__, "--child", revision, "--photo", str(photo), "--runs", str(runs)],
        check=True, capture_output=True, text=True,
    ).stdout
    return Timings(**json.loads(output))


def compare(revision: str, data: bytes, runs: int, rounds: int = 3) -> None:
    """Both versions, in alternating child processes, and the ratio of their medians."""
    results = {CURRENT: Timings(), revision: Timings()}
    with tempfile.TemporaryDirectory() as folder:
        photo = Path(folder) / "photo.jpg"
        photo.write_bytes(data)
        for turn in range(rounds):
            order = [CURRENT, revision] if turn % 2 == 0 else [revision, CURRENT]
            for version in order:
                results[version].extend(time_in_child(version, photo, max(5, runs // rounds)))
    for version, timings in results.items():
        report(f"process_photo, {version}", timings)
    now, then = results[CURRENT], results[revision]
    wall_ratio = statistics.median(then.wall) / statistics.median(now.wall)
    cpu_ratio = statistics.median(then.cpu) / statistics.median(now.cpu)
    print(f"{'speed-up over ' + revision:<34} wall x{wall_ratio:.2f}   cpu x{cpu_ratio:.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=25, help="timed runs (default 25)")
    parser.add_argument("--against", metavar="REV", help="also time processing.py at this git revision")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--photo", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.child:
        process_photo = load_processing(args.child).process_photo
        timings = measure(args.photo.read_bytes(), args.runs, process_photo=process_photo)
        print(json.dumps(timings.__dict__))
        return

    data = phone_photo()
    print(f"Pillow {Image.__version__}, {os.cpu_count()} CPUs, load average "
          + " ".join(f"{load:.2f}" for load in os.getloadavg()))
    print(f"input: 4000x3000 JPEG q92, EXIF orientation 6 + GPS, {len(data) / 1e6:.2f} MB\n")

    timings = measure(data, args.runs)
    report("process_photo (draft mode)", timings)
    with without_draft_mode():
        slow = measure(data, max(5, args.runs // 2), warmup=1)
    report("process_photo (no draft mode)", slow)
    wall_ratio = statistics.median(slow.wall) / statistics.median(timings.wall)
    cpu_ratio = statistics.median(slow.cpu) / statistics.median(timings.cpu)
    print(f"{'draft mode speed-up':<34} wall x{wall_ratio:.2f}   cpu x{cpu_ratio:.2f}")
    with_profile = samples.encode(
        Image.open(io.BytesIO(data)),
        "JPEG",
        quality=92,
        exif=samples.exif_with(6, gps=True).tobytes(),
        icc_profile=samples.linear_rgb_profile(),
    )
    report("same, non-sRGB ICC (like P3)", measure(with_profile, max(5, args.runs // 2), warmup=1))
    if args.against:
        compare(args.against, data, args.runs)
    verdicts = [
        f"{name} {'OK' if statistics.median(values) < TARGET_MEDIAN_MS else 'OVER TARGET'}"
        for name, values in (("wall", timings.wall), ("cpu", timings.cpu))
    ]
    print(f"target: median < {TARGET_MEDIAN_MS} ms -> {', '.join(verdicts)}\n")

    photo = load_processing(CURRENT).process_photo(io.BytesIO(data))
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
