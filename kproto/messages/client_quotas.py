"""DescribeClientQuotas and AlterClientQuotas: byte-rate and other quotas per user, client id or IP."""

from kproto.api_keys import ApiKey
from kproto.schema import Message, field, Array, Bool, Float64, Int16, Int32, Int8, String

_ENTITY = [
    field("entity_type", String),
    field("entity_name", String, nullable="0+"),   # null: the default entity of the type
]

DESCRIBE_CLIENT_QUOTAS = Message(
    ApiKey.DESCRIBE_CLIENT_QUOTAS, "DescribeClientQuotas", versions="0-1", flexible="1+",
    request=[
        field("components", Array([
            field("entity_type", String),
            field("match_type", Int8),                # 0 exact name, 1 default, 2 any specified
            field("match", String, nullable="0+"),
        ])),
        field("strict", Bool),
    ],
    response=[
        field("throttle_time_ms", Int32),
        field("error_code", Int16),
        field("error_message", String, nullable="0+"),
        field("entries", Array([
            field("entity", Array(_ENTITY)),
            field("values", Array([
                field("key", String),
                field("value", Float64),
            ])),
        ]), nullable="0+"),
    ],
)

ALTER_CLIENT_QUOTAS = Message(
    ApiKey.ALTER_CLIENT_QUOTAS, "AlterClientQuotas", versions="0-1", flexible="1+",
    request=[
        field("entries", Array([
            field("entity", Array(_ENTITY)),
            field("ops", Array([
                field("key", String),
                field("value", Float64),
                field("remove", Bool),
            ])),
        ])),
        field("validate_only", Bool),
    ],
    response=[
        field("throttle_time_ms", Int32),
        field("entries", Array([
            field("error_code", Int16),
            field("error_message", String, nullable="0+"),
            field("entity", Array(_ENTITY)),
        ])),
    ],
)
