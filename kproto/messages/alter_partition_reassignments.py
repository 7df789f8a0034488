"""AlterPartitionReassignments: move partitions to other replicas, or cancel such a move."""

from kproto.api_keys import ApiKey
from kproto.schema import Message, field, Array, Int16, Int32, String

ALTER_PARTITION_REASSIGNMENTS = Message(
    ApiKey.ALTER_PARTITION_REASSIGNMENTS, "AlterPartitionReassignments", versions="0", flexible="0+",
    request=[
        field("timeout_ms", Int32, default=60000),
        field("topics", Array([
            field("name", String),
            field("partitions", Array([
                field("partition_index", Int32),
                field("replicas", Array(Int32), nullable="0+", default=None),
            ])),
        ])),
    ],
    response=[
        field("throttle_time_ms", Int32),
        field("error_code", Int16),
        field("error_message", String, nullable="0+"),
        field("responses", Array([
            field("name", String),
            field("partitions", Array([
                field("partition_index", Int32),
                field("error_code", Int16),
                field("error_message", String, nullable="0+"),
            ])),
        ])),
    ],
)
