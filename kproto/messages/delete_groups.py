"""DeleteGroups: delete empty groups and their offsets."""

from kproto.api_keys import ApiKey
from kproto.schema import Message, field, Array, Int16, Int32, String

DELETE_GROUPS = Message(
    ApiKey.DELETE_GROUPS, "DeleteGroups", versions="0-2", flexible="2+",
    request=[
        field("groups_names", Array(String)),
    ],
    response=[
        field("throttle_time_ms", Int32),
        field("results", Array([
            field("group_id", String),
            field("error_code", Int16),
        ])),
    ],
)
