"""ListPartitionReassignments: the partition moves under way."""

from kproto.api_keys import ApiKey
from kproto.schema import Message, field, Array, Int16, Int32, String

LIST_PARTITION_REASSIGNMENTS = Message(
    ApiKey.LIST_PARTITION_REASSIGNMENTS, "ListPartitionReassignments", versions="0", flexible="0+",
    request=[
        field("timeout_ms", Int32, default=60000),
        field("topics", Array([
            field("name", String),
            field("partition_indexes", Array(Int32)),
        ]), nullable="0+", default=None),
    ],
    response=[
        field("throttle_time_ms", Int32),
        field("error_code", Int16),
        field("error_message", String, nullable="0+"),
        field("topics", Array([
            field("name", String),
            field("partitions", Array([
                field("partition_index", Int32),
                field("replicas", Array(Int32)),
                field("adding_replicas", Array(Int32)),
                field("removing_replicas", Array(Int32)),
            ])),
        ])),
    ],
)
