"""DeleteTopics: delete topics by name or id."""

from kproto.api_keys import ApiKey
from kproto.schema import Message, field, Array, Int16, Int32, String, Uuid

DELETE_TOPICS = Message(
    ApiKey.DELETE_TOPICS, "DeleteTopics", versions="0-6", flexible="4+",
    request=[
        field("topics", Array([
            field("name", String, "6+", nullable="6+", default=None),
            field("topic_id", Uuid, "6+"),
        ]), "6+"),
        field("topic_names", Array(String), "0-5"),
        field("timeout_ms", Int32),
    ],
    response=[
        field("throttle_time_ms", Int32, "1+"),
        field("responses", Array([
            field("name", String, nullable="6+"),
            field("topic_id", Uuid, "6+"),
            field("error_code", Int16),
            field("error_message", String, "5+", nullable="5+", default=None),
        ])),
    ],
)
