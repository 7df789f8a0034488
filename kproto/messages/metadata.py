"""Metadata: brokers, topics, partitions and their leaders."""

from kproto.api_keys import ApiKey
from kproto.constants import AUTHORIZED_OPERATIONS_OMITTED
from kproto.schema import Message, field, Array, Bool, Int16, Int32, String, Uuid

METADATA = Message(
    ApiKey.METADATA, "Metadata", versions="0-13", flexible="9+",
    request=[
        field("topics", Array([
            field("topic_id", Uuid, "10+"),
            field("name", String, nullable="10+"),
        ]), nullable="1+"),
        field("allow_auto_topic_creation", Bool, "4+", default=True),
        field("include_cluster_authorized_operations", Bool, "8-10"),
        field("include_topic_authorized_operations", Bool, "8+"),
    ],
    response=[
        field("throttle_time_ms", Int32, "3+"),
        field("brokers", Array([
            field("node_id", Int32),
            field("host", String),
            field("port", Int32),
            field("rack", String, "1+", nullable="1+", default=None),
        ])),
        field("cluster_id", String, "2+", nullable="2+", default=None),
        field("controller_id", Int32, "1+", default=-1),
        field("topics", Array([
            field("error_code", Int16),
            field("name", String, nullable="12+"),
            field("topic_id", Uuid, "10+"),
            field("is_internal", Bool, "1+"),
            field("partitions", Array([
                field("error_code", Int16),
                field("partition_index", Int32),
                field("leader_id", Int32),
                field("leader_epoch", Int32, "7+", default=-1),
                field("replica_nodes", Array(Int32)),
                field("isr_nodes", Array(Int32)),
                field("offline_replicas", Array(Int32), "5+"),
            ])),
            field("topic_authorized_operations", Int32, "8+", default=AUTHORIZED_OPERATIONS_OMITTED),
        ])),
        field("cluster_authorized_operations", Int32, "8-10", default=AUTHORIZED_OPERATIONS_OMITTED),
        field("error_code", Int16, "13+"),
    ],
)
