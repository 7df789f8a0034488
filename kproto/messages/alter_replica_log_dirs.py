"""AlterReplicaLogDirs: move partitions between the broker's log directories."""

from kproto.api_keys import ApiKey
from kproto.schema import Message, field, Array, Int16, Int32, String

ALTER_REPLICA_LOG_DIRS = Message(
    ApiKey.ALTER_REPLICA_LOG_DIRS, "AlterReplicaLogDirs", versions="0-2", flexible="2+",
    request=[
        field("dirs", Array([
            field("path", String),
            field("topics", Array([
                field("name", String),
                field("partitions", Array(Int32)),
            ])),
        ])),
    ],
    response=[
        field("throttle_time_ms", Int32),
        field("results", Array([
            field("topic_name", String),
            field("partitions", Array([
                field("partition_index", Int32),
                field("error_code", Int16),
            ])),
        ])),
    ],
)
