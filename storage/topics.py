"""Topic names, topic ids, and the small metadata files of a data directory.

`<data_dir>/kbroker-topics.json`, replaced atomically (temp file, fsync, rename, fsync dir):
  {"version": 1, "topics": [{"name": str, "topic_id": "<uuid, canonical form>",
   "num_partitions": int, "configs": {key: value}, "internal": bool}, ...]}
  the snapshot; the changes since are in `kbroker-topics.journal` (topics_journal.py)
`<data_dir>/<topic>-<partition>/partition.metadata`, in Kafka's format:
  version: 0
  topic_id: <the 16 id bytes in URL-safe base64 without padding>
"""

from __future__ import annotations

import base64
import json
import os
import re
import uuid
from dataclasses import dataclass, field

from .errors import InvalidTopicError, StorageError

TOPICS_FILE = "kbroker-topics.json"
TOPICS_FILE_VERSION = 1
PARTITION_METADATA_FILE = "partition.metadata"
MAX_TOPIC_NAME_LENGTH = 249

_TOPIC_NAME = re.compile(r"[a-zA-Z0-9._-]+\Z")


@dataclass
class TopicInfo:
    name: str
    topic_id: uuid.UUID
    num_partitions: int
    configs: dict[str, str] = field(default_factory=dict)
    internal: bool = False


def validate_topic_name(name: str) -> None:
    """Kafka's rule: 1..249 characters of [a-zA-Z0-9._-], not "." or ".."; InvalidTopicError."""
    if not isinstance(name, str) or not name:
        raise InvalidTopicError("topic name is empty")
    if name in (".", ".."):
        raise InvalidTopicError(f"topic name cannot be {name!r}")
    if len(name) > MAX_TOPIC_NAME_LENGTH:
        raise InvalidTopicError(f"topic name is longer than {MAX_TOPIC_NAME_LENGTH} characters")
    if not _TOPIC_NAME.match(name):
        raise InvalidTopicError(f"topic name {name!r} has characters other than ASCII letters, digits, '.', '_', '-'")


def colliding_name(name: str) -> str:
    """Kafka refuses two topics whose names differ only by '.' versus '_' (metric names clash)."""
    return name.replace(".", "_")


def new_topic_id() -> uuid.UUID:
    """A random id as Kafka makes them: never zero, never 1, never starting with '-' in base64."""
    while True:
        topic_id = uuid.uuid4()
        if topic_id.int > 1 and not kafka_uuid_string(topic_id).startswith("-"):
            return topic_id


def kafka_uuid_string(topic_id: uuid.UUID) -> str:
    """Kafka's text form of a Uuid: URL-safe base64 of the 16 bytes, no padding."""
    return base64.urlsafe_b64encode(topic_id.bytes).rstrip(b"=").decode("ascii")


def parse_kafka_uuid(text: str) -> uuid.UUID:
    raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    if len(raw) != 16:
        raise ValueError(f"{text!r} is not a 16-byte id")
    return uuid.UUID(bytes=raw)


# ---------------------------------------------------------------- files


def fsync_dir(path: str) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def atomic_write(path: str, data: bytes, durable: bool = True) -> None:
    """Replace path with data: write a temp file, rename it over; ``durable`` also fsyncs
    the file before the rename and the directory after it."""
    directory = os.path.dirname(path) or "."
    temp = f"{path}.tmp"
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    try:
        view = memoryview(data)
        written = 0
        while written < len(view):
            written += os.write(fd, view[written:])
        if durable:
            os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(temp, path)
    if durable:
        fsync_dir(directory)


def topic_entry(info: TopicInfo) -> dict:
    """A topic as the topics file and its journal write it."""
    return {"name": info.name, "topic_id": str(info.topic_id), "num_partitions": info.num_partitions,
            "configs": dict(info.configs), "internal": info.internal}


def topic_from_entry(item: dict) -> TopicInfo:
    """topic_entry's inverse; KeyError, TypeError, ValueError or AttributeError if malformed."""
    return TopicInfo(
        name=item["name"],
        topic_id=uuid.UUID(item["topic_id"]),
        num_partitions=int(item["num_partitions"]),
        configs={str(k): str(v) for k, v in item["configs"].items()},
        internal=bool(item["internal"]),
    )


def write_topics_file(data_dir: str, topics: list[TopicInfo]) -> None:
    """Write the topics file, one topic a line (the snapshot of topics_journal.py)."""
    lines = [json.dumps(topic_entry(info), sort_keys=True) for info in topics]
    text = '{"topics": [\n' + ",\n".join(lines) + f'\n], "version": {TOPICS_FILE_VERSION}}}\n'
    atomic_write(os.path.join(data_dir, TOPICS_FILE), text.encode())


def read_topics_file(data_dir: str) -> list[TopicInfo]:
    """The topics of a data directory ([] if it has no topics file); StorageError if unreadable."""
    path = os.path.join(data_dir, TOPICS_FILE)
    try:
        with open(path, "rb") as file:
            document = json.loads(file.read())
    except FileNotFoundError:
        return []
    except ValueError as exc:
        raise StorageError(f"{path} is not valid JSON: {exc}") from exc
    if not isinstance(document, dict) or document.get("version") != TOPICS_FILE_VERSION:
        raise StorageError(f"{path}: unknown topics file version")
    try:
        return [topic_from_entry(item) for item in document["topics"]]
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise StorageError(f"{path}: malformed topic entry: {exc}") from exc


def partition_dir_name(topic: str, partition: int) -> str:
    return f"{topic}-{partition}"


def write_partition_metadata(directory: str, topic_id: uuid.UUID) -> None:
    """Written atomically but not fsynced: the topics file (fsynced) is the record of which
    topics exist, and a partition.metadata lost in a crash is written again on open."""
    text = f"version: 0\ntopic_id: {kafka_uuid_string(topic_id)}\n"
    atomic_write(os.path.join(directory, PARTITION_METADATA_FILE), text.encode("ascii"), durable=False)


def read_partition_metadata(directory: str) -> uuid.UUID | None:
    """The topic id of a partition directory; None if it has no (readable) partition.metadata."""
    try:
        with open(os.path.join(directory, PARTITION_METADATA_FILE), encoding="ascii") as file:
            lines = file.read().splitlines()
    except (FileNotFoundError, UnicodeDecodeError):
        return None
    fields = dict(line.split(": ", 1) for line in lines if ": " in line)
    if fields.get("version") != "0" or "topic_id" not in fields:
        return None
    try:
        return parse_kafka_uuid(fields["topic_id"].strip())
    except ValueError:
        return None
