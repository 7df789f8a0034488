"""SaslAuthenticate: one step of a SASL exchange, the mechanism's bytes wrapped in a Kafka request."""

from kproto.api_keys import ApiKey
from kproto.schema import Message, field, Bytes, Int16, Int64, String

SASL_AUTHENTICATE = Message(
    ApiKey.SASL_AUTHENTICATE, "SaslAuthenticate", versions="0-2", flexible="2+",
    request=[
        field("auth_bytes", Bytes),
    ],
    response=[
        field("error_code", Int16),
        field("error_message", String, nullable="0+"),
        field("auth_bytes", Bytes),
        field("session_lifetime_ms", Int64, "1+", default=0),
    ],
)
