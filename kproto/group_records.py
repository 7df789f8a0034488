"""Records of KIP-848 consumer groups and KIP-932 share groups in ``__consumer_offsets``, and
of share-partition state in ``__share_group_state``, as Kafka's coordinators write them.

Like the classic records (coordinator_records.py) a key is an int16 version then the key
struct, and that version names the record type; a value is an int16 version then the
value struct (every value here is version 0, flexible). A null value is a tombstone.
Kafka's specs: group-coordinator/src/main/resources/common/message (ConsumerGroup*,
ShareGroup*) and share-coordinator/src/main/resources/common/message (ShareSnapshot,
ShareUpdate).

Key versions (record types) in ``__consumer_offsets``:
  3 ConsumerGroupMetadata                4 ConsumerGroupPartitionMetadata
  5 ConsumerGroupMemberMetadata          6 ConsumerGroupTargetAssignmentMetadata
  7 ConsumerGroupTargetAssignmentMember  8 ConsumerGroupCurrentMemberAssignment
  10 ShareGroupMemberMetadata            11 ShareGroupMetadata
  12 ShareGroupTargetAssignmentMetadata  13 ShareGroupTargetAssignmentMember
  14 ShareGroupCurrentMemberAssignment
and in ``__share_group_state``: 0 ShareSnapshot, 1 ShareUpdate.
"""

from __future__ import annotations

from kproto.coordinator_records import decode_versioned, encode_versioned, key_version
from kproto.errors import DecodeError
from kproto.schema import Array, Bytes, Int8, Int16, Int32, Int64, Schema, String, Struct, Uuid, field

__all__ = ["KEYS", "VALUES", "encode_key", "encode_value", "decode_key", "decode_value", "key_version"]


def _key(name: str, version: int, *names: str) -> Schema:
    types = {"topic_id": Uuid, "partition": Int32}
    return Schema(name, versions=str(version), flexible="none",
                  fields=[field(n, types.get(n, String), str(version)) for n in ("group_id", *names)])


def _value(name: str, fields: list) -> Schema:
    return Schema(name, versions="0", flexible="0+", fields=fields)


_TOPIC_PARTITIONS = Array([field("topic_id", Uuid), field("partitions", Array(Int32))])

CONSUMER_GROUP_METADATA = 3
CONSUMER_GROUP_PARTITION_METADATA = 4
CONSUMER_GROUP_MEMBER_METADATA = 5
CONSUMER_GROUP_TARGET_ASSIGNMENT_METADATA = 6
CONSUMER_GROUP_TARGET_ASSIGNMENT_MEMBER = 7
CONSUMER_GROUP_CURRENT_MEMBER_ASSIGNMENT = 8
SHARE_GROUP_MEMBER_METADATA = 10
SHARE_GROUP_METADATA = 11
SHARE_GROUP_TARGET_ASSIGNMENT_METADATA = 12
SHARE_GROUP_TARGET_ASSIGNMENT_MEMBER = 13
SHARE_GROUP_CURRENT_MEMBER_ASSIGNMENT = 14
SHARE_SNAPSHOT = 0      # in __share_group_state
SHARE_UPDATE = 1

KEYS: dict[int, Schema] = {
    CONSUMER_GROUP_METADATA: _key("ConsumerGroupMetadataKey", 3),
    CONSUMER_GROUP_PARTITION_METADATA: _key("ConsumerGroupPartitionMetadataKey", 4),
    CONSUMER_GROUP_MEMBER_METADATA: _key("ConsumerGroupMemberMetadataKey", 5, "member_id"),
    CONSUMER_GROUP_TARGET_ASSIGNMENT_METADATA: _key("ConsumerGroupTargetAssignmentMetadataKey", 6),
    CONSUMER_GROUP_TARGET_ASSIGNMENT_MEMBER: _key("ConsumerGroupTargetAssignmentMemberKey", 7, "member_id"),
    CONSUMER_GROUP_CURRENT_MEMBER_ASSIGNMENT: _key("ConsumerGroupCurrentMemberAssignmentKey", 8, "member_id"),
    SHARE_GROUP_MEMBER_METADATA: _key("ShareGroupMemberMetadataKey", 10, "member_id"),
    SHARE_GROUP_METADATA: _key("ShareGroupMetadataKey", 11),
    SHARE_GROUP_TARGET_ASSIGNMENT_METADATA: _key("ShareGroupTargetAssignmentMetadataKey", 12),
    SHARE_GROUP_TARGET_ASSIGNMENT_MEMBER: _key("ShareGroupTargetAssignmentMemberKey", 13, "member_id"),
    SHARE_GROUP_CURRENT_MEMBER_ASSIGNMENT: _key("ShareGroupCurrentMemberAssignmentKey", 14, "member_id"),
}

SHARE_STATE_KEYS: dict[int, Schema] = {
    SHARE_SNAPSHOT: _key("ShareSnapshotKey", 0, "topic_id", "partition"),
    SHARE_UPDATE: _key("ShareUpdateKey", 1, "topic_id", "partition"),
}

_STATE_BATCHES = Array([
    field("first_offset", Int64),
    field("last_offset", Int64),
    field("delivery_state", Int8),      # 0 available, 2 acknowledged, 4 archived
    field("delivery_count", Int16),
])

