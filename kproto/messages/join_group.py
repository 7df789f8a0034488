"""JoinGroup: join a consumer group and take part in its rebalance."""

from kproto.api_keys import ApiKey
from kproto.schema import Message, field, Array, Bool, Bytes, Int16, Int32, String

JOIN_GROUP = Message(
    ApiKey.JOIN_GROUP, "JoinGroup", versions="0-9", flexible="6+",
    request=[
        field("group_id", String),
        field("session_timeout_ms", Int32),
        field("rebalance_timeout_ms", Int32, "1+", default=-1),
        field("member_id", String),
        field("group_instance_id", String, "5+", nullable="5+", default=None),
        field("protocol_type", String),
        field("protocols", Array([
            field("name", String),
            field("metadata", Bytes),
        ])),
        field("reason", String, "8+", nullable="8+", default=None),
    ],
    response=[
        field("throttle_time_ms", Int32, "2+"),
        field("error_code", Int16),
        field("generation_id", Int32, default=-1),
        field("protocol_type", String, "7+", nullable="7+", default=None),
        field("protocol_name", String, nullable="7+"),
        field("leader", String),
        field("skip_assignment", Bool, "9+"),
        field("member_id", String),
        field("members", Array([
            field("member_id", String),
            field("group_instance_id", String, "5+", nullable="5+", default=None),
            field("metadata", Bytes),
        ])),
    ],
)
