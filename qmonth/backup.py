"""Backups: a consistent copy of the database and the uploads, and putting one back.

A backup is a folder `qmonth-<UTC time>` holding the database (`qmonth.db` for
SQLite, `qmonth.dump` from pg_dump for PostgreSQL), `uploads/` with the files the
database's rows name, copied out of the upload store (the local folder or the
object store, qmonth/storage.py), and `manifest.json` (row counts per table, every
file with its size and SHA-256). A restore puts the files into whichever store the
app is configured with, so a backup also moves the files from one store to another.
The PDF cache is not backed up: it is rebuilt on demand. It is written under a hidden `.partial` name and renamed
when complete, so a folder with the final name is always whole.

A live SQLite database in WAL mode is never copied as a file: committed pages may
still sit in the -wal file, and a copy made while a worker commits can be torn.
SQLite's online backup API copies one consistent snapshot while the app keeps
writing. Upload files never change once written (each has a random name) and are
written before their row is committed, so the files a snapshot names can be copied
after it; a photo deleted in between leaves its files listed as missing.
"""
from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import sqlite3
import subprocess
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from flask import current_app
from sqlalchemy import inspect, make_url, text

from .extensions import db
from .models import Attachment, Photo
from .photos.storage import PHOTO_VARIANTS, attachment_key, photo_key
from .storage import StorageError, uploads

FORMAT = 1
MANIFEST = "manifest.json"
SQLITE_FILE = "qmonth.db"
POSTGRES_DUMP = "qmonth.dump"
UPLOADS = "uploads"
BACKUP_NAME = re.compile(r"^qmonth-\d{8}-\d{6}Z$")
CHUNK = 1024 * 1024


class BackupError(Exception):
    """Something the operator must see and fix; the message says what."""


@dataclass
class Snapshot:
    """What one consistent view of the database holds."""

    counts: dict[str, int]
    schema_revision: str | None
    upload_paths: list[str] = field(default_factory=list)  # relative to the upload folder


def database_kind() -> str:
    backend = make_url(current_app.config["SQLALCHEMY_DATABASE_URI"]).get_backend_name()
    if backend not in ("sqlite", "postgresql"):
        raise BackupError(f"backups support SQLite and PostgreSQL, not {backend}")
    return backend


# Backup ------------------------------------------------------------------------------

def make_backup(parent: Path, *, now: datetime | None = None) -> tuple[Path, dict]:
    """Write a new backup folder inside `parent`; return it and its manifest."""
    kind = database_kind()
    _require_store()
    stamp = f"qmonth-{(now or datetime.now(timezone.utc)):%Y%m%d-%H%M%S}Z"
    final = parent / stamp
    partial = parent / f".{stamp}.partial"
    if final.exists() or partial.exists():
        raise BackupError(f"{final} already exists: one backup per second at most")
    partial.mkdir(parents=True)
    try:
        if kind == "sqlite":
            snapshot = _sqlite_snapshot(partial / SQLITE_FILE)
            database_file = _file_entry(partial / SQLITE_FILE, SQLITE_FILE)
        else:
            snapshot = _postgres_snapshot(partial / POSTGRES_DUMP)
            database_file = _file_entry(partial / POSTGRES_DUMP, POSTGRES_DUMP)
        try:
            files, missing = _copy_uploads(snapshot.upload_paths, partial / UPLOADS)
        except StorageError as error:
            raise BackupError(f"copying the files out of the store failed: {error}") from None
        manifest = {
            "format": FORMAT,
            "created_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "database": kind,
            "storage": uploads().kind,
            "schema_revision": snapshot.schema_revision,
            "database_file": database_file,
            "counts": snapshot.counts,
            "files": files,
            "missing_files": missing,
        }
        (partial / MANIFEST).write_text(json.dumps(manifest, ensure_ascii=False, indent=1))
        os.sync()  # everything on disk before the folder takes its final name
        partial.rename(final)
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise
    return final, manifest


