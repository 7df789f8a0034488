"""IncrementalAlterConfigs: set, delete, append to or subtract from single config keys."""

from kproto.api_keys import ApiKey
from kproto.schema import Message, field, Array, Bool, Int16, Int32, Int8, String

INCREMENTAL_ALTER_CONFIGS = Message(
    ApiKey.INCREMENTAL_ALTER_CONFIGS, "IncrementalAlterConfigs", versions="0-1", flexible="1+",
    request=[
        field("resources", Array([
            field("resource_type", Int8),
            field("resource_name", String),
            field("configs", Array([
                field("name", String),
                field("config_operation", Int8),
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
