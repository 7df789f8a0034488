"""AlterPartitionReassignments 0: with one broker every partition already lives where it can.

A partition "moved" to this broker alone succeeds and changes nothing; replicas naming
another broker, one broker twice, or none get INVALID_REPLICA_ASSIGNMENT; cancelling
(null replicas) gets NO_REASSIGNMENT_IN_PROGRESS, and an unknown topic or partition
UNKNOWN_TOPIC_OR_PARTITION, with the controller's messages.
"""

from broker.registry import handles
from kproto.errors import ErrorCode
from kproto.messages import ALTER_PARTITION_REASSIGNMENTS
from kproto.constants import CLUSTER_NAME, AclOperation as Op, ResourceType as Resource

NO_REASSIGNMENT = "No partition reassignment is in progress."


def _errors(req: dict, api_version: int, code: int) -> dict:
    return {"throttle_time_ms": 0, "error_code": code, "error_message": None, "responses": []}


def _check(ctx, topic: str, part: dict) -> tuple[int, str | None]:
    info = ctx.broker.storage.topic(topic)
    index = part["partition_index"]
    if info is None:
        return ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, f"Unable to find a topic named {topic}."
    if not 0 <= index < info.num_partitions:
        return ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, f"Unable to find partition {topic}:{index}."
    replicas = part["replicas"]
    if replicas is None:
        return ErrorCode.NO_REASSIGNMENT_IN_PROGRESS, NO_REASSIGNMENT
    if not replicas:
        return ErrorCode.INVALID_REPLICA_ASSIGNMENT, "The manual partition assignment includes an empty replica list."
    ordered = sorted(replicas)
    for i, broker_id in enumerate(ordered):
        if broker_id != ctx.broker.node_id:
            return ErrorCode.INVALID_REPLICA_ASSIGNMENT, ("The manual partition assignment includes broker "
                                                          f"{broker_id}, but no such broker is registered.")
        if i and ordered[i - 1] == broker_id:
            return ErrorCode.INVALID_REPLICA_ASSIGNMENT, ("The manual partition assignment includes the broker "
                                                          f"{broker_id} more than once.")
    return ErrorCode.NONE, None


@handles(ALTER_PARTITION_REASSIGNMENTS, "0", error_response=_errors)
def alter_partition_reassignments(ctx, req: dict) -> dict:
    ctx.require(Op.ALTER, Resource.CLUSTER, CLUSTER_NAME)
    responses = []
    for topic in req["topics"]:
        partitions = []
        for part in topic["partitions"]:
            code, message = _check(ctx, topic["name"], part)
            partitions.append({"partition_index": part["partition_index"], "error_code": code,
                               "error_message": message})
        responses.append({"name": topic["name"], "partitions": partitions})
    return {"throttle_time_ms": 0, "error_code": 0, "error_message": None, "responses": responses}
