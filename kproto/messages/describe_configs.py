"""DescribeConfigs: the configs of topics and brokers, with their sources and synonyms."""

from kproto.api_keys import ApiKey
from kproto.schema import Message, field, Array, Bool, Int16, Int32, Int8, String

DESCRIBE_CONFIGS = Message(
    ApiKey.DESCRIBE_CONFIGS, "DescribeConfigs", versions="0-4", flexible="4+",
    request=[
        field("resources", Array([
            field("resource_type", Int8),
            field("resource_name", String),
            field("configuration_keys", Array(String), nullable="0+"),
        ])),
        field("include_synonyms", Bool, "1+"),
        field("include_documentation", Bool, "3+"),
    ],
    response=[
        field("throttle_time_ms", Int32),
        field("results", Array([
            field("error_code", Int16),
            field("error_message", String, nullable="0+"),
            field("resource_type", Int8),
            field("resource_name", String),
            field("configs", Array([
                field("name", String),
                field("value", String, nullable="0+"),
                field("read_only", Bool),
                field("is_default", Bool, "0"),
                field("config_source", Int8, "1+", default=-1),
                field("is_sensitive", Bool),
                field("synonyms", Array([
                    field("name", String, "1+"),
                    field("value", String, "1+", nullable="0+"),
                    field("source", Int8, "1+"),
                ]), "1+"),
                field("config_type", Int8, "3+"),
                field("documentation", String, "3+", nullable="0+"),
            ])),
        ])),
    ],
)
