"""OffsetFetch: read a group's committed positions."""

from kproto.api_keys import ApiKey
from kproto.schema import Message, field, Array, Bool, Int16, Int32, Int64, String

OFFSET_FETCH = Message(
    ApiKey.OFFSET_FETCH, "OffsetFetch", versions="0-9", flexible="6+",
    request=[
        field("group_id", String, "0-7"),
        field("topics", Array([
            field("name", String, "0-7"),
            field("partition_indexes", Array(Int32), "0-7"),
        ]), "0-7", nullable="2-7"),
        field("groups", Array([
            field("group_id", String, "8+"),
            field("member_id", String, "9+", nullable="9+", default=None),
            field("member_epoch", Int32, "9+", default=-1),
            field("topics", Array([
                field("name", String, "8+"),
                field("partition_indexes", Array(Int32), "8+"),
            ]), "8+", nullable="8+"),
        ]), "8+"),
        field("require_stable", Bool, "7+"),
    ],
    response=[
        field("throttle_time_ms", Int32, "3+"),
        field("topics", Array([
            field("name", String, "0-7"),
            field("partitions", Array([
                field("partition_index", Int32, "0-7"),
                field("committed_offset", Int64, "0-7"),
                field("committed_leader_epoch", Int32, "5-7", default=-1),
                field("metadata", String, "0-7", nullable="0-7"),
                field("error_code", Int16, "0-7"),
            ]), "0-7"),
        ]), "0-7"),
        field("error_code", Int16, "2-7"),
        field("groups", Array([
            field("group_id", String, "8+"),
            field("topics", Array([
                field("name", String, "8+"),
                field("partitions", Array([
                    field("partition_index", Int32, "8+"),
                    field("committed_offset", Int64, "8+"),
                    field("committed_leader_epoch", Int32, "8+", default=-1),
                    field("metadata", String, "8+", nullable="8+"),
                    field("error_code", Int16, "8+"),
                ]), "8+"),
            ]), "8+"),
            field("error_code", Int16, "8+"),
        ]), "8+"),
    ],
)
