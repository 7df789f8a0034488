"""SaslHandshake: the client names the SASL mechanism it will use (v0: raw tokens follow, v1: SaslAuthenticate)."""

from kproto.api_keys import ApiKey
from kproto.schema import Message, field, Array, Int16, String

SASL_HANDSHAKE = Message(
    ApiKey.SASL_HANDSHAKE, "SaslHandshake", versions="0-1", flexible="none",
    request=[
        field("mechanism", String),
    ],
    response=[
        field("error_code", Int16),
        field("mechanisms", Array(String)),
    ],
)