def _sqlite_database_path() -> Path:
    path = Path(make_url(current_app.config["SQLALCHEMY_DATABASE_URI"]).database or "")
    if not path.name:
        raise BackupError("an in-memory SQLite database cannot be backed up")
    return path


def _sqlite_snapshot(copy: Path) -> Snapshot:
    path = _sqlite_database_path()
    if not path.exists():
        raise BackupError(f"no database at {path}")
    source = sqlite3.connect(path, timeout=30)
    target = sqlite3.connect(copy)
    try:
        # pages=-1: the whole database in one step, under one read transaction, so the
        # copy is a single snapshot; in WAL mode the workers go on writing meanwhile.
        source.backup(target, pages=-1)
    finally:
        source.close()
    try:
        target.execute("PRAGMA journal_mode=DELETE")  # the copy is one self-contained file
        _require_integrity(target, copy)
        return Snapshot(counts=_sqlite_counts(target), schema_revision=_sqlite_revision(target),
                        upload_paths=_upload_paths(target.execute(_KEYS_SQL).fetchall()))
    finally:
        target.close()


_KEYS_SQL = (f"SELECT 'photo', storage_key, NULL FROM {Photo.__tablename__} "
             f"UNION ALL SELECT 'attachment', storage_key, extension FROM {Attachment.__tablename__}")


def _upload_paths(rows) -> list[str]:
    """The store keys of every file the rows name; also their paths under uploads/ in the backup."""
    paths = []
    for kind, key, extension in rows:
        if kind == "photo":
            paths += [photo_key(key, variant) for variant in PHOTO_VARIANTS]
        else:
            paths.append(attachment_key(key, extension))
    return sorted(paths)


def _require_integrity(connection: sqlite3.Connection, path: Path) -> None:
    result = [row[0] for row in connection.execute("PRAGMA integrity_check")]
    if result != ["ok"]:
        raise BackupError(f"{path} fails PRAGMA integrity_check: {'; '.join(result[:5])}")


def _sqlite_counts(connection: sqlite3.Connection) -> dict[str, int]:
    # Virtual tables (the full-text index) cannot always be scanned; their shadow tables are counted.
    tables = [row[0] for row in connection.execute(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' "
        "AND sql NOT LIKE 'CREATE VIRTUAL TABLE%' ORDER BY name")]
    return {table: connection.execute(f'SELECT count(*) FROM "{table}"').fetchone()[0] for table in tables}


def _sqlite_revision(connection: sqlite3.Connection) -> str | None:
    try:
        row = connection.execute("SELECT version_num FROM alembic_version").fetchone()
    except sqlite3.OperationalError:
        return None
    return row[0] if row else None


def _copy_uploads(relative_paths: list[str], target: Path) -> tuple[list[dict], list[str]]:
    store = uploads()
    files, missing = [], []
    for relative in relative_paths:
        try:
            reader = store.open(relative)
        except FileNotFoundError:
            missing.append(relative)
            continue
        destination = target / relative
        destination.parent.mkdir(parents=True, exist_ok=True)
        try:
            files.append(_copy_with_digest(reader, destination, relative))
        finally:
            reader.close()
        local = store.local_path(relative)
        if local is not None:
            shutil.copystat(local, destination)
    return files, missing


def _copy_with_digest(reader, destination: Path, relative: str) -> dict:
    digest = hashlib.sha256()
    size = 0
    with open(destination, "wb") as writer:
        while chunk := reader.read(CHUNK):
            digest.update(chunk)
            writer.write(chunk)
            size += len(chunk)
    return {"path": relative, "bytes": size, "sha256": digest.hexdigest()}


def _file_entry(path: Path, name: str) -> dict:
    return {"path": name, "bytes": path.stat().st_size, "sha256": _sha256_of(path)}


