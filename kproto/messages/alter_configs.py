"""AlterConfigs: replace the dynamic configs of topics and brokers (the legacy, whole-set form)."""

from kproto.api_keys import ApiKey
from kproto.schema import Message, field, Array, Bool, Int16, Int32, Int8, String

ALTER_CONFIGS = Message(
    ApiKey.ALTER_CONFIGS, "AlterConfigs", versions="0-2", flexible="2+",
    request=[
        field("resources", Array([
            field("resource_type", Int8),
            field("resource_name", String),
            field("configs", Array([
                field("name", String),
                field("value", String, nullable="0+"),
            ])),
        ])),
        field("validate_only", Bool),
    ],
    response=[
        field("throttle_time_ms", Int32),
        field("responses", Array([
            field("error_code", Int16),
            field("error_message", String, nullable="0+"),
            field("resource_type", Int8),
            field("resource_name", String),
        ])),
    ],
)
