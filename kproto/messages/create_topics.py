"""CreateTopics: create topics with partitions and configs."""

from kproto.api_keys import ApiKey
from kproto.schema import Message, field, Array, Bool, Int16, Int32, Int8, String, Uuid

CREATE_TOPICS = Message(
    ApiKey.CREATE_TOPICS, "CreateTopics", versions="0-7", flexible="5+",
    request=[
        field("topics", Array([
            field("name", String),
            field("num_partitions", Int32),
            field("replication_factor", Int16),
            field("assignments", Array([
                field("partition_index", Int32),
                field("broker_ids", Array(Int32)),
            ])),
            field("configs", Array([
                field("name", String),
                field("value", String, nullable="0+"),
            ])),
        ])),
        field("timeout_ms", Int32, default=60000),
        field("validate_only", Bool, "1+"),
    ],
    response=[
        field("throttle_time_ms", Int32, "2+"),
        field("topics", Array([
            field("name", String),
            field("topic_id", Uuid, "7+"),
            field("error_code", Int16),
            field("error_message", String, "1+", nullable="0+"),
            field("topic_config_error_code", Int16, "5+", tag=0),
            field("num_partitions", Int32, "5+", default=-1),
            field("replication_factor", Int16, "5+", default=-1),
            field("configs", Array([
                field("name", String, "5+"),
                field("value", String, "5+", nullable="5+"),
                field("read_only", Bool, "5+"),
                field("config_source", Int8, "5+", default=-1),
                field("is_sensitive", Bool, "5+"),
            ]), "5+", nullable="5+"),
        ])),
    ],
)
