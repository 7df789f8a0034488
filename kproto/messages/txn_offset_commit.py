"""TxnOffsetCommit: a group's offsets, committed as part of a transaction."""

from kproto.api_keys import ApiKey
from kproto.schema import Message, field, Array, Int16, Int32, Int64, String

TXN_OFFSET_COMMIT = Message(
    ApiKey.TXN_OFFSET_COMMIT, "TxnOffsetCommit", versions="0-4", flexible="3+",
    request=[
        field("transactional_id", String),
        field("group_id", String),
        field("producer_id", Int64),
        field("producer_epoch", Int16),
        field("generation_id", Int32, "3+", default=-1),
        field("member_id", String, "3+", default=""),
        field("group_instance_id", String, "3+", nullable="3+", default=None),
        field("topics", Array([
            field("name", String),
            field("partitions", Array([
                field("partition_index", Int32),
                field("committed_offset", Int64),
                field("committed_leader_epoch", Int32, "2+", default=-1),
                field("committed_metadata", String, nullable="0+"),
            ])),
        ])),
    ],
    response=[
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
