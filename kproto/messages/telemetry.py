"""GetTelemetrySubscriptions and PushTelemetry (KIP-714): clients ask what metrics to push, and push them."""

from kproto.api_keys import ApiKey
from kproto.schema import Array, Bool, Bytes, Int8, Int16, Int32, Message, String, Uuid, field

GET_TELEMETRY_SUBSCRIPTIONS = Message(
    ApiKey.GET_TELEMETRY_SUBSCRIPTIONS, "GetTelemetrySubscriptions", versions="0", flexible="0+",
    request=[
        field("client_instance_id", Uuid),
    ],
    response=[
        field("throttle_time_ms", Int32),
        field("error_code", Int16),
        field("client_instance_id", Uuid),
        field("subscription_id", Int32),
        field("accepted_compression_types", Array(Int8)),
        field("push_interval_ms", Int32),
        field("telemetry_max_bytes", Int32),
        field("delta_temporality", Bool),
        field("requested_metrics", Array(String)),
    ],
)

PUSH_TELEMETRY = Message(
    ApiKey.PUSH_TELEMETRY, "PushTelemetry", versions="0", flexible="0+",
    request=[
        field("client_instance_id", Uuid),
        field("subscription_id", Int32),
        field("terminating", Bool),
        field("compression_type", Int8),
        field("metrics", Bytes),
    ],
    response=[
        field("throttle_time_ms", Int32),
        field("error_code", Int16),
    ],
)
