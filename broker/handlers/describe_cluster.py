"""DescribeCluster 0-1: the cluster id, this broker (the only one) and the controller (this broker).

v1 names the kind of endpoint asked about: this is a broker endpoint, so asking for
controllers gets MISMATCHED_ENDPOINT_TYPE (v0: INVALID_REQUEST), and an unknown kind
UNSUPPORTED_ENDPOINT_TYPE, as Kafka answers. The broker's address is that of the listener the
request came in on; the cluster's authorized operations come from the ACLs (all without an authorizer).
"""

from broker.handlers.metadata import cluster_operations
from broker.registry import handles
from kproto.errors import ErrorCode
from kproto.messages import DESCRIBE_CLUSTER

BROKERS, CONTROLLERS = 1, 2
ENDPOINT_NAMES = {BROKERS: "BROKER", CONTROLLERS: "CONTROLLER"}


def _errors(req: dict, api_version: int, code: int) -> dict:
    return {"throttle_time_ms": 0, "error_code": code, "cluster_id": "", "brokers": []}


def _refused(ctx, code_v1: int, message: str) -> dict:
    code = ErrorCode.INVALID_REQUEST if ctx.api_version == 0 else code_v1
    return {"throttle_time_ms": 0, "error_code": code, "error_message": message, "cluster_id": "", "brokers": []}


@handles(DESCRIBE_CLUSTER, "0-1", error_response=_errors)
def describe_cluster(ctx, req: dict) -> dict:
    broker = ctx.broker
    endpoint_type = req["endpoint_type"]
    if endpoint_type not in ENDPOINT_NAMES:
        return _refused(ctx, ErrorCode.UNSUPPORTED_ENDPOINT_TYPE, f"Unsupported endpoint type {endpoint_type}")
    if endpoint_type != BROKERS:
        return _refused(ctx, ErrorCode.MISMATCHED_ENDPOINT_TYPE, "The request was sent to an endpoint of type "
                        f"BROKER, but we wanted an endpoint of type {ENDPOINT_NAMES[endpoint_type]}")
    host, port = ctx.listener.advertised
    return {
        "throttle_time_ms": 0, "error_code": 0, "error_message": None, "endpoint_type": BROKERS,
        "cluster_id": broker.cluster_id, "controller_id": broker.node_id,
        "brokers": [{"broker_id": broker.node_id, "host": host, "port": port, "rack": None}],
        "cluster_authorized_operations": cluster_operations(ctx, req["include_cluster_authorized_operations"]),
    }
