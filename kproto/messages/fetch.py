"""Fetch: read record batches from partitions."""

from kproto.api_keys import ApiKey
from kproto.schema import Message, field, Array, Int16, Int32, Int64, Int8, Records, String, Struct, Uuid

FETCH = Message(
    ApiKey.FETCH, "Fetch", versions="0-17", flexible="12+",
    request=[
        field("cluster_id", String, "12+", nullable="12+", tag=0, default=None),
        field("replica_id", Int32, "0-14", default=-1),
        field("replica_state", Struct([
            field("replica_id", Int32, "15+", default=-1),
            field("replica_epoch", Int64, "15+", default=-1),
        ]), "15+", tag=1),
        field("max_wait_ms", Int32),
        field("min_bytes", Int32),
        field("max_bytes", Int32, "3+", default=2147483647),
        field("isolation_level", Int8, "4+"),
        field("session_id", Int32, "7+"),
        field("session_epoch", Int32, "7+", default=-1),
        field("topics", Array([
            field("topic", String, "0-12"),
            field("topic_id", Uuid, "13+"),
            field("partitions", Array([
                field("partition", Int32),
                field("current_leader_epoch", Int32, "9+", default=-1),
                field("fetch_offset", Int64),
                field("last_fetched_epoch", Int32, "12+", default=-1),
                field("log_start_offset", Int64, "5+", default=-1),
                field("partition_max_bytes", Int32),
                field("replica_directory_id", Uuid, "17+", tag=0),
            ])),
        ])),
        field("forgotten_topics_data", Array([
            field("topic", String, "7-12"),
            field("topic_id", Uuid, "13+"),
            field("partitions", Array(Int32), "7+"),
        ]), "7+"),
        field("rack_id", String, "11+"),
    ],
    response=[
        field("throttle_time_ms", Int32, "1+"),
        field("error_code", Int16, "7+"),
        field("session_id", Int32, "7+"),
        field("responses", Array([
            field("topic", String, "0-12"),
            field("topic_id", Uuid, "13+"),
            field("partitions", Array([
                field("partition_index", Int32),
                field("error_code", Int16),
                field("high_watermark", Int64),
                field("last_stable_offset", Int64, "4+", default=-1),
                field("log_start_offset", Int64, "5+", default=-1),
                field("diverging_epoch", Struct([
                    field("epoch", Int32, "12+", default=-1),
                    field("end_offset", Int64, "12+", default=-1),
                ]), "12+", tag=0),
                field("current_leader", Struct([
                    field("leader_id", Int32, "12+", default=-1),
                    field("leader_epoch", Int32, "12+", default=-1),
                ]), "12+", tag=1),
                field("snapshot_id", Struct([
                    field("end_offset", Int64, default=-1),
                    field("epoch", Int32, default=-1),
                ]), "12+", tag=2),
                field("aborted_transactions", Array([
                    field("producer_id", Int64, "4+"),
                    field("first_offset", Int64, "4+"),
                ]), "4+", nullable="4+"),
                field("preferred_read_replica", Int32, "11+", default=-1),
                field("records", Records, nullable="0+"),
            ])),
        ])),
        field("node_endpoints", Array([
            field("node_id", Int32, "16+"),
            field("host", String, "16+"),
            field("port", Int32, "16+"),
            field("rack", String, "16+", nullable="16+", default=None),
        ]), "16+", tag=0),
    ],
)
