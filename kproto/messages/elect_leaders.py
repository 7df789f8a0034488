"""ElectLeaders: elect the preferred (or, unclean, any live) replica as each partition's leader."""

from kproto.api_keys import ApiKey
from kproto.schema import Message, field, Array, Int16, Int32, Int8, String

ELECT_LEADERS = Message(
    ApiKey.ELECT_LEADERS, "ElectLeaders", versions="0-2", flexible="2+",
    request=[
        field("election_type", Int8, "1+"),
        field("topic_partitions", Array([
            field("topic", String),
            field("partitions", Array(Int32)),
        ]), nullable="0+"),
        field("timeout_ms", Int32, default=60000),
    ],
    response=[
        field("throttle_time_ms", Int32),
        field("error_code", Int16, "1+"),
        field("replica_election_results", Array([
            field("topic", String),
            field("partition_result", Array([
                field("partition_id", Int32),
                field("error_code", Int16),
                field("error_message", String, nullable="0+"),
            ])),
        ])),
    ],
)
