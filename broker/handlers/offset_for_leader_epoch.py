"""OffsetForLeaderEpoch 0-4: where a leader epoch ends, so a consumer can detect a truncated log.

One broker, one leader epoch, 0, from the first offset on: epoch 0 ends at the log end
offset. As Kafka's leader answers: an epoch above 0 (or -1) is unknown, end offset -1
and epoch -1; an epoch below -1 is older than any known, so it ends where epoch 0
starts (the log start offset). A ``current_leader_epoch`` (v2+) above 0 gets
UNKNOWN_LEADER_EPOCH, one below -1 FENCED_LEADER_EPOCH.
"""

from broker.registry import handles
from kproto.errors import ErrorCode
from kproto.messages import OFFSET_FOR_LEADER_EPOCH
from kproto.constants import CLUSTER_NAME, AclOperation as Op, ResourceType as Resource

LEADER_EPOCH = 0
NO_EPOCH = -1


def _errors(req: dict, api_version: int, code: int) -> dict:
    return {"throttle_time_ms": 0, "topics": [
        {"topic": t["topic"], "partitions": [{"error_code": code, "partition": p["partition"]}
                                             for p in t["partitions"]]} for t in req["topics"]]}


def _end_of_epoch(log, epoch: int) -> tuple[int, int]:
    """(epoch, end offset) as the leader's epoch cache answers."""
    if epoch == LEADER_EPOCH:
        return LEADER_EPOCH, log.log_end_offset
    if epoch < NO_EPOCH:
        return epoch, log.log_start_offset
    return NO_EPOCH, -1


@handles(OFFSET_FOR_LEADER_EPOCH, "0-4", error_response=_errors)
def offset_for_leader_epoch(ctx, req: dict) -> dict:
    storage = ctx.broker.storage
    topics = []
    for topic in req["topics"]:
        info = storage.topic(topic["topic"])
        refused = not (ctx.authorize(Op.DESCRIBE, Resource.TOPIC, topic["topic"])
                       or ctx.authorize(Op.CLUSTER_ACTION, Resource.CLUSTER, CLUSTER_NAME))
        partitions = []
        for part in topic["partitions"]:
            index, current = part["partition"], part["current_leader_epoch"]
            entry = {"error_code": 0, "partition": index, "leader_epoch": NO_EPOCH, "end_offset": -1}
            partitions.append(entry)
            if refused:
                entry["error_code"] = ErrorCode.TOPIC_AUTHORIZATION_FAILED
            elif info is None or not 0 <= index < info.num_partitions:
                entry["error_code"] = ErrorCode.UNKNOWN_TOPIC_OR_PARTITION
            elif current > LEADER_EPOCH:
                entry["error_code"] = ErrorCode.UNKNOWN_LEADER_EPOCH
            elif current < NO_EPOCH:
                entry["error_code"] = ErrorCode.FENCED_LEADER_EPOCH
            else:
                epoch, end_offset = _end_of_epoch(storage.partition(topic["topic"], index), part["leader_epoch"])
                entry.update(leader_epoch=epoch, end_offset=end_offset)
        topics.append({"topic": topic["topic"], "partitions": partitions})
    return {"throttle_time_ms": 0, "topics": topics}
