"""Keys and values of the coordinators' records, as Kafka writes them: the group coordinator's in
``__consumer_offsets``, the transaction coordinator's in ``__transaction_state``.

A record key is an int16 version then the key struct; the value likewise. The key's
version tells the record kind: 0 and 1 an offset commit, 2 a classic group's
metadata (Kafka's GroupMetadataKey/Value and OffsetCommitKey/Value specs, in
group-coordinator/src/main/resources/common/message).

Offset commits use key version 1 and value version 3 (offset, leader epoch, metadata,
commit time), or value version 1 when the commit carries an expire time (OffsetCommit
v2-4's retention), as Kafka picks it; a null value (tombstone) deletes the offset. Group metadata uses key
version 2 and value version 3, the highest non-flexible one, which Kafka writes from
IBP 2.3 on (MetadataVersion.groupMetadataValueVersion); a tombstone deletes the group.

A transactional id's state is a TransactionLogKey (version 0: the id) and a TransactionLogValue
(transaction-coordinator/src/main/resources/common/message). Kafka writes value version 0 until
the ``transaction.version`` feature is 1 or more, as it is here; version 1 adds tagged fields
and is read too. A tombstone forgets the id (transactional.id.expiration.ms).
"""

import struct

from kproto.errors import DecodeError
from kproto.schema import Array, Bytes, Int8, Int16, Int32, Int64, Schema, String, field

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

GROUP_METADATA_KEY = Schema("GroupMetadataKey", versions="2", flexible="none", fields=[
    field("group", String, "2"),
])

GROUP_METADATA_VALUE = Schema("GroupMetadataValue", versions="0-4", flexible="4+", fields=[
    field("protocol_type", String),
    field("generation", Int32),
    field("protocol", String, nullable="0+"),
    field("leader", String, nullable="0+"),
    field("current_state_timestamp", Int64, "2+", default=-1),
    field("members", Array([
        field("member_id", String),
        field("group_instance_id", String, "3+", nullable="3+", default=None),
        field("client_id", String),
        field("client_host", String),
        field("rebalance_timeout", Int32, "1+", default=-1),
        field("session_timeout", Int32),
        field("subscription", Bytes),
        field("assignment", Bytes),
    ])),
])

TRANSACTION_LOG_KEY = Schema("TransactionLogKey", versions="0", flexible="none", fields=[
    field("transactional_id", String, "0"),
])

TRANSACTION_LOG_VALUE = Schema("TransactionLogValue", versions="0-1", flexible="1+", fields=[
    field("producer_id", Int64),
    field("previous_producer_id", Int64, "1+", tag=0, default=-1),
    field("next_producer_id", Int64, "1+", tag=1, default=-1),
    field("producer_epoch", Int16),
    field("transaction_timeout_ms", Int32),
    field("transaction_status", Int8),
    field("transaction_partitions", Array([
        field("topic", String),
        field("partition_ids", Array(Int32)),
    ]), nullable="0+"),
    field("transaction_last_update_timestamp_ms", Int64),
    field("transaction_start_timestamp_ms", Int64),
    field("client_transaction_version", Int16, "1+", tag=2, default=0),
])

OFFSET_KEY_VERSION = 1
OFFSET_VALUE_VERSION = 3
OFFSET_VALUE_VERSION_WITH_EXPIRY = 1
GROUP_METADATA_KEY_VERSION = 2
GROUP_METADATA_VALUE_VERSION = 3
TRANSACTION_LOG_KEY_VERSION = 0
TRANSACTION_LOG_VALUE_VERSION = 0

_VERSION = struct.Struct(">h")   # the int16 version every key and value starts with


def encode_versioned(schema: Schema, obj: dict, version: int) -> bytes:
    """A key or value: its version, then ``obj`` as ``schema`` at that version."""
    return _VERSION.pack(version) + schema.build(obj, version)


def encode_offset_key(group: str, topic: str, partition: int) -> bytes:
    return encode_versioned(OFFSET_COMMIT_KEY, {"group": group, "topic": topic, "partition": partition},
                            OFFSET_KEY_VERSION)


def encode_offset_value(offset: int, leader_epoch: int, metadata: str, commit_timestamp: int,
                        expire_timestamp: int = -1) -> bytes:
    """An OffsetCommitValue as Kafka writes it: version 3, or version 1 (which has no leader
    epoch) when ``expire_timestamp`` is set (not -1)."""
    if expire_timestamp < 0:
        return encode_versioned(OFFSET_COMMIT_VALUE, {
            "offset": offset, "leader_epoch": leader_epoch, "metadata": metadata,
            "commit_timestamp": commit_timestamp}, OFFSET_VALUE_VERSION)
    return encode_versioned(OFFSET_COMMIT_VALUE, {
        "offset": offset, "metadata": metadata, "commit_timestamp": commit_timestamp,
        "expire_timestamp": expire_timestamp}, OFFSET_VALUE_VERSION_WITH_EXPIRY)


def encode_group_metadata_key(group: str) -> bytes:
    return encode_versioned(GROUP_METADATA_KEY, {"group": group}, GROUP_METADATA_KEY_VERSION)


def encode_group_metadata_value(value: dict, version: int = GROUP_METADATA_VALUE_VERSION) -> bytes:
    """``value``: a GroupMetadataValue (protocol_type, generation, protocol, leader,
    current_state_timestamp, members); fields a version lacks are left out."""
    return encode_versioned(GROUP_METADATA_VALUE, value, version)


def decode_group_metadata_key(data: bytes) -> str:
    return decode_versioned(data, GROUP_METADATA_KEY)[1]["group"]


def decode_group_metadata_value(data: bytes) -> dict:
    """Any version 0-4; fields it lacks have their defaults (current_state_timestamp
    -1, rebalance_timeout -1, group_instance_id None)."""
    return decode_versioned(data, GROUP_METADATA_VALUE)[1]


def encode_transaction_log_key(transactional_id: str) -> bytes:
    return encode_versioned(TRANSACTION_LOG_KEY, {"transactional_id": transactional_id}, TRANSACTION_LOG_KEY_VERSION)


def encode_transaction_log_value(value: dict, version: int = TRANSACTION_LOG_VALUE_VERSION) -> bytes:
    """``value``: a TransactionLogValue (producer_id, producer_epoch, transaction_timeout_ms,
    transaction_status, transaction_partitions (None for an Empty one), the two timestamps)."""
    return encode_versioned(TRANSACTION_LOG_VALUE, value, version)


def decode_transaction_log_key(data: bytes) -> str:
    return decode_versioned(data, TRANSACTION_LOG_KEY)[1]["transactional_id"]


def decode_transaction_log_value(data: bytes) -> dict:
    """Version 0 or 1; the tagged fields version 0 lacks have their defaults."""
    return decode_versioned(data, TRANSACTION_LOG_VALUE)[1]


def decode_versioned(data: bytes, schema: Schema) -> tuple[int, dict]:
    """(version, struct) of a versioned key or value."""
    if len(data) < 2:
        raise DecodeError("record shorter than its version")
    version = _VERSION.unpack_from(data)[0]
    if version not in schema.versions:
        raise DecodeError(f"{schema.name} version {version} unknown")
    return version, schema.parse(data[2:], version)


def key_version(data: bytes) -> int:
    if len(data) < 2:
        raise DecodeError("record key shorter than its version")
    return _VERSION.unpack_from(data)[0]
