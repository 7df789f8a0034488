"""Keys and values of the group coordinator's records in ``__consumer_offsets``, as Kafka writes them.

A record key is an int16 version then the key struct; the value likewise. Offset
commits use key version 1 and value version 3 (offset, leader epoch, metadata,
commit time); a null value (tombstone) deletes the offset.
"""

from kproto._wire import pack_i16, unpack_i16
from kproto.errors import DecodeError
from kproto.schema import Int32, Int64, Schema, String, field

OFFSET_COMMIT_KEY = Schema("OffsetCommitKey", versions="0-1", flexible="none", fields=[
    field("group", String),
    field("topic", String),
    field("partition", Int32),
])

OFFSET_COMMIT_VALUE = Schema("OffsetCommitValue", versions="0-4", flexible="4+", fields=[
    field("offset", Int64),
    field("leader_epoch", Int32, "3+", default=-1),
    field("metadata", String),
    field("commit_timestamp", Int64),
    field("expire_timestamp", Int64, "1", default=-1),
])

OFFSET_KEY_VERSION = 1
OFFSET_VALUE_VERSION = 3


def encode_offset_key(group: str, topic: str, partition: int) -> bytes:
    return pack_i16(OFFSET_KEY_VERSION) + OFFSET_COMMIT_KEY.build(
        {"group": group, "topic": topic, "partition": partition}, OFFSET_KEY_VERSION)


def encode_offset_value(offset: int, leader_epoch: int, metadata: str, commit_timestamp: int) -> bytes:
    return pack_i16(OFFSET_VALUE_VERSION) + OFFSET_COMMIT_VALUE.build(
        {"offset": offset, "leader_epoch": leader_epoch, "metadata": metadata,
         "commit_timestamp": commit_timestamp}, OFFSET_VALUE_VERSION)


def decode_versioned(data: bytes, schema: Schema) -> tuple[int, dict]:
    """(version, struct) of a versioned key or value."""
    if len(data) < 2:
        raise DecodeError("record shorter than its version")
    version = unpack_i16(data[:2])[0]
    if version not in schema.versions:
        raise DecodeError(f"{schema.name} version {version} unknown")
    return version, schema.parse(data[2:], version)


def key_version(data: bytes) -> int:
    if len(data) < 2:
        raise DecodeError("record key shorter than its version")
    return unpack_i16(data[:2])[0]
