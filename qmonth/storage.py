"""Where files live: a local folder (the default) or an S3-compatible object store.

Every file the app keeps goes through one of two stores, each with the same small
interface (put, open, exists, delete, list):

* `uploads()`: photos and attachments, keyed like "photos/ab/<key>-screen.jpg";
  locally under UPLOAD_DIR (instance/uploads), on S3 under "uploads/" in the bucket.
* `pdf_cache()`: rendered PDFs, keyed "<fingerprint>.pdf"; locally under
  instance/cache/reports, on S3 under "cache/reports/".

Keys are made by the app (random hex, fixed folder names), never from user input.
With STORAGE = "s3" several web machines share the files without a shared disk.
Files are served by streaming them through the app rather than by redirecting to a
presigned URL: office and phone browsers on the intranet may not reach the object
store at all, and the app's access checks and headers then apply to every byte.
"""
from __future__ import annotations

import os
import secrets
import shutil
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Iterator

from flask import Flask, Response, current_app, request, send_file

TEMP_SUFFIX = ".part"
STORAGE_KINDS = ("local", "s3")
CHECKSUM_MODES = ("when_required", "when_supported")
UPLOADS_PREFIX = "uploads/"
CACHE_PREFIX = "cache/reports/"
_EXTENSION = "qmonth.storage"


# Below this much free space the upload folder's disk counts as full for /healthz: a phone photo
# is 3-6 MB, and its three copies and a PDF or two need a few times that.
LOCAL_FREE_BYTES_MIN = 64 * 1024 * 1024


class StorageError(Exception):
    """The store cannot be reached or refused a request; the message says which and why."""


class StorageConfigError(ValueError):
    """Settings that cannot work (an unknown STORAGE, S3 without a bucket...)."""


@dataclass(frozen=True)
class StoredObject:
    key: str
    size: int
    modified: float  # seconds since the epoch


# The local folder ---------------------------------------------------------------------

