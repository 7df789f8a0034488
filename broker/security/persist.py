"""A small JSON document in the data directory, replaced atomically (written aside, synced, renamed)."""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path

log = logging.getLogger("kbroker.security")


def load(path: Path | None) -> dict | None:
    """The document, or None if there is none (or no data directory)."""
    if path is None:
        return None
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None


def save(path: Path | None, document: dict) -> None:
    if path is None:
        return
    tmp = path.with_suffix(".tmp")
    descriptor = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)   # it may hold credentials
    with os.fdopen(descriptor, "w", encoding="utf-8") as out:
        json.dump(document, out, separators=(",", ":"))
        out.flush()
        os.fsync(out.fileno())
    os.replace(tmp, path)
    folder = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(folder)
    finally:
        os.close(folder)
