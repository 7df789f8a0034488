"""OffsetForLeaderEpoch: where a leader epoch ends, for truncation checks after a leader change."""

from kproto.api_keys import ApiKey
from kproto.schema import Message, field, Array, Int16, Int32, Int64, String

OFFSET_FOR_LEADER_EPOCH = Message(
    ApiKey.OFFSET_FOR_LEADER_EPOCH, "OffsetForLeaderEpoch", versions="0-4", flexible="4+",
    request=[
        field("replica_id", Int32, "3+", default=-2),
        field("topics", Array([
            field("topic", String),
            field("partitions", Array([
                field("partition", Int32),
                field("current_leader_epoch", Int32, "2+", default=-1),
                field("leader_epoch", Int32),
            ])),
        ])),
    ],
    response=[
        field("throttle_time_ms", Int32, "2+"),
        field("topics", Array([
            field("topic", String),
            field("partitions", Array([
                field("error_code", Int16),
                field("partition", Int32),
                field("leader_epoch", Int32, "1+", default=-1),
                field("end_offset", Int64, default=-1),
            ])),
        ])),
    ],
)
