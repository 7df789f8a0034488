"""OffsetCommit: store a group's consumed positions."""

from kproto.api_keys import ApiKey
from kproto.schema import Message, field, Array, Int16, Int32, Int64, String

OFFSET_COMMIT = Message(
    ApiKey.OFFSET_COMMIT, "OffsetCommit", versions="0-9", flexible="8+",
    request=[
        field("group_id", String),
        field("generation_id_or_member_epoch", Int32, "1+", default=-1),
        field("member_id", String, "1+"),
        field("group_instance_id", String, "7+", nullable="7+", default=None),
        field("retention_time_ms", Int64, "2-4", default=-1),
        field("topics", Array([
            field("name", String),
            field("partitions", Array([
                field("partition_index", Int32),
                field("committed_offset", Int64),
                field("committed_leader_epoch", Int32, "6+", default=-1),
                field("commit_timestamp", Int64, "1", default=-1),
                field("committed_metadata", String, nullable="0+"),
            ])),
        ])),
    ],
    response=[
        field("throttle_time_ms", Int32, "3+"),
        field("topics", Array([
            field("name", String),
            field("partitions", Array([
                field("partition_index", Int32),
                field("error_code", Int16),
            ])),
        ])),
    ],
)
