"""gunicorn on loopback and bureau users driving it over HTTP: for the concurrency
and crash tests (tests/concurrency/) and the load run (bench/load_run.py)."""
from __future__ import annotations

import ctypes
import os
import re
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import requests

from qmonth import ROOT

PASSWORD = "qmonth-demo"
SECRET_KEY = "load-test-secret-key"  # every node signs sessions with one key: a cookie works on all
DEMO_CLOCK = "2024-09-20T10:00:00+08:00"

# One bureau per city: 16 users of 16 different units.
CITY_BUREAUS = [
    "jinan-zj", "qingdao-zj", "zibo-zj", "zaozhuang-zj", "dongying-zj", "yantai-zj", "weifang-zj", "jining-zj",
    "taian-zj", "weihai-zj", "rizhao-zj", "linyi-zj", "dezhou-zj", "liaocheng-zj", "binzhou-zj", "heze-zj",
]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _die_with_parent() -> None:
    """In the child before exec: the kernel sends SIGTERM when the test process dies,
    so an aborted run never leaves a server behind."""
    PR_SET_PDEATHSIG = 1
    ctypes.CDLL("libc.so.6", use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


class GunicornServer:
    """`gunicorn -w N` serving create_app() for one instance folder on 127.0.0.1."""

    def __init__(self, instance: Path, *, database_url: str | None = None, workers: int = 4, timeout: int = 60,
                 preload: bool = True, extra_config: dict | None = None):
        self.instance = Path(instance)
        self.workers = workers
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = self.instance / "gunicorn.log"
        self.temp_dir = self.instance / "tmp"  # the workers' TMPDIR, checked for leftovers
        config = {
            "INSTANCE_PATH": str(self.instance),
            "SECRET_KEY": SECRET_KEY,
            "SQLALCHEMY_DATABASE_URI": database_url or f"sqlite:///{self.instance / 'qmonth.db'}",
            "UPLOAD_DIR": str(self.instance / "uploads"),
            "DEMO_CLOCK": DEMO_CLOCK,
            **(extra_config or {}),
        }
        self.command = [
            sys.executable, "-m", "gunicorn", f"qmonth:create_app({config!r})",
            "--bind", f"127.0.0.1:{self.port}", "--workers", str(workers),
            "--timeout", str(timeout), "--graceful-timeout", "5",
            "--chdir", str(ROOT), "--error-logfile", str(self.log_path),
            # The app is imported once and forked: a killed worker is back in a moment.
            # Safe because create_app() opens no database connection.
            *(["--preload"] if preload else []),
        ]
        self.process: subprocess.Popen | None = None

    def start(self, wait: float = 90) -> "GunicornServer":
        self.temp_dir.mkdir(parents=True, exist_ok=True)
        env = {k: v for k, v in os.environ.items() if not k.startswith("QMONTH_")}
        env["TMPDIR"] = str(self.temp_dir)
        self.process = subprocess.Popen(self.command, env=env, cwd=ROOT, preexec_fn=_die_with_parent,
                                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.wait_until_serving(wait)
        return self

    def wait_until_serving(self, wait: float = 90) -> None:
        """Until /healthz answers and every worker is up."""
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"gunicorn exited with {self.process.returncode}:\n{self.log()}")
            try:
                if requests.get(f"{self.url}/healthz", timeout=5).status_code == 200 and \
                        len(self.worker_pids()) == self.workers:
                    return
            except requests.RequestException:
                pass
            time.sleep(0.2)
        raise RuntimeError(f"gunicorn did not start within {wait} s:\n{self.log()}")

    def worker_pids(self) -> list[int]:
        """The master's children, read from /proc."""
        pids = []
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            # pid (comm) state ppid ...: comm may hold spaces, so split after the last ')'.
            parent = int(stat.rsplit(")", 1)[1].split()[1])
            if parent == self.process.pid:
                pids.append(int(entry.name))
        return pids

    def kill_workers(self) -> list[int]:
        """SIGKILL every worker at once, as an out-of-memory killer or a power blip would."""
        pids = self.worker_pids()
        for pid in pids:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        return pids

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)

    def log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()


def start_nodes(folder: Path, database_url: str, settings: dict, *, count: int = 2, workers: int = 2,
                timeout: int = 60) -> list[GunicornServer]:
    """Several web machines with no shared disk: `count` gunicorn instances, each with an instance
    folder of its own under `folder` (node-a, node-b, ...), on one database and told the same
    `settings` (the broker, the object store). All started, or none left running."""
    nodes: list[GunicornServer] = []
    try:
        for number in range(count):
            instance = Path(folder) / f"node-{chr(ord('a') + number)}"
            instance.mkdir(parents=True, exist_ok=True)
            nodes.append(GunicornServer(instance, database_url=database_url, workers=workers, timeout=timeout,
                                        extra_config=settings))
            nodes[-1].start()
    except BaseException:
        for node in nodes:
            node.stop()
        raise
    return nodes


