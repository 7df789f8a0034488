"""AlterPartition (KIP-497): a leader asks the controller to change its partition's ISR."""

from kproto.api_keys import ApiKey
from kproto.schema import Message, field, Array, Int16, Int32, Int64, Int8, String, Uuid

ALTER_PARTITION = Message(
    ApiKey.ALTER_PARTITION, "AlterPartition", versions="0-3", flexible="0+",
    request=[
        field("broker_id", Int32),
        field("broker_epoch", Int64, default=-1),
        field("topics", Array([
            field("topic_name", String, "0-1"),
            field("topic_id", Uuid, "2+"),
            field("partitions", Array([
                field("partition_index", Int32),
                field("leader_epoch", Int32),
                field("new_isr", Array(Int32), "0-2"),
                field("new_isr_with_epochs", Array([
                    field("broker_id", Int32, "3+"),
                    field("broker_epoch", Int64, "3+", default=-1),
                ]), "3+"),
                field("leader_recovery_state", Int8, "1+", default=0),
                field("partition_epoch", Int32),
            ])),
        ])),
    ],
    response=[
        field("throttle_time_ms", Int32),
        field("error_code", Int16),
        field("topics", Array([
            field("topic_name", String, "0-1"),
            field("topic_id", Uuid, "2+"),
            field("partitions", Array([
                field("partition_index", Int32),
                field("error_code", Int16),
                field("leader_id", Int32),
                field("leader_epoch", Int32),
                field("isr", Array(Int32)),
                field("leader_recovery_state", Int8, "1+", default=0),
                field("partition_epoch", Int32),
            ])),
        ])),
    ],
)
