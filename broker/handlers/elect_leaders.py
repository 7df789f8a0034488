"""ElectLeaders 0-2: every partition already has its preferred leader, this broker.

So each partition asked for gets ELECTION_NOT_NEEDED (an unclean election too: each has
a leader), and an unknown one UNKNOWN_TOPIC_OR_PARTITION, with the controller's
messages. Asked for every partition (null), the answer lists each topic with no
partition, as Kafka leaves out the partitions that need no election. An unknown
election type makes the whole request INVALID_REQUEST.
"""

from broker.registry import handles
from kproto.errors import ErrorCode
from kproto.messages import ELECT_LEADERS
from kproto.constants import CLUSTER_NAME, AclOperation as Op, ResourceType as Resource

PREFERRED, UNCLEAN = 0, 1
NOT_NEEDED = "Leader election not needed for topic partition."


def _errors(req: dict, api_version: int, code: int, message: str | None = None) -> dict:
    return {"throttle_time_ms": 0, "error_code": code, "replica_election_results": [
        {"topic": t["topic"], "partition_result": [
            {"partition_id": p, "error_code": code, "error_message": message} for p in t["partitions"]]}
        for t in req["topic_partitions"] or ()]}


def _result(storage, topic: str, index: int) -> dict:
    info = storage.topic(topic)
    if info is None:
        return {"partition_id": index, "error_code": ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
                "error_message": f"No such topic as {topic}"}
    if not 0 <= index < info.num_partitions:
        return {"partition_id": index, "error_code": ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
                "error_message": f"No such partition as {topic}-{index}"}
    return {"partition_id": index, "error_code": ErrorCode.ELECTION_NOT_NEEDED, "error_message": NOT_NEEDED}


@handles(ELECT_LEADERS, "0-2", error_response=_errors)
def elect_leaders(ctx, req: dict) -> dict:
    ctx.require(Op.ALTER, Resource.CLUSTER, CLUSTER_NAME)
    if req["election_type"] not in (PREFERRED, UNCLEAN):
        return _errors(req, ctx.api_version, ErrorCode.INVALID_REQUEST,
                       f"Unknown election type {req['election_type']}")
    storage = ctx.broker.storage
    if req["topic_partitions"] is None:
        results = [{"topic": name, "partition_result": []} for name in sorted(storage.topics())]
    else:
        results = [{"topic": t["topic"], "partition_result": [_result(storage, t["topic"], p) for p in t["partitions"]]}
                   for t in req["topic_partitions"]]
    return {"throttle_time_ms": 0, "error_code": 0, "replica_election_results": results}
