"""FindCoordinator: which broker coordinates a group or a transaction."""

from kproto.api_keys import ApiKey
from kproto.schema import Message, field, Array, Int16, Int32, Int8, String

FIND_COORDINATOR = Message(
    ApiKey.FIND_COORDINATOR, "FindCoordinator", versions="0-6", flexible="3+",
    request=[
        field("key", String, "0-3"),
        field("key_type", Int8, "1+"),
        field("coordinator_keys", Array(String), "4+"),
    ],
    response=[
        field("throttle_time_ms", Int32, "1+"),
        field("error_code", Int16, "0-3"),
        field("error_message", String, "1-3", nullable="1-3"),
        field("node_id", Int32, "0-3"),
        field("host", String, "0-3"),
        field("port", Int32, "0-3"),
        field("coordinators", Array([
            field("key", String, "4+"),
            field("node_id", Int32, "4+"),
            field("host", String, "4+"),
            field("port", Int32, "4+"),
            field("error_code", Int16, "4+"),
            field("error_message", String, "4+", nullable="4+"),
        ]), "4+"),
    ],
)
