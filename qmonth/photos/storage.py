"""Where photo and attachment files live under the upload folder.

Files get random names; nothing a user typed reaches the file system. Each file
is written to a temporary name in the same folder and renamed into place, so a
crash leaves either the whole file or a temporary one the sweeper removes.
"""
from __future__ import annotations

import os
import secrets
from pathlib import Path

from flask import current_app

PHOTO_VARIANTS = ("screen", "print", "thumb")
TEMP_SUFFIX = ".part"


def upload_root() -> Path:
    return Path(current_app.config["UPLOAD_DIR"])


def new_storage_key() -> str:
    return secrets.token_hex(16)


def _shard(storage_key: str) -> str:
    return storage_key[:2]


def photo_path(storage_key: str, variant: str) -> Path:
    if variant not in PHOTO_VARIANTS:
        raise ValueError(variant)
    return upload_root() / "photos" / _shard(storage_key) / f"{storage_key}-{variant}.jpg"


def attachment_path(storage_key: str, extension: str) -> Path:
    return upload_root() / "files" / _shard(storage_key) / f"{storage_key}.{extension}"


def write_atomically(path: Path, data: bytes) -> None:
    """Write to <name>.<random>.part, fsync, then rename over the final name."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temp = path.with_name(f"{path.name}.{secrets.token_hex(4)}{TEMP_SUFFIX}")
    with open(temp, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temp, path)


def move_into_place(temp: Path, path: Path) -> None:
    """Rename an already written temporary file (large uploads stream to disk first)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    os.replace(temp, path)


def temp_path_beside(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    return path.with_name(f"{path.name}.{secrets.token_hex(4)}{TEMP_SUFFIX}")