VALUES: dict[int, Schema] = {
    CONSUMER_GROUP_METADATA: _value("ConsumerGroupMetadataValue", [
        field("epoch", Int32),
        field("metadata_hash", Int64, tag=0, default=0),   # Kafka 4.1, KIP-1101
    ]),
    CONSUMER_GROUP_PARTITION_METADATA: _value("ConsumerGroupPartitionMetadataValue", [
        field("topics", Array([
            field("topic_id", Uuid),
            field("topic_name", String),
            field("num_partitions", Int32),
            field("partition_metadata", Array([
                field("partition", Int32),
                field("racks", Array(String)),
            ])),
        ])),
    ]),
    CONSUMER_GROUP_MEMBER_METADATA: _value("ConsumerGroupMemberMetadataValue", [
        field("instance_id", String, nullable="0+"),
        field("rack_id", String, nullable="0+"),
        field("client_id", String),
        field("client_host", String),
        field("subscribed_topic_names", Array(String)),
        field("subscribed_topic_regex", String, nullable="0+"),
        field("rebalance_timeout_ms", Int32, default=-1),
        field("server_assignor", String, nullable="0+"),
        field("classic_member_metadata", Struct([
            field("session_timeout_ms", Int32),
            field("supported_protocols", Array([
                field("name", String),
                field("metadata", Bytes),
            ])),
        ]), nullable="0+", tag=0, default=None),
    ]),
    CONSUMER_GROUP_TARGET_ASSIGNMENT_METADATA: _value("ConsumerGroupTargetAssignmentMetadataValue", [
        field("assignment_epoch", Int32),
    ]),
    CONSUMER_GROUP_TARGET_ASSIGNMENT_MEMBER: _value("ConsumerGroupTargetAssignmentMemberValue", [
        field("topic_partitions", _TOPIC_PARTITIONS),
    ]),
    CONSUMER_GROUP_CURRENT_MEMBER_ASSIGNMENT: _value("ConsumerGroupCurrentMemberAssignmentValue", [
        field("member_epoch", Int32),
        field("previous_member_epoch", Int32),
        field("state", Int8),
        field("assigned_partitions", _TOPIC_PARTITIONS),
        field("partitions_pending_revocation", _TOPIC_PARTITIONS),
    ]),
    SHARE_GROUP_MEMBER_METADATA: _value("ShareGroupMemberMetadataValue", [
        field("rack_id", String, nullable="0+"),
        field("client_id", String),
        field("client_host", String),
        field("subscribed_topic_names", Array(String)),
    ]),
    SHARE_GROUP_METADATA: _value("ShareGroupMetadataValue", [
        field("epoch", Int32),
        field("metadata_hash", Int64, tag=0, default=0),
    ]),
    SHARE_GROUP_TARGET_ASSIGNMENT_METADATA: _value("ShareGroupTargetAssignmentMetadataValue", [
        field("assignment_epoch", Int32),
    ]),
    SHARE_GROUP_TARGET_ASSIGNMENT_MEMBER: _value("ShareGroupTargetAssignmentMemberValue", [
        field("topic_partitions", _TOPIC_PARTITIONS),
    ]),
    SHARE_GROUP_CURRENT_MEMBER_ASSIGNMENT: _value("ShareGroupCurrentMemberAssignmentValue", [
        field("member_epoch", Int32),
        field("previous_member_epoch", Int32),
        field("state", Int8),
        field("assigned_partitions", _TOPIC_PARTITIONS),
    ]),
}

SHARE_STATE_VALUES: dict[int, Schema] = {
    SHARE_SNAPSHOT: _value("ShareSnapshotValue", [
        field("snapshot_epoch", Int32),
        field("state_epoch", Int32),
        field("leader_epoch", Int32),
        field("start_offset", Int64),
        field("delivery_complete_count", Int32, tag=0, default=-1),   # Kafka 4.2, KIP-1226
        field("create_timestamp", Int64),
        field("write_timestamp", Int64),
        field("state_batches", _STATE_BATCHES),
    ]),
    SHARE_UPDATE: _value("ShareUpdateValue", [
        field("snapshot_epoch", Int32),
        field("leader_epoch", Int32),
        field("start_offset", Int64),
        field("delivery_complete_count", Int32, tag=0, default=-1),
        field("state_batches", _STATE_BATCHES),
    ]),
}


def encode_key(record_type: int, key: dict, keys: dict[int, Schema] = KEYS) -> bytes:
    return encode_versioned(keys[record_type], key, record_type)


def encode_value(record_type: int, value: dict, values: dict[int, Schema] = VALUES) -> bytes:
    return encode_versioned(values[record_type], value, 0)


def decode_key(data: bytes, keys: dict[int, Schema] = KEYS) -> tuple[int, dict]:
    """(record type, key); DecodeError for a type not in ``keys``."""
    record_type = key_version(data)
    schema = keys.get(record_type)
    if schema is None:
        raise DecodeError(f"no coordinator record of type {record_type}")
    return decode_versioned(data, schema)


def decode_value(record_type: int, data: bytes, values: dict[int, Schema] = VALUES) -> dict:
    return decode_versioned(data, values[record_type])[1]
