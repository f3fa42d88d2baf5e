"""Where the bytes of a photo sent in pieces wait until the last one arrives (photos/resumable.py).

Two homes, chosen by the upload store (qmonth/storage.py):

* Local folder (the default, one machine): one file, ``<UPLOAD_DIR>/incoming/<token>.upload``;
  its size is the acknowledged offset and an flock on it serialises the requests of one
  upload across gunicorn workers, as before.
* Object storage (STORAGE = "s3", several web machines with no shared disk): the pieces of a
  phone's upload may reach different machines, so no machine's disk may hold them. Each
  PATCH's bytes become one object, ``incoming/<token>/<offset>.chunk`` in the upload store
  (the bytes that arrived are spooled to a local temporary file and put when the body ends
  or breaks, so a cut connection still keeps what arrived); the acknowledged offset is the
  length of the run of contiguous chunks from 0. Requests on one upload are serialised
  across machines by a PostgreSQL advisory lock keyed by the token, held on a connection of
  its own (the lock goes with the connection if the process dies, so a killed worker never
  leaves an upload locked); on SQLite, which serves one machine only, by an flock on a
  local lock file.

The bytes are kept in the store, not in a PostgreSQL table: the store is made for blobs, the
chunks are written once and read once, and the database's WAL and backups stay free of
photos that may never finish.
"""
from __future__ import annotations

import fcntl
import os
import re
import shutil
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Iterator

from flask import current_app
from sqlalchemy import text

from ..extensions import db
from ..storage import uploads
from .storage import upload_root

_CHUNK = re.compile(r"^([0-9]{12})\.chunk$")
_POLL_SECONDS = 0.05


def incoming_path(token: str) -> Path:
    """The local file of an upload (the local store only)."""
    return upload_root() / "incoming" / f"{token}.upload"


def _shared() -> bool:
    return uploads().kind != "local"


def acknowledged(token: str) -> int:
    """How many bytes of the upload are held, read without the lock (a body may be arriving)."""
    if _shared():
        return _SharedChunks(token).size()
    try:
        return incoming_path(token).stat().st_size
    except FileNotFoundError:
        return 0


def prepare(token: str) -> None:
    """Called when an upload is created: the local file exists from then on."""
    if not _shared():
        incoming_path(token).parent.mkdir(parents=True, exist_ok=True)
        incoming_path(token).touch()


def nothing_received(token: str) -> bool:
    """True when the upload surely holds no byte yet (answered without taking the lock)."""
    return not _shared() and not incoming_path(token).exists()


def discard(token: str) -> None:
    """Remove whatever was received of the upload."""
    if _shared():
        _SharedChunks(token).clear()
        _lock_file(token).unlink(missing_ok=True)
    else:
        incoming_path(token).unlink(missing_ok=True)


@contextmanager
def locked(token: str, *, wait: float = 0.0):
    """The upload's bytes, locked against every other request on it (any worker, any machine);
    None when another request holds them beyond `wait` seconds (a body still arriving)."""
    if not _shared():
        path = incoming_path(token)
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "ab+") as handle:
            if not _flock(handle, wait):
                yield None
                return
            yield _LocalBytes(handle)
        return
    with _cross_node_lock(token, wait) as held:
        yield _SharedChunks(token) if held else None


class _LocalBytes:
    """The local file, locked."""

    def __init__(self, handle) -> None:
        self.handle = handle

    def size(self) -> int:
        return self.handle.seek(0, os.SEEK_END)

    @contextmanager
    def writer(self) -> Iterator[IO[bytes]]:
        self.handle.seek(0, os.SEEK_END)
        try:
            yield self.handle
        finally:
            self.handle.flush()
            os.fsync(self.handle.fileno())

    @contextmanager
    def contents(self) -> Iterator[IO[bytes]]:
        self.handle.seek(0)
        yield self.handle

    def clear(self) -> None:
        self.handle.truncate(0)


class _SharedChunks:
    """The chunks of one upload in the upload store."""

    def __init__(self, token: str) -> None:
        self.store = uploads()
        self.folder = f"incoming/{token}/"

    def _chunks(self) -> list[tuple[int, str, int]]:
        """(offset, key, size) of the contiguous run of chunks from byte 0."""
        found = sorted((int(match.group(1)), item.key, item.size) for item in self.store.list(self.folder)
                       if (match := _CHUNK.match(item.key.rsplit("/", 1)[-1])))
        run, reached = [], 0
        for offset, key, size in found:
            if offset != reached:
                break
            run.append((offset, key, size))
            reached += size
        return run

    def size(self) -> int:
        return sum(size for _offset, _key, size in self._chunks())

    @contextmanager
    def writer(self) -> Iterator[IO[bytes]]:
        """A local temporary file; whatever was written into it becomes the next chunk, even
        when the body broke off."""
        start = self.size()
        key = f"{self.folder}{start:012d}.chunk"
        scratch = self.store.scratch_path(key)
        try:
            with open(scratch, "wb") as spool:
                try:
                    yield spool
                finally:
                    spool.flush()
                    written = spool.tell()
            if written:
                self.store.put_file(key, scratch)
        finally:
            scratch.unlink(missing_ok=True)

    @contextmanager
    def contents(self) -> Iterator[IO[bytes]]:
        """Every chunk, in order, as one local temporary file."""
        with tempfile.TemporaryFile() as whole:
            for _offset, key, _size in self._chunks():
                body = self.store.open(key)
                try:
                    shutil.copyfileobj(body, whole, 1024 * 1024)
                finally:
                    body.close()
            whole.seek(0)
            yield whole

    def clear(self) -> None:
        for item in list(self.store.list(self.folder)):
            self.store.delete(item.key)


def _flock(handle, wait: float) -> bool:
    deadline = time.monotonic() + wait
    while True:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return True
        except BlockingIOError:
            if time.monotonic() >= deadline:
                return False
            time.sleep(_POLL_SECONDS)


def _lock_file(token: str) -> Path:
    return Path(current_app.config["UPLOAD_DIR"]) / "incoming" / f"{token}.lock"


def _advisory_key(token: str) -> int:
    """A bigint from the token (random hex): two uploads sharing one only wait for each other."""
    return int(token[:15], 16)


@contextmanager
def _cross_node_lock(token: str, wait: float):
    if db.engine.dialect.name != "postgresql":
        path = _lock_file(token)
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "ab") as handle:
            yield _flock(handle, wait)
        return
    key = _advisory_key(token)
    connection = db.engine.connect()
    held = False
    try:
        deadline = time.monotonic() + wait
        while True:
            held = bool(connection.scalar(text("SELECT pg_try_advisory_lock(:key)"), {"key": key}))
            connection.commit()  # a session lock outlives the transaction: no transaction stays open
            if held or time.monotonic() >= deadline:
                break
            time.sleep(_POLL_SECONDS)
        yield held
    finally:
        try:
            if held:
                connection.scalar(text("SELECT pg_advisory_unlock(:key)"), {"key": key})
                connection.commit()
        except Exception:
            # Never hand a connection that may still hold the lock back to the pool.
            connection.invalidate()
            raise
        finally:
            connection.close()
