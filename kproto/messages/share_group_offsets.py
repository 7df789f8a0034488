"""The share-group offset admin APIs of Kafka 4.1/4.2 (KIP-932): describe, alter and
delete the start offsets of a share group's partitions. DescribeShareGroupOffsets v1
(Kafka 4.2, KIP-1226) adds each partition's lag."""

from kproto.api_keys import ApiKey
from kproto.schema import Message, field, Array, Int16, Int32, Int64, String, Uuid

DESCRIBE_SHARE_GROUP_OFFSETS = Message(
    ApiKey.DESCRIBE_SHARE_GROUP_OFFSETS, "DescribeShareGroupOffsets", versions="0-1", flexible="0+",
    request=[
        field("groups", Array([
            field("group_id", String),
            field("topics", Array([
                field("topic_name", String),
                field("partitions", Array(Int32)),
            ]), nullable="0+"),
        ])),
    ],
    response=[
        field("throttle_time_ms", Int32),
        field("groups", Array([
            field("group_id", String),
            field("topics", Array([
                field("topic_name", String),
                field("topic_id", Uuid),
                field("partitions", Array([
                    field("partition_index", Int32),
                    field("start_offset", Int64),
                    field("leader_epoch", Int32),
                    field("lag", Int64, "1+", default=-1),
                    field("error_code", Int16),
                    field("error_message", String, nullable="0+", default=None),
                ])),
            ])),
            field("error_code", Int16),
            field("error_message", String, nullable="0+", default=None),
        ])),
    ],
)

ALTER_SHARE_GROUP_OFFSETS = Message(
    ApiKey.ALTER_SHARE_GROUP_OFFSETS, "AlterShareGroupOffsets", versions="0", flexible="0+",
    request=[
        field("group_id", String),
        field("topics", Array([
            field("topic_name", String),
            field("partitions", Array([
                field("partition_index", Int32),
                field("start_offset", Int64),
            ])),
        ])),
    ],
    response=[
        field("throttle_time_ms", Int32),
        field("error_code", Int16),
        field("error_message", String, nullable="0+", default=None),
        field("responses", Array([
            field("topic_name", String),
            field("topic_id", Uuid),
            field("partitions", Array([
                field("partition_index", Int32),
                field("error_code", Int16),
                field("error_message", String, nullable="0+", default=None),
            ])),
        ])),
    ],
)

DELETE_SHARE_GROUP_OFFSETS = Message(
    ApiKey.DELETE_SHARE_GROUP_OFFSETS, "DeleteShareGroupOffsets", versions="0", flexible="0+",
    request=[
        field("group_id", String),
        field("topics", Array([
            field("topic_name", String),
        ])),
    ],
    response=[
        field("throttle_time_ms", Int32),
        field("error_code", Int16),
        field("error_message", String, nullable="0+", default=None),
        field("responses", Array([
            field("topic_name", String),
            field("topic_id", Uuid),
            field("error_code", Int16),
            field("error_message", String, nullable="0+", default=None),
        ])),
    ],
)
