"""ShareGroupHeartbeat: a KIP-932 share-group member joins, stays and leaves.

Version 1 is Kafka 4.1's stable one (4.0's early-access v0 was removed)."""

from kproto.api_keys import ApiKey
from kproto.schema import Message, field, Array, Int16, Int32, String, Struct, Uuid

SHARE_GROUP_HEARTBEAT = Message(
    ApiKey.SHARE_GROUP_HEARTBEAT, "ShareGroupHeartbeat", versions="1", flexible="0+",
    request=[
        field("group_id", String),
        field("member_id", String),
        field("member_epoch", Int32),
        field("rack_id", String, nullable="0+", default=None),
        field("subscribed_topic_names", Array(String), nullable="0+", default=None),
    ],
    response=[
        field("throttle_time_ms", Int32),
        field("error_code", Int16),
        field("error_message", String, nullable="0+", default=None),
        field("member_id", String, nullable="0+", default=None),
        field("member_epoch", Int32),
        field("heartbeat_interval_ms", Int32),
        field("assignment", Struct([
            field("topic_partitions", Array([
                field("topic_id", Uuid),
                field("partitions", Array(Int32)),
            ])),
        ]), nullable="0+", default=None),
    ],
)
