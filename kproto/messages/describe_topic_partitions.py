"""DescribeTopicPartitions (KIP-966): topics and their partitions, a page at a time."""

from kproto.api_keys import ApiKey
from kproto.schema import Message, field, Array, Bool, Int16, Int32, String, Struct, Uuid

CURSOR = [
    field("topic_name", String),
    field("partition_index", Int32),
]

DESCRIBE_TOPIC_PARTITIONS = Message(
    ApiKey.DESCRIBE_TOPIC_PARTITIONS, "DescribeTopicPartitions", versions="0", flexible="0+",
    request=[
        field("topics", Array([
            field("name", String),
        ])),
        field("response_partition_limit", Int32, default=2000),
        field("cursor", Struct(CURSOR), nullable="0+", default=None),
    ],
    response=[
        field("throttle_time_ms", Int32),
        field("topics", Array([
            field("error_code", Int16),
            field("name", String, nullable="0+"),
            field("topic_id", Uuid),
            field("is_internal", Bool),
            field("partitions", Array([
                field("error_code", Int16),
                field("partition_index", Int32),
                field("leader_id", Int32),
                field("leader_epoch", Int32, default=-1),
                field("replica_nodes", Array(Int32)),
                field("isr_nodes", Array(Int32)),
                field("eligible_leader_replicas", Array(Int32), nullable="0+", default=None),
                field("last_known_elr", Array(Int32), nullable="0+", default=None),
                field("offline_replicas", Array(Int32)),
            ])),
            field("topic_authorized_operations", Int32, default=-2147483648),
        ])),
        field("next_cursor", Struct(CURSOR), nullable="0+", default=None),
    ],
)
