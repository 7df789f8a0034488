"""Produce: append record batches to partitions.

v12 (Kafka 4.0, KIP-890 part 2) has v11's fields; what it changes is the meaning of a
transactional batch on a broker that finalizes transaction.version 2 (see broker/handlers/produce.py).
"""

from kproto.api_keys import ApiKey
from kproto.schema import Message, field, Array, Int16, Int32, Int64, Records, String, Struct

PRODUCE = Message(
    ApiKey.PRODUCE, "Produce", versions="0-12", flexible="9+",
    request=[
        field("transactional_id", String, "3+", nullable="3+", default=None),
        field("acks", Int16),
        field("timeout_ms", Int32),
        field("topic_data", Array([
            field("name", String),
            field("partition_data", Array([
                field("index", Int32),
                field("records", Records, nullable="0+"),
            ])),
        ])),
    ],
    response=[
        field("responses", Array([
            field("name", String),
            field("partition_responses", Array([
                field("index", Int32),
                field("error_code", Int16),
                field("base_offset", Int64),
                field("log_append_time_ms", Int64, "2+", default=-1),
                field("log_start_offset", Int64, "5+", default=-1),
                field("record_errors", Array([
                    field("batch_index", Int32, "8+"),
                    field("batch_index_error_message", String, "8+", nullable="8+", default=None),
                ]), "8+"),
                field("error_message", String, "8+", nullable="8+", default=None),
                field("current_leader", Struct([
                    field("leader_id", Int32, "10+", default=-1),
                    field("leader_epoch", Int32, "10+", default=-1),
                ]), "10+", tag=0),
            ])),
        ])),
        field("throttle_time_ms", Int32, "1+"),
        field("node_endpoints", Array([
            field("node_id", Int32, "10+"),
            field("host", String, "10+"),
            field("port", Int32, "10+"),
            field("rack", String, "10+", nullable="10+", default=None),
        ]), "10+", tag=0),
    ],
)
