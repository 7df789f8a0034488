"""ShareGroupDescribe: state, epochs and members of share groups (v1, Kafka 4.1's stable one)."""

from kproto.api_keys import ApiKey
from kproto.schema import Message, field, Array, Bool, Int16, Int32, String, Struct, Uuid

SHARE_GROUP_DESCRIBE = Message(
    ApiKey.SHARE_GROUP_DESCRIBE, "ShareGroupDescribe", versions="1", flexible="1+",
    request=[
        field("group_ids", Array(String), "1+"),
        field("include_authorized_operations", Bool, "1+"),
    ],
    response=[
        field("throttle_time_ms", Int32, "1+"),
        field("groups", Array([
            field("error_code", Int16, "1+"),
            field("error_message", String, "1+", nullable="1+", default=None),
            field("group_id", String, "1+"),
            field("group_state", String, "1+"),
            field("group_epoch", Int32, "1+"),
            field("assignment_epoch", Int32, "1+"),
            field("assignor_name", String, "1+"),
            field("members", Array([
                field("member_id", String, "1+"),
                field("rack_id", String, "1+", nullable="1+", default=None),
                field("member_epoch", Int32, "1+"),
                field("client_id", String, "1+"),
                field("client_host", String, "1+"),
                field("subscribed_topic_names", Array(String), "1+"),
                field("assignment", Struct([
                    field("topic_partitions", Array([
                        field("topic_id", Uuid, "1+"),
                        field("topic_name", String, "1+"),
                        field("partitions", Array(Int32), "1+"),
                    ]), "1+"),
                ]), "1+"),
            ]), "1+"),
            field("authorized_operations", Int32, "1+", default=-2147483648),
        ]), "1+"),
    ],
)
