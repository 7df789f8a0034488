"""Kafka's offset checkpoint files of a data directory.

`log-start-offset-checkpoint` and `cleaner-offset-checkpoint` share Kafka's text format:

    0                       the format version
    2                       the number of entries
    orders 0 1200           topic, partition, offset: one line per entry
    orders 1 800

A file is replaced atomically (temp file, fsync, rename, fsync directory). A missing file
reads as no entries; a malformed one too, with a warning (the offsets are a hint that the
log can do without: the start of the log, or a cleaner that starts from the beginning).
"""

from __future__ import annotations

import logging
import os

from .topics import atomic_write

logger = logging.getLogger(__name__)

LOG_START_OFFSET_CHECKPOINT = "log-start-offset-checkpoint"
CLEANER_OFFSET_CHECKPOINT = "cleaner-offset-checkpoint"
CHECKPOINT_VERSION = 0


def format_checkpoint(offsets: dict[tuple[str, int], int]) -> bytes:
    lines = [str(CHECKPOINT_VERSION), str(len(offsets))]
    lines += [f"{topic} {partition} {offset}" for (topic, partition), offset in sorted(offsets.items())]
    return ("\n".join(lines) + "\n").encode("utf-8")


def parse_checkpoint(text: str) -> dict[tuple[str, int], int]:
    """The entries of a checkpoint file's text; ValueError if it is not Kafka's format."""
    lines = text.splitlines()
    if len(lines) < 2 or lines[0].strip() != str(CHECKPOINT_VERSION):
        raise ValueError("not a version 0 checkpoint")
    count = int(lines[1])
    if count != len(lines) - 2:
        raise ValueError(f"{count} entries announced, {len(lines) - 2} found")
    offsets = {}
    for line in lines[2:]:
        topic, partition, offset = line.split(" ")
        offsets[(topic, int(partition))] = int(offset)
    return offsets


def read_checkpoint(data_dir: str, name: str) -> dict[tuple[str, int], int]:
    path = os.path.join(data_dir, name)
    try:
        with open(path, encoding="utf-8") as file:
            return parse_checkpoint(file.read())
    except FileNotFoundError:
        return {}
    except (OSError, ValueError, UnicodeDecodeError) as exc:
        logger.warning("%s: ignoring a malformed checkpoint: %s", path, exc)
        return {}


def write_checkpoint(data_dir: str, name: str, offsets: dict[tuple[str, int], int]) -> None:
    write_checkpoint_bytes(data_dir, name, format_checkpoint(offsets))


def write_checkpoint_bytes(data_dir: str, name: str, data: bytes) -> None:
    """Replace a checkpoint file with data (made by format_checkpoint), durably. Thread-safe
    as long as one writer at a time writes each file (the temp file has a fixed name)."""
    atomic_write(os.path.join(data_dir, name), data)