def worker_settings(folder: Path, database_url: str, settings: dict) -> dict:
    """The app settings of a job worker on a machine of its own (`folder` its instance folder)."""
    return {"INSTANCE_PATH": str(folder), "SECRET_KEY": SECRET_KEY, "UPLOAD_DIR": str(Path(folder) / "uploads"),
            "SQLALCHEMY_DATABASE_URI": database_url, **settings}


# Clients -----------------------------------------------------------------------

CSRF_INPUT = re.compile(r'<input[^>]*name="csrf_token"[^>]*value="([^"]+)"|<input[^>]*value="([^"]+)"[^>]*name="csrf_token"')
FORM_KEY_INPUT = re.compile(r'name="form_key" type="hidden" value="([0-9a-f]{32})"')
DETAIL_PATH = re.compile(r"/activities/(\d+)$")


def csrf_token_in(html: str) -> str:
    match = CSRF_INPUT.search(html)
    if not match:
        raise AssertionError("no CSRF token in the page")
    return match.group(1) or match.group(2)


def activity_fields(title: str, *, submit: bool) -> dict:
    """A complete training activity, as a reporter fills in the form."""
    return {
        "title": title, "kind": "training", "tasks": ["2"], "organiser": "市住房和城乡建设局",
        "co_organisers": "市建筑业协会", "starts_on": "2024-09-12", "ends_on": "2024-09-12",
        "county": "历下区", "address": "经十路 9999 号", "participants": "260",
        "description": "邀请专家解读《建设工程见证检测标准》。", "results": "参训人员掌握了见证检测要点。",
        "contact_name": "王磊", "contact_phone": "0531-51760000", "fig_mode": "线上线下结合",
        "fig_trainees": "260", "fig_class_hours": "4", "fig_standards": "GB 50300", "no_fee_declared": "y",
        "action": "submit" if submit else "save",
    }


@dataclass
class Answer:
    """What one request got back: status (0 when the connection broke), time, the body's start."""

    status: int
    seconds: float
    location: str = ""
    text: str = ""
    json: dict | None = None


class BureauUser:
    """One person of one bureau with their own session (cookies) and connection pool."""

    def __init__(self, base_url: str, username: str, *, timeout: float = 60):
        self.base_url = base_url
        self.username = username
        self.timeout = timeout
        self.http = requests.Session()

    def request(self, method: str, path: str, **kwargs) -> Answer:
        started = time.perf_counter()
        try:
            response = self.http.request(method, self.base_url + path, allow_redirects=False,
                                         timeout=self.timeout, **kwargs)
        except requests.RequestException as error:
            return Answer(0, time.perf_counter() - started, text=f"{type(error).__name__}: {error}")
        answer = Answer(response.status_code, time.perf_counter() - started,
                        location=response.headers.get("Location", ""), text=response.text)
        if response.headers.get("Content-Type", "").startswith("application/json"):
            answer.json = response.json()
        return answer

    def log_in(self) -> None:
        page = self.request("GET", "/login")
        answer = self.request("POST", "/login", data={
            "username": self.username, "password": PASSWORD, "csrf_token": csrf_token_in(page.text)})
        if answer.status != 302:
            raise AssertionError(f"login as {self.username} failed: {answer.status}")

    def open_new_form(self) -> tuple[Answer, dict]:
        """GET the activity form: the page, and the hidden fields a POST must carry back."""
        page = self.request("GET", "/activities/new")
        if page.status != 200:
            return page, {}
        key = FORM_KEY_INPUT.search(page.text)
        return page, {"csrf_token": csrf_token_in(page.text), "form_key": key.group(1) if key else ""}

    def post_activity(self, hidden: dict, title: str, *, submit: bool) -> Answer:
        return self.request("POST", "/activities/new", data={**hidden, **activity_fields(title, submit=submit)})

    def upload_photo(self, activity_id: int, csrf_token: str, jpeg: bytes, name: str = "现场.jpg") -> Answer:
        """As the page's uploader sends it: one photo, JSON answer."""
        return self.request("POST", f"/activities/{activity_id}/photos",
                            headers={"X-Requested-With": "qmonth-upload", "X-CSRFToken": csrf_token},
                            files={"photo": (name, jpeg, "image/jpeg")})


def activity_id_from(answer: Answer) -> int | None:
    match = DETAIL_PATH.search(answer.location)
    return int(match.group(1)) if answer.status == 302 and match else None
