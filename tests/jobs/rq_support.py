"""A real redis-server in a temporary folder (unix socket, no TCP port) and real RQ worker processes.

(No tests here; tests/jobs/test_rq.py uses it.)
"""
from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from tests.load_support import _die_with_parent

ROOT = Path(__file__).resolve().parent.parent.parent


class RedisServer:
    def __init__(self, folder: Path):
        self.folder = Path(folder)
        self.socket = self.folder / "redis.sock"
        self.url = f"unix://{self.socket}"
        self.process: subprocess.Popen | None = None

    def start(self) -> "RedisServer":
        binary = shutil.which("redis-server")
        if binary is None:
            if os.environ.get("QMONTH_REQUIRE_BROWSER"):
                pytest.fail("redis-server is missing (scripts/test installs Debian's redis-server)")
            pytest.skip("redis-server is not installed")
        self.process = subprocess.Popen(
            [binary, "--port", "0", "--unixsocket", str(self.socket), "--unixsocketperm", "700",
             "--dir", str(self.folder), "--save", "", "--appendonly", "no", "--loglevel", "warning"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, preexec_fn=_die_with_parent)
        deadline = time.monotonic() + 20
        while not self.socket.exists():
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("redis-server did not start")
            time.sleep(0.05)
        return self

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)


WORKER_SCRIPT = """
import sys
from qmonth import create_app
from qmonth.jobs.worker import run_worker
app = create_app(eval(sys.argv[1]))
with app.app_context():
    run_worker(app, name=sys.argv[2])
"""


def descendants(pid: int) -> list[int]:
    """Every process below `pid`, read from /proc."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(parent, []).append(int(entry.name))
    found, stack = [], list(children.get(pid, []))
    while stack:
        child = stack.pop()
        found.append(child)
        stack.extend(children.get(child, []))
    return found


class WorkerProcess:
    """What `flask --app app jobs worker` runs, for a test's own instance settings, in a session
    of its own (signals meant for the test never reach it)."""

    def __init__(self, settings: dict, name: str, log: Path):
        self.settings, self.name, self.log = settings, name, log
        self.process: subprocess.Popen | None = None

    def start(self) -> "WorkerProcess":
        env = {k: v for k, v in os.environ.items() if not k.startswith("QMONTH_")}
        with open(self.log, "ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-c", WORKER_SCRIPT, repr(self.settings), self.name], cwd=ROOT, env=env,
                stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        return self

    def kill(self) -> None:
        """SIGKILL to the worker and its work horse (a session of its own, made by RQ): no
        cleanup of any kind runs."""
        if self.process and self.process.poll() is None:
            for pid in [*descendants(self.process.pid), self.process.pid]:
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGTERM)  # RQ's warm shutdown: the horse finishes first
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.kill()


@pytest.fixture
def redis_server():
    """A redis-server of the test's own, stopped afterwards (import the fixture to use it).

    Its folder sits right in the temporary directory, not in the test's tmp_path: a Unix
    socket's path holds at most 107 bytes, and tmp_path's can take most of them."""
    folder = Path(tempfile.mkdtemp(prefix="redis-"))
    server = RedisServer(folder).start()
    yield server
    server.stop()
    shutil.rmtree(folder, ignore_errors=True)
