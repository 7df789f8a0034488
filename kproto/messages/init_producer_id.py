"""InitProducerId: a producer id and epoch for idempotent and transactional producers."""

from kproto.api_keys import ApiKey
from kproto.schema import Message, field, Int16, Int32, Int64, String

INIT_PRODUCER_ID = Message(
    ApiKey.INIT_PRODUCER_ID, "InitProducerId", versions="0-5", flexible="2+",
    request=[
        field("transactional_id", String, nullable="0+"),
        field("transaction_timeout_ms", Int32),
        field("producer_id", Int64, "3+", default=-1),
        field("producer_epoch", Int16, "3+", default=-1),
    ],
    response=[
        field("throttle_time_ms", Int32),
        field("error_code", Int16),
        field("producer_id", Int64, default=-1),
        field("producer_epoch", Int16),
    ],
)
