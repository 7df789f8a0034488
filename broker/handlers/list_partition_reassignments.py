"""ListPartitionReassignments 0: no partition is ever being moved on one broker, so none is listed."""

from broker.registry import handles
from kproto.messages import LIST_PARTITION_REASSIGNMENTS
from kproto.constants import CLUSTER_NAME, AclOperation as Op, ResourceType as Resource


def _errors(req: dict, api_version: int, code: int) -> dict:
    return {"throttle_time_ms": 0, "error_code": code, "error_message": None, "topics": []}


@handles(LIST_PARTITION_REASSIGNMENTS, "0", error_response=_errors)
def list_partition_reassignments(ctx, req: dict) -> dict:
    ctx.require(Op.DESCRIBE, Resource.CLUSTER, CLUSTER_NAME)
    return {"throttle_time_ms": 0, "error_code": 0, "error_message": None, "topics": []}
