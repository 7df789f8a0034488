"""OffsetDelete 0: delete some committed offsets of a group.

Refused for a live group that is not a consumer group (NON_EMPTY_GROUP), and per
topic while a consumer group is subscribed to it (GROUP_SUBSCRIBED_TO_TOPIC).
"""

from broker.registry import handles
from kproto.messages import OFFSET_DELETE
from kproto.constants import AclOperation as Op, ResourceType as Resource
from broker.authz import split
from kproto.errors import ErrorCode


def _errors(req: dict, api_version: int, code: int) -> dict:
    return {"error_code": code, "throttle_time_ms": 0, "topics": []}


@handles(OFFSET_DELETE, "0", error_response=_errors)
def offset_delete(ctx, req: dict) -> dict:
    ctx.require(Op.DELETE, Resource.GROUP, req["group_id"])
    allowed, refused = split(ctx, Op.READ, Resource.TOPIC, req["topics"])
    if not refused:
        return ctx.broker.groups.delete_offsets(ctx, req)
    response = ctx.broker.groups.delete_offsets(ctx, {**req, "topics": allowed})
    response["topics"] = response.get("topics", []) + [
        {"name": t["name"], "partitions": [{"partition_index": p["partition_index"],
                                            "error_code": ErrorCode.TOPIC_AUTHORIZATION_FAILED}
                                           for p in t["partitions"]]} for t in refused]
    return response
