"""ConsumerGroupDescribe: state, epochs, members and assignments of KIP-848 groups.

v1 (Kafka 4.0) adds each member's type: 0 a classic member (joined with JoinGroup),
1 a consumer member."""

from kproto.api_keys import ApiKey
from kproto.schema import Message, field, Array, Bool, Int8, Int16, Int32, String, Struct, Uuid

_ASSIGNMENT = [
    field("topic_partitions", Array([
        field("topic_id", Uuid),
        field("topic_name", String),
        field("partitions", Array(Int32)),
    ])),
]

CONSUMER_GROUP_DESCRIBE = Message(
    ApiKey.CONSUMER_GROUP_DESCRIBE, "ConsumerGroupDescribe", versions="0-1", flexible="0+",
    request=[
        field("group_ids", Array(String)),
        field("include_authorized_operations", Bool),
    ],
    response=[
        field("throttle_time_ms", Int32),
        field("groups", Array([
            field("error_code", Int16),
            field("error_message", String, nullable="0+", default=None),
            field("group_id", String),
            field("group_state", String),
            field("group_epoch", Int32),
            field("assignment_epoch", Int32),
            field("assignor_name", String),
            field("members", Array([
                field("member_id", String),
                field("instance_id", String, nullable="0+", default=None),
                field("rack_id", String, nullable="0+", default=None),
                field("member_epoch", Int32),
                field("client_id", String),
                field("client_host", String),
                field("subscribed_topic_names", Array(String)),
                field("subscribed_topic_regex", String, nullable="0+", default=None),
                field("assignment", Struct(_ASSIGNMENT)),
                field("target_assignment", Struct(_ASSIGNMENT)),
                field("member_type", Int8, "1+", default=-1),
            ])),
            field("authorized_operations", Int32, default=-2147483648),
        ])),
    ],
)
