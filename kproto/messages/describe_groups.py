"""DescribeGroups: state, protocol and members of groups."""

from kproto.api_keys import ApiKey
from kproto.constants import AUTHORIZED_OPERATIONS_OMITTED
from kproto.schema import Message, field, Array, Bool, Bytes, Int16, Int32, String

DESCRIBE_GROUPS = Message(
    ApiKey.DESCRIBE_GROUPS, "DescribeGroups", versions="0-6", flexible="5+",
    request=[
        field("groups", Array(String)),
        field("include_authorized_operations", Bool, "3+"),
    ],
    response=[
        field("throttle_time_ms", Int32, "1+"),
        field("groups", Array([
            field("error_code", Int16),
            field("error_message", String, "6+", nullable="6+", default=None),
            field("group_id", String),
            field("group_state", String),
            field("protocol_type", String),
            field("protocol_data", String),
            field("members", Array([
                field("member_id", String),
                field("group_instance_id", String, "4+", nullable="4+", default=None),
                field("client_id", String),
                field("client_host", String),
                field("member_metadata", Bytes),
                field("member_assignment", Bytes),
            ])),
            field("authorized_operations", Int32, "3+", default=AUTHORIZED_OPERATIONS_OMITTED),
        ])),
    ],
)
