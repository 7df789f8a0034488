"""ListGroups: the groups a broker coordinates."""

from kproto.api_keys import ApiKey
from kproto.schema import Message, field, Array, Int16, Int32, String

LIST_GROUPS = Message(
    ApiKey.LIST_GROUPS, "ListGroups", versions="0-5", flexible="3+",
    request=[
        field("states_filter", Array(String), "4+"),
        field("types_filter", Array(String), "5+"),
    ],
    response=[
        field("throttle_time_ms", Int32, "1+"),
        field("error_code", Int16),
        field("groups", Array([
            field("group_id", String),
            field("protocol_type", String),
            field("group_state", String, "4+"),
            field("group_type", String, "5+"),
        ])),
    ],
)