def _sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as reader:
        while chunk := reader.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def prune_backups(parent: Path, keep: int) -> list[Path]:
    """Delete all but the newest `keep` complete backups in `parent`; return what went."""
    complete = sorted(p for p in parent.iterdir()
                      if p.is_dir() and BACKUP_NAME.match(p.name) and (p / MANIFEST).exists())
    doomed = complete[:-keep] if keep > 0 else []
    for folder in doomed:
        shutil.rmtree(folder)
    return doomed


# PostgreSQL ----------------------------------------------------------------------------

def _libpq_environment() -> dict[str, str]:
    """Connection settings for pg_dump and pg_restore as PG* variables, so that the
    password never shows on a command line."""
    url = make_url(current_app.config["SQLALCHEMY_DATABASE_URI"])
    env = dict(os.environ)
    settings = {
        "PGHOST": url.host or url.query.get("host"),
        "PGPORT": str(url.port) if url.port else url.query.get("port"),
        "PGUSER": url.username,
        "PGPASSWORD": url.password,
        "PGDATABASE": url.database,
    }
    env.update({name: str(value) for name, value in settings.items() if value})
    return env


def _pg_tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise BackupError(f"{name} is not installed: apt-get install postgresql-client "
                          f"(the same major version as the server)")
    return path


def _postgres_snapshot(dump: Path) -> Snapshot:
    """pg_dump in the same snapshot as the row counts and the upload list."""
    pg_dump = _pg_tool("pg_dump")
    with db.engine.connect() as connection:
        connection = connection.execution_options(isolation_level="REPEATABLE READ")
        with connection.begin():
            snapshot_id = connection.scalar(text("SELECT pg_export_snapshot()"))
            tables = sorted(inspect(connection).get_table_names())
            counts = {table: connection.scalar(text(f'SELECT count(*) FROM "{table}"')) for table in tables}
            revision = (connection.scalar(text("SELECT version_num FROM alembic_version"))
                        if "alembic_version" in tables else None)
            keys = connection.execute(text(_KEYS_SQL)).all()
            result = subprocess.run(
                [pg_dump, "--format=custom", f"--snapshot={snapshot_id}", "--no-owner", "--no-privileges",
                 f"--file={dump}"], env=_libpq_environment(), capture_output=True, text=True)
    if result.returncode != 0:
        raise BackupError(f"pg_dump failed: {result.stderr.strip()}")
    return Snapshot(counts=counts, schema_revision=revision, upload_paths=_upload_paths(keys))


# Restore -------------------------------------------------------------------------------

def read_manifest(folder: Path) -> dict:
    try:
        manifest = json.loads((folder / MANIFEST).read_text())
    except FileNotFoundError:
        raise BackupError(f"{folder} is not a backup: no {MANIFEST} (give the qmonth-<time> folder)") from None
    if manifest.get("format") != FORMAT:
        raise BackupError(f"{folder}: unknown backup format {manifest.get('format')!r}")
    return manifest


def verify_backup(folder: Path, manifest: dict) -> None:
    """Every file present with the size and checksum the manifest gives, before anything is touched."""
    entries = [(folder, manifest["database_file"])] + [(folder / UPLOADS, entry) for entry in manifest["files"]]
    for base, entry in entries:
        path = base / entry["path"]
        if not path.exists():
            raise BackupError(f"the backup lacks {path}")
        if path.stat().st_size != entry["bytes"] or _sha256_of(path) != entry["sha256"]:
            raise BackupError(f"{path} does not match its checksum: the backup is damaged")