class LocalStorage:
    """Files in a folder; each written under a temporary name and renamed into place, so a
    crash leaves either the whole file or a temporary one the sweeper removes."""

    kind = "local"

    def __init__(self, root: str | Path):
        self.root = Path(root)

    def __repr__(self) -> str:
        return f"LocalStorage({str(self.root)!r})"

    def path(self, key: str) -> Path:
        return self.root / _checked(key)

    def local_path(self, key: str) -> Path | None:
        """The file itself (local stores only): lets callers hand it to send_file or WeasyPrint."""
        return self.path(key)

    def scratch_path(self, key: str) -> Path:
        """A temporary file beside where `key` will live, so put_file is a rename."""
        final = self.path(key)
        final.parent.mkdir(parents=True, exist_ok=True)
        return final.with_name(f"{final.name}.{secrets.token_hex(4)}{TEMP_SUFFIX}")

    def put_bytes(self, key: str, data: bytes) -> None:
        path = self.path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        temp = path.with_name(f"{path.name}.{secrets.token_hex(4)}{TEMP_SUFFIX}")
        try:
            with open(temp, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(temp, path)
        finally:
            temp.unlink(missing_ok=True)

    def put_file(self, key: str, source: Path) -> None:
        """Move an already written file (from scratch_path) into place; the source is gone after."""
        path = self.path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        os.replace(source, path)

    def open(self, key: str) -> IO[bytes]:
        """The file for reading; FileNotFoundError when there is none."""
        return open(self.path(key), "rb")

    def read_bytes(self, key: str) -> bytes:
        return self.path(key).read_bytes()

    def exists(self, key: str) -> bool:
        return self.path(key).is_file()

    def size(self, key: str) -> int | None:
        try:
            return self.path(key).stat().st_size
        except FileNotFoundError:
            return None

    def delete(self, key: str) -> None:
        self.path(key).unlink(missing_ok=True)

    def list(self, prefix: str = "") -> Iterator[StoredObject]:
        """Every file under `prefix`, temporary ones included (the sweeper wants those)."""
        base = self.root / prefix if prefix else self.root
        if not base.is_dir():
            return
        for path in base.rglob("*"):
            try:
                if not path.is_file():
                    continue
                stat = path.stat()
            except FileNotFoundError:
                continue
            yield StoredObject(path.relative_to(self.root).as_posix(), stat.st_size, stat.st_mtime)

    def check(self) -> None:
        if not self.root.is_dir() or not os.access(self.root, os.W_OK | os.X_OK):
            raise StorageError(f"{self.root} is not a writable folder")
        if shutil.disk_usage(self.root).free < LOCAL_FREE_BYTES_MIN:
            raise StorageError(f"{self.root}: its disk is full")

    def describe(self) -> str:
        return str(self.root)


# S3-compatible object storage ---------------------------------------------------------

class S3Storage:
    """Objects in one bucket under a prefix, through boto3 (path-style addressing, SigV4).

    The client is the process's (see shared_s3_client), asked for at each use rather than kept
    here: gunicorn --preload forks workers after create_app, and each must open its own
    connections.
    """

    kind = "s3"

    def __init__(self, settings: dict, prefix: str, scratch_dir: Path):
        self.settings = settings
        self.bucket = settings["bucket"]
        self.prefix = prefix
        self.scratch_dir = Path(scratch_dir)

    def __repr__(self) -> str:
        return f"S3Storage({self.settings['endpoint']!r}, {self.bucket!r}, {self.prefix!r})"

    @property
    def client(self):
        return shared_s3_client(self.settings)

    def _key(self, key: str) -> str:
        return self.prefix + _checked(key)

    def local_path(self, key: str) -> Path | None:
        return None

    def scratch_path(self, key: str) -> Path:
        """A local temporary file (under the upload folder) to stream a large upload into first."""
        folder = self.scratch_dir / "scratch"
        folder.mkdir(parents=True, exist_ok=True)
        return folder / f"{_checked(key).replace('/', '-')}.{secrets.token_hex(4)}{TEMP_SUFFIX}"

    def put_bytes(self, key: str, data: bytes) -> None:
        # One PUT: the object appears whole or not at all, as a rename does locally.
        self._call(self.client.put_object, Bucket=self.bucket, Key=self._key(key), Body=data)

    def put_file(self, key: str, source: Path) -> None:
        """Upload a local file (multipart when large), then remove it."""
        from boto3.s3.transfer import TransferConfig

        try:
            self._call(self.client.upload_file, str(source), self.bucket, self._key(key),
                       Config=TransferConfig(multipart_threshold=16 * 1024 * 1024, use_threads=False))
        finally:
            Path(source).unlink(missing_ok=True)

    def open(self, key: str):
        """A stream of the object's bytes (`.size` says how many); FileNotFoundError when absent."""
        answer = self._call(self.client.get_object, Bucket=self.bucket, Key=self._key(key))
        body = answer["Body"]
        body.size = answer.get("ContentLength")
        return body

    def read_bytes(self, key: str) -> bytes:
        body = self.open(key)
        try:
            return body.read()
        finally:
            body.close()

    def size(self, key: str) -> int | None:
        try:
            answer = self._call(self.client.head_object, Bucket=self.bucket, Key=self._key(key))
        except FileNotFoundError:
            return None
        return answer["ContentLength"]

    def exists(self, key: str) -> bool:
        return self.size(key) is not None

    def delete(self, key: str) -> None:
        self._call(self.client.delete_object, Bucket=self.bucket, Key=self._key(key))

    def list(self, prefix: str = "") -> Iterator[StoredObject]:
        paginator = self.client.get_paginator("list_objects_v2")
        try:
            for page in paginator.paginate(Bucket=self.bucket, Prefix=self.prefix + prefix):
                for item in page.get("Contents", []):
                    yield StoredObject(item["Key"][len(self.prefix):], item["Size"],
                                       item["LastModified"].timestamp())
        except Exception as error:
            raise _storage_error(error) from error

    def check(self) -> None:
        self._call(self.client.head_bucket, Bucket=self.bucket)

    def describe(self) -> str:
        return f"{self.settings['endpoint']}/{self.bucket}/{self.prefix}"

    def _call(self, method, *args, **kwargs):
        try:
            return method(*args, **kwargs)
        except Exception as error:
            raise _storage_error(error) from error


def _storage_error(error: Exception) -> Exception:
    """NoSuchKey and 404 become FileNotFoundError, as for a local file; the rest StorageError."""
    from boto3.exceptions import Boto3Error
    from botocore.exceptions import BotoCoreError, ClientError

    if isinstance(error, ClientError):
        code = str(error.response.get("Error", {}).get("Code", ""))
        if code in ("NoSuchKey", "404", "NotFound"):
            return FileNotFoundError(code)
        return StorageError(f"object storage refused the request: {code} {error}")
    if isinstance(error, BotoCoreError):
        return StorageError(f"object storage unreachable: {error}")
    if isinstance(error, Boto3Error):
        # upload_file's S3UploadFailedError, which wraps the refusal it met (a full store, a wrong
        # key): it answered the upload of a photo piece, a file or a PDF with a 500.
        return StorageError(f"object storage refused the upload: {error}")
    if isinstance(error, (FileNotFoundError, StorageError)):
        return error
    if isinstance(error, OSError):
        return StorageError(f"object storage failed: {error}")
    return error


# Clients by (process, connection settings): see shared_s3_client.
_shared_clients: dict[tuple, object] = {}
_shared_clients_lock = threading.Lock()
CLIENT_SETTINGS = ("endpoint", "region", "access_key", "secret_key", "checksums")


def shared_s3_client(settings: dict):
    """The process's client for these connection settings, made on first use.

    Making a client reads botocore's service model from JSON files: 20-40 ms of CPU, paid by
    every app a process builds (each test's, each CLI command's) and every store of the app.
    A boto3 client is thread-safe, so one serves them all. The process id is part of the key:
    a worker forked after create_app (gunicorn --preload) must open its own connections.
    """
    key = (os.getpid(), *(settings[name] for name in CLIENT_SETTINGS))
    client = _shared_clients.get(key)
    if client is None:
        with _shared_clients_lock:
            client = _shared_clients.get(key)
            if client is None:
                client = _shared_clients[key] = make_s3_client(settings)
    return client


def make_s3_client(settings: dict):
    """A boto3 S3 client for an S3-compatible store (MinIO, Ceph RGW, SeaweedFS, a cloud OSS)."""
    import boto3
    from botocore.config import Config

    config = Config(
        signature_version="s3v4",
        # Path-style: http://host:port/bucket/key. Virtual-host style needs a DNS name per bucket,
        # which an intranet store seldom has.
        s3={"addressing_style": "path"},
        # botocore 1.36 began sending CRC checksums on every upload and checking them on
        # downloads; many S3-compatible stores reject or omit them. "when_required" sends them
        # only where the API demands it.
        request_checksum_calculation=settings["checksums"],
        response_checksum_validation=settings["checksums"],
        connect_timeout=3,
        read_timeout=60,
        retries={"max_attempts": 3, "mode": "standard"},
    )
    return boto3.session.Session().client(
        "s3", endpoint_url=settings["endpoint"], region_name=settings["region"],
        aws_access_key_id=settings["access_key"], aws_secret_access_key=settings["secret_key"], config=config)


# Settings and the app's stores ----------------------------------------------------------

def s3_settings(config) -> dict:
    """The S3_* settings, checked; StorageConfigError names what is missing or wrong."""
    settings = {
        "endpoint": str(config.get("S3_ENDPOINT") or "").strip(),
        "bucket": str(config.get("S3_BUCKET") or "").strip(),
        "access_key": str(config.get("S3_ACCESS_KEY") or ""),
        "secret_key": str(config.get("S3_SECRET_KEY") or ""),
        "region": str(config.get("S3_REGION") or "us-east-1").strip(),
        "checksums": str(config.get("S3_CHECKSUMS") or "when_required").strip(),
        "prefix": str(config.get("S3_PREFIX") or "").strip().strip("/"),
    }
    missing = [f"QMONTH_S3_{name.upper()}" for name in ("endpoint", "bucket", "access_key", "secret_key")
               if not settings[name]]
    if missing:
        raise StorageConfigError(f"STORAGE=s3 needs {', '.join(missing)}")
    if not settings["endpoint"].startswith(("http://", "https://")):
        raise StorageConfigError(f"QMONTH_S3_ENDPOINT must be an http:// or https:// URL, not {settings['endpoint']!r}")
    if settings["checksums"] not in CHECKSUM_MODES:
        raise StorageConfigError(f"QMONTH_S3_CHECKSUMS must be one of {', '.join(CHECKSUM_MODES)}")
    return settings


def storage_kind(config) -> str:
    kind = str(config.get("STORAGE") or "local").strip().lower()
    if kind not in STORAGE_KINDS:
        raise StorageConfigError(f"QMONTH_STORAGE must be one of {', '.join(STORAGE_KINDS)}, not {kind!r}")
    return kind


def init_app(app: Flask) -> None:
    """Check the settings at start (a typo must not wait for the first upload) and make the
    two stores; nothing connects yet."""
    upload_dir = Path(app.config["UPLOAD_DIR"])
    upload_dir.mkdir(parents=True, exist_ok=True)
    if storage_kind(app.config) == "s3":
        settings = s3_settings(app.config)
        base = f"{settings['prefix']}/" if settings["prefix"] else ""
        stores = {"uploads": S3Storage(settings, base + UPLOADS_PREFIX, upload_dir),
                  "cache": S3Storage(settings, base + CACHE_PREFIX, upload_dir)}
    else:
        stores = {"uploads": LocalStorage(upload_dir),
                  "cache": LocalStorage(Path(app.instance_path) / "cache" / "reports")}
    app.extensions[_EXTENSION] = stores


def uploads(app: Flask | None = None):
    """The store of photos and attachments."""
    return (app or current_app).extensions[_EXTENSION]["uploads"]


def pdf_cache(app: Flask | None = None):
    """The store of rendered PDFs."""
    return (app or current_app).extensions[_EXTENSION]["cache"]


def health(app: Flask | None = None) -> str:
    """"ok" when the upload store answers, else "unavailable"."""
    try:
        uploads(app).check()
    except Exception:  # any failure means "not healthy"
        return "unavailable"
    return "ok"


# Serving -------------------------------------------------------------------------------------

def send_stored(store, key: str, *, mimetype: str, etag: str | None = None, max_age: int | None = None,
                as_attachment: bool = False, download_name: str | None = None) -> Response | None:
    """A response streaming the stored file, or None when there is none (the view answers 404).

    Local files go through send_file as before (ranges, conditional requests). Objects are
    streamed from the store in chunks, never read whole; a matching If-None-Match is
    answered 304 without fetching the object.
    """
    conditional = etag is not None
    local = store.local_path(key)
    if local is not None:
        if not local.is_file():
            return None
        return send_file(local, mimetype=mimetype, etag=etag if conditional else False, conditional=conditional,
                         max_age=max_age, as_attachment=as_attachment, download_name=download_name)
    if conditional and request.if_none_match.contains_weak(etag):
        response = Response(status=304)
        response.set_etag(etag)
        return response
    try:
        body = store.open(key)
    except FileNotFoundError:
        return None
    response = send_file(body, mimetype=mimetype, etag=etag if conditional else False, conditional=conditional,
                         max_age=max_age, as_attachment=as_attachment, download_name=download_name)
    if response.status_code == 200 and getattr(body, "size", None) is not None:
        response.content_length = body.size
    return response


def _checked(key: str) -> str:
    """Keys are made by the app; anything that could leave the store's folder is a bug."""
    if not key or key.startswith("/") or "\\" in key or any(part in ("", ".", "..") for part in key.split("/")):
        raise ValueError(f"bad storage key {key!r}")
    return key
