"""ConsumerGroupHeartbeat: a KIP-848 member joins, stays, reconciles and leaves its group."""

from kproto.api_keys import ApiKey
from kproto.schema import Message, field, Array, Int16, Int32, String, Struct, Uuid

_TOPIC_PARTITIONS = [
    field("topic_id", Uuid),
    field("partitions", Array(Int32)),
]

CONSUMER_GROUP_HEARTBEAT = Message(
    ApiKey.CONSUMER_GROUP_HEARTBEAT, "ConsumerGroupHeartbeat", versions="0-1", flexible="0+",
    request=[
        field("group_id", String),
        field("member_id", String),
        field("member_epoch", Int32),
        field("instance_id", String, nullable="0+", default=None),
        field("rack_id", String, nullable="0+", default=None),
        field("rebalance_timeout_ms", Int32, default=-1),
        field("subscribed_topic_names", Array(String), nullable="0+", default=None),
        field("subscribed_topic_regex", String, "1+", nullable="1+", default=None),
        field("server_assignor", String, nullable="0+", default=None),
        field("topic_partitions", Array(_TOPIC_PARTITIONS), nullable="0+", default=None),
    ],
    response=[
        field("throttle_time_ms", Int32),
        field("error_code", Int16),
        field("error_message", String, nullable="0+", default=None),
        field("member_id", String, nullable="0+", default=None),
        field("member_epoch", Int32),
        field("heartbeat_interval_ms", Int32),
        field("assignment", Struct([
            field("topic_partitions", Array(_TOPIC_PARTITIONS)),
        ]), nullable="0+", default=None),
    ],
)
