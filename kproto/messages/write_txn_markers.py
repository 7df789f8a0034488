"""WriteTxnMarkers: write transaction markers to partitions (between brokers, and admin tools)."""

from kproto.api_keys import ApiKey
from kproto.schema import Message, field, Array, Bool, Int16, Int32, Int64, String

WRITE_TXN_MARKERS = Message(
    ApiKey.WRITE_TXN_MARKERS, "WriteTxnMarkers", versions="0-1", flexible="1+",
    request=[
        field("markers", Array([
            field("producer_id", Int64),
            field("producer_epoch", Int16),
            field("transaction_result", Bool),
            field("topics", Array([
                field("name", String),
                field("partition_indexes", Array(Int32)),
            ])),
            field("coordinator_epoch", Int32),
        ])),
    ],
    response=[
        field("markers", Array([
            field("producer_id", Int64),
            field("topics", Array([
                field("name", String),
                field("partitions", Array([
                    field("partition_index", Int32),
                    field("error_code", Int16),
                ])),
            ])),
        ])),
    ],
)
