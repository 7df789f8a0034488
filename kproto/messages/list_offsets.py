"""ListOffsets: find offsets by timestamp (earliest, latest, max timestamp, or a time)."""

from kproto.api_keys import ApiKey
from kproto.schema import Message, field, Array, Int16, Int32, Int64, Int8, String

LIST_OFFSETS = Message(
    ApiKey.LIST_OFFSETS, "ListOffsets", versions="0-10", flexible="6+",
    request=[
        field("replica_id", Int32),
        field("isolation_level", Int8, "2+"),
        field("topics", Array([
            field("name", String),
            field("partitions", Array([
                field("partition_index", Int32),
                field("current_leader_epoch", Int32, "4+", default=-1),
                field("timestamp", Int64),
                field("max_num_offsets", Int32, "0", default=1),
            ])),
        ])),
        field("timeout_ms", Int32, "10+"),
    ],
    response=[
        field("throttle_time_ms", Int32, "2+"),
        field("topics", Array([
            field("name", String),
            field("partitions", Array([
                field("partition_index", Int32),
                field("error_code", Int16),
                field("old_style_offsets", Array(Int64), "0"),
                field("timestamp", Int64, "1+", default=-1),
                field("offset", Int64, "1+", default=-1),
                field("leader_epoch", Int32, "4+", default=-1),
            ])),
        ])),
    ],
)
