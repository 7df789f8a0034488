"""SyncGroup: hand out (leader) and receive (everyone) partition assignments."""

from kproto.api_keys import ApiKey
from kproto.schema import Message, field, Array, Bytes, Int16, Int32, String

SYNC_GROUP = Message(
    ApiKey.SYNC_GROUP, "SyncGroup", versions="0-5", flexible="4+",
    request=[
        field("group_id", String),
        field("generation_id", Int32),
        field("member_id", String),
        field("group_instance_id", String, "3+", nullable="3+", default=None),
        field("protocol_type", String, "5+", nullable="5+", default=None),
        field("protocol_name", String, "5+", nullable="5+", default=None),
        field("assignments", Array([
            field("member_id", String),
            field("assignment", Bytes),
        ])),
    ],
    response=[
        field("throttle_time_ms", Int32, "1+"),
        field("error_code", Int16),
        field("protocol_type", String, "5+", nullable="5+", default=None),
        field("protocol_name", String, "5+", nullable="5+", default=None),
        field("assignment", Bytes),
    ],
)
