"""ControlledShutdown: a broker asks the controller to move its leaderships away before it stops.

v0 has a request header without a client id, which kproto's headers do not model: v1 on."""

from kproto.api_keys import ApiKey
from kproto.schema import Message, field, Array, Int16, Int32, Int64, String

CONTROLLED_SHUTDOWN = Message(
    ApiKey.CONTROLLED_SHUTDOWN, "ControlledShutdown", versions="1-3", flexible="3+",
    request=[
        field("broker_id", Int32, "1+"),
        field("broker_epoch", Int64, "2+", default=-1),
    ],
    response=[
        field("error_code", Int16, "1+"),
        field("remaining_partitions", Array([
            field("topic_name", String, "1+"),
            field("partition_index", Int32, "1+"),
        ]), "1+"),
    ],
)
