"""LeaveGroup: leave a consumer group."""

from kproto.api_keys import ApiKey
from kproto.schema import Message, field, Array, Int16, Int32, String

LEAVE_GROUP = Message(
    ApiKey.LEAVE_GROUP, "LeaveGroup", versions="0-5", flexible="4+",
    request=[
        field("group_id", String),
        field("member_id", String, "0-2"),
        field("members", Array([
            field("member_id", String, "3+"),
            field("group_instance_id", String, "3+", nullable="3+", default=None),
            field("reason", String, "5+", nullable="5+", default=None),
        ]), "3+"),
    ],
    response=[
        field("throttle_time_ms", Int32, "1+"),
        field("error_code", Int16),
        field("members", Array([
            field("member_id", String, "3+"),
            field("group_instance_id", String, "3+", nullable="3+"),
            field("error_code", Int16, "3+"),
        ]), "3+"),
    ],
)
