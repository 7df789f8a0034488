"""DescribeCluster: the cluster id, its brokers and its controller."""

from kproto.api_keys import ApiKey
from kproto.schema import Message, field, Array, Bool, Int16, Int32, Int8, String

DESCRIBE_CLUSTER = Message(
    ApiKey.DESCRIBE_CLUSTER, "DescribeCluster", versions="0-2", flexible="0+",
    request=[
        field("include_cluster_authorized_operations", Bool),
        field("endpoint_type", Int8, "1+", default=1),
        field("include_fenced_brokers", Bool, "2+"),
    ],
    response=[
        field("throttle_time_ms", Int32),
        field("error_code", Int16),
        field("error_message", String, nullable="0+", default=None),
        field("endpoint_type", Int8, "1+", default=1),
        field("cluster_id", String),
        field("controller_id", Int32, default=-1),
        field("brokers", Array([
            field("broker_id", Int32),
            field("host", String),
            field("port", Int32),
            field("rack", String, nullable="0+", default=None),
            field("is_fenced", Bool, "2+"),
        ])),
        field("cluster_authorized_operations", Int32, default=-2147483648),
    ],
)
