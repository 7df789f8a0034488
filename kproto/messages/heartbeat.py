"""Heartbeat: keep a group member alive and learn of rebalances."""

from kproto.api_keys import ApiKey
from kproto.schema import Message, field, Int16, Int32, String

HEARTBEAT = Message(
    ApiKey.HEARTBEAT, "Heartbeat", versions="0-4", flexible="4+",
    request=[
        field("group_id", String),
        field("generation_id", Int32),
        field("member_id", String),
        field("group_instance_id", String, "3+", nullable="3+", default=None),
    ],
    response=[
        field("throttle_time_ms", Int32, "1+"),
        field("error_code", Int16),
    ],
)
