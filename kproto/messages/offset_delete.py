"""OffsetDelete: delete a group's committed offsets for some partitions."""

from kproto.api_keys import ApiKey
from kproto.schema import Message, field, Array, Int16, Int32, String

OFFSET_DELETE = Message(
    ApiKey.OFFSET_DELETE, "OffsetDelete", versions="0", flexible="none",
    request=[
        field("group_id", String),
        field("topics", Array([
            field("name", String),
            field("partitions", Array([
                field("partition_index", Int32),
            ])),
        ])),
    ],
    response=[
        field("error_code", Int16),
        field("throttle_time_ms", Int32),
        field("topics", Array([
            field("name", String),
            field("partitions", Array([
                field("partition_index", Int32),
                field("error_code", Int16),
            ])),
        ])),
    ],
)
