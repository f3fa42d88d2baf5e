"""Peak memory of a gunicorn worker answering one 60 MB url-encoded POST /login.

Runs gunicorn (one sync worker) twice on a throwaway instance: with the old limit
(MAX_CONTENT_LENGTH of 120 MB on every route) and with the app's own settings, sends
the same body to each, and prints the worker's peak resident memory (VmHWM, the
kernel's figure behind ru_maxrss) before and after the request.

    .venv/bin/python bench/bench_body_size.py [--megabytes 60]
"""
from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

OLD_LIMIT = 120 * 1024 * 1024
FIELD = b"a=1&"  # many short fields: the parser's worst case per byte


def served_app():
    """The app gunicorn serves (`bench_body_size:served_app()`), set up by the environment below."""
    from qmonth import create_app

    instance = Path(os.environ["BENCH_INSTANCE"])
    settings = {"INSTANCE_PATH": instance, "SECRET_KEY": "bench",
                "SQLALCHEMY_DATABASE_URI": f"sqlite:///{instance / 'qmonth.db'}",
                "UPLOAD_DIR": str(instance / "uploads")}
    if os.environ.get("BENCH_OLD_LIMIT"):
        settings.update(MAX_CONTENT_LENGTH=OLD_LIMIT, MAX_UPLOAD_CONTENT_LENGTH=OLD_LIMIT)
    return create_app(settings)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def peak_kib(pid: int) -> int:
    """VmHWM: the highest resident set size of the process so far (what ru_maxrss reports)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    raise RuntimeError("no VmHWM")


def worker_pid(master: int) -> int:
    children = Path(f"/proc/{master}/task/{master}/children").read_text().split()
    return int(children[0])


def request(port: int, method: str, path: str, body_size: int = 0) -> tuple[int, float]:
    """Send a request, the body streamed by a thread (the server may answer before reading it)."""
    started = time.perf_counter()
    connection = socket.create_connection(("127.0.0.1", port))
    head = (f"{method} {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n"
            f"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {body_size}\r\n\r\n").encode()
    connection.sendall(head)

    def send_body():
        chunk = FIELD * (256 * 1024)
        remaining = body_size
        try:
            while remaining > 0:
                piece = chunk[:remaining]
                connection.sendall(piece)
                remaining -= len(piece)
        except OSError:
            pass  # refused early: the server closed the connection

    sender = threading.Thread(target=send_body, daemon=True)
    sender.start()
    answer = b""
    while b"\r\n" not in answer:
        data = connection.recv(4096)
        if not data:
            break
        answer += data
    connection.close()
    sender.join(timeout=5)
    return int(answer.split()[1]), time.perf_counter() - started


def measure(instance: Path, megabytes: int, *, old_limit: bool) -> dict:
    port = free_port()
    env = {**os.environ, "BENCH_INSTANCE": str(instance), "BENCH_OLD_LIMIT": "1" if old_limit else ""}
    server = subprocess.Popen(
        [str(ROOT / ".venv/bin/gunicorn"), "--workers", "1", "--timeout", "600", "--bind", f"127.0.0.1:{port}",
         "--pythonpath", str(Path(__file__).resolve().parent), "bench_body_size:served_app()"],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(100):
            try:
                request(port, "GET", "/login")
                break
            except (ConnectionRefusedError, IndexError):
                time.sleep(0.1)
        request(port, "GET", "/login")
        worker = worker_pid(server.pid)
        before = peak_kib(worker)
        size = megabytes * 1024 * 1024 // len(FIELD) * len(FIELD)
        status, seconds = request(port, "POST", "/login", size)
        return {"before": before, "after": peak_kib(worker), "status": status, "seconds": seconds}
    finally:
        server.terminate()
        server.wait(timeout=30)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--megabytes", type=int, default=60)
    args = parser.parse_args()
    from common import migrated_app

    with tempfile.TemporaryDirectory() as folder:
        instance = Path(folder)
        migrated_app(instance)
        print(f"POST /login, {args.megabytes} MB url-encoded ({FIELD.decode()!r} repeated), gunicorn 1 sync worker")
        results = {}
        for label, old in (("120 MB on every route (before)", True), ("the app's limits (after)", False)):
            result = measure(instance, args.megabytes, old_limit=old)
            results[old] = result
            print(f"  {label:32} HTTP {result['status']} in {result['seconds']:6.2f} s; worker peak RSS "
                  f"{result['before'] / 1024:7.1f} MiB before the request, {result['after'] / 1024:7.1f} MiB after "
                  f"(+{(result['after'] - result['before']) / 1024:.1f} MiB)")
    print(f"  worker peak RSS, old limit / new limits: {results[True]['after'] / results[False]['after']:.1f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
