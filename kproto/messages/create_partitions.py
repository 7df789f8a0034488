"""CreatePartitions: grow topics to a larger partition count."""

from kproto.api_keys import ApiKey
from kproto.schema import Message, field, Array, Bool, Int16, Int32, String

CREATE_PARTITIONS = Message(
    ApiKey.CREATE_PARTITIONS, "CreatePartitions", versions="0-3", flexible="2+",
    request=[
        field("topics", Array([
            field("name", String),
            field("count", Int32),
            field("assignments", Array([
                field("broker_ids", Array(Int32)),
            ]), nullable="0+"),
        ])),
        field("timeout_ms", Int32),
        field("validate_only", Bool),
    ],
    response=[
        field("throttle_time_ms", Int32),
        field("results", Array([
            field("name", String),
            field("error_code", Int16),
            field("error_message", String, nullable="0+", default=None),
        ])),
    ],
)
