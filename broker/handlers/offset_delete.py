"""OffsetDelete 0: delete some committed offsets of a group.

Refused for a live group that is not a consumer group (NON_EMPTY_GROUP), and per
topic while a consumer group is subscribed to it (GROUP_SUBSCRIBED_TO_TOPIC).
"""

from broker.clock import now_ms
from broker.registry import handles
from kproto.errors import ErrorCode
from kproto.messages import OFFSET_DELETE


def _errors(req: dict, api_version: int, code: int) -> dict:
    return {"error_code": code, "throttle_time_ms": 0, "topics": []}


@handles(OFFSET_DELETE, "0", error_response=_errors)
def offset_delete(ctx, req: dict) -> dict:
    groups = ctx.broker.groups
    storage = ctx.broker.storage
    group_id = req["group_id"]
    code = groups.coordinator.validate_offset_delete(group_id)
    if code:
        return _errors(req, ctx.api_version, code)
    deletable = []
    topics = []
    for topic in req["topics"]:
        name = topic["name"]
        info = storage.topic(name)
        subscribed = groups.coordinator.is_subscribed_to_topic(group_id, name)
        partitions = []
        for part in topic["partitions"]:
            index = part["partition_index"]
            if info is None or not 0 <= index < info.num_partitions:
                code = ErrorCode.UNKNOWN_TOPIC_OR_PARTITION
            elif subscribed:
                code = ErrorCode.GROUP_SUBSCRIBED_TO_TOPIC
            else:
                code = ErrorCode.NONE
                deletable.append((name, index))
            partitions.append({"partition_index": index, "error_code": code})
        topics.append({"name": name, "partitions": partitions})
    groups.offsets.delete(group_id, deletable, now_ms())
    return {"error_code": 0, "throttle_time_ms": 0, "topics": topics}