def restore_backup(folder: Path, *, force: bool) -> dict[str, int]:
    """Put a backup into the configured database and upload folder; return the row counts now there."""
    manifest = read_manifest(folder)
    kind = database_kind()
    if manifest["database"] != kind:
        raise BackupError(f"this is a backup of a {manifest['database']} database; "
                          f"the app is configured for {kind}")
    verify_backup(folder, manifest)
    _require_store()  # before the database is replaced, not after
    if kind == "sqlite":
        counts = _restore_sqlite(folder / manifest["database_file"]["path"], force=force)
    else:
        counts = _restore_postgres(folder / manifest["database_file"]["path"], force=force)
    differing = {table: (counts.get(table), wanted) for table, wanted in manifest["counts"].items()
                 if counts.get(table) != wanted}
    if differing:
        raise BackupError(f"row counts after the restore differ from the backup's (now, backup): {differing}")
    try:
        _restore_uploads(folder / UPLOADS, manifest["files"])
    except StorageError as error:
        raise BackupError(f"the database is restored, but putting the files into the store failed "
                          f"({error}); run restore again with --force once the store answers") from None
    return counts


def _require_store() -> None:
    """The upload store must answer before a backup or a restore begins."""
    store = uploads()
    try:
        store.check()
    except StorageError as error:
        raise BackupError(f"the file store {store.describe()} cannot be used: {error}") from None


def _restore_sqlite(copy: Path, *, force: bool) -> dict[str, int]:
    target_path = _sqlite_database_path()
    if target_path.exists() and not force:
        with sqlite3.connect(target_path) as probe:
            has_tables = probe.execute("SELECT count(*) FROM sqlite_master WHERE type = 'table'").fetchone()[0]
        if has_tables:
            raise BackupError(f"{target_path} already holds a database: stop the app, then run "
                              f"restore again with --force to replace it")
    target_path.parent.mkdir(parents=True, exist_ok=True)
    source = sqlite3.connect(copy)
    target = sqlite3.connect(target_path, timeout=30)
    try:
        _require_integrity(source, copy)
        # Through SQLite rather than a file copy: the target's -wal and -shm files, if
        # any, stay consistent with what is written.
        source.backup(target)
        _require_integrity(target, target_path)
        return _sqlite_counts(target)
    finally:
        source.close()
        target.close()


def _restore_postgres(dump: Path, *, force: bool) -> dict[str, int]:
    pg_restore = _pg_tool("pg_restore")
    if inspect(db.engine).get_table_names() and not force:
        raise BackupError("the configured PostgreSQL database already holds tables: stop the app, "
                          "then run restore again with --force to replace them")
    # No connection of ours may hold locks on the tables being replaced.
    db.session.remove()
    db.engine.dispose()
    env = _libpq_environment()
    # A connection still open elsewhere (the app left running) would make DROP TABLE wait for ever.
    env["PGOPTIONS"] = f"{env.get('PGOPTIONS', '')} -c lock_timeout=30s".strip()
    result = subprocess.run(
        [pg_restore, "--clean", "--if-exists", "--no-owner", "--no-privileges", "--single-transaction",
         f"--dbname={env['PGDATABASE']}", str(dump)], env=env, capture_output=True, text=True)
    if result.returncode != 0:
        hint = " (is the app still running?)" if "lock timeout" in result.stderr else ""
        raise BackupError(f"pg_restore failed{hint}: {result.stderr.strip()}")
    with db.engine.connect() as connection:
        tables = sorted(inspect(connection).get_table_names())
        return {table: connection.scalar(text(f'SELECT count(*) FROM "{table}"')) for table in tables}


def _restore_uploads(source: Path, files: list[dict]) -> None:
    store = uploads()
    for entry in files:
        key = entry["path"]
        if store.size(key) == entry["bytes"] and _stored_sha256(store, key) == entry["sha256"]:
            continue
        # A temporary file first, put into the store whole: a restore cut short leaves whole
        # files or temporary ones the sweeper removes.
        temporary = store.scratch_path(key)
        shutil.copy2(source / key, temporary)
        store.put_file(key, temporary)


def _stored_sha256(store, key: str) -> str | None:
    digest = hashlib.sha256()
    try:
        reader = store.open(key)
    except FileNotFoundError:
        return None
    try:
        while chunk := reader.read(CHUNK):
            digest.update(chunk)
    finally:
        reader.close()
    return digest.hexdigest()
