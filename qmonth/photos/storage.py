"""Where photo and attachment files live in the upload store (qmonth/storage.py).

Files get random names; nothing a user typed reaches a key or the file system. The
store writes each file whole (a temporary name renamed into place locally, one PUT
on S3), so a crash leaves either the whole file or a temporary one the sweeper removes.
"""
from __future__ import annotations

import secrets
from pathlib import Path

from flask import current_app

from ..storage import TEMP_SUFFIX, LocalStorage  # noqa: F401  (TEMP_SUFFIX: for the sweeper and tests)

PHOTO_VARIANTS = ("screen", "print", "thumb")


def new_storage_key() -> str:
    return secrets.token_hex(16)


def _shard(storage_key: str) -> str:
    return storage_key[:2]


def photo_key(storage_key: str, variant: str) -> str:
    if variant not in PHOTO_VARIANTS:
        raise ValueError(variant)
    return f"photos/{_shard(storage_key)}/{storage_key}-{variant}.jpg"


def attachment_key(storage_key: str, extension: str) -> str:
    return f"files/{_shard(storage_key)}/{storage_key}.{extension}"


# The local folder (the default store): paths for tests, benchmarks and local-only tools.

def upload_root() -> Path:
    return Path(current_app.config["UPLOAD_DIR"])


def photo_path(storage_key: str, variant: str) -> Path:
    return upload_root() / photo_key(storage_key, variant)


def attachment_path(storage_key: str, extension: str) -> Path:
    return upload_root() / attachment_key(storage_key, extension)


def write_atomically(path: Path, data: bytes) -> None:
    """Write a local file whole: <name>.<random>.part, fsync, then rename over the final name."""
    LocalStorage(path.parent).put_bytes(path.name, data)
