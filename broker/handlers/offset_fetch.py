"""OffsetFetch 0-9: a group's committed positions (v8+: several groups at once).

Topics null (v2+) means every committed offset of the group. A partition without a
committed offset, or an unknown group, answers offset -1 with no error, as Kafka does.
"""

from broker.registry import handles
from kproto.messages import OFFSET_FETCH
from kproto.constants import AclOperation as Op, ResourceType as Resource
from broker.authz import split
from kproto.errors import ErrorCode


def _errors(req: dict, api_version: int, code: int) -> dict:
    if api_version >= 8:
        return {"throttle_time_ms": 0, "groups": [
            {"group_id": g["group_id"], "topics": [], "error_code": code} for g in req["groups"]]}
    return {"throttle_time_ms": 0, "topics": [], "error_code": code}


@handles(OFFSET_FETCH, "0-9", error_response=_errors)
def offset_fetch(ctx, req: dict) -> dict:
    if ctx.broker.authorizer is None:
        return ctx.broker.groups.fetch_offsets(ctx, req)
    if ctx.api_version < 8:
        ctx.require(Op.DESCRIBE, Resource.GROUP, req["group_id"])
        response = ctx.broker.groups.fetch_offsets(ctx, req)
        _hide_topics(ctx, response, req["topics"] is None)
        return response
    allowed, refused = split(ctx, Op.DESCRIBE, Resource.GROUP, req["groups"], "group_id")
    response = ctx.broker.groups.fetch_offsets(ctx, {**req, "groups": allowed})
    for group, asked in zip(response["groups"], allowed):
        _hide_topics(ctx, group, asked["topics"] is None)
    response["groups"] += _errors({"groups": refused}, ctx.api_version, ErrorCode.GROUP_AUTHORIZATION_FAILED)["groups"]
    return response


def _hide_topics(ctx, answer: dict, all_topics: bool) -> None:
    """Topics the client may not describe: left out of an all-topics answer, else refused by partition."""
    allowed, refused = split(ctx, Op.DESCRIBE, Resource.TOPIC, answer["topics"])
    if all_topics:
        answer["topics"] = allowed
        return
    for topic in refused:
        for partition in topic["partitions"]:
            partition.update(committed_offset=-1, committed_leader_epoch=-1, metadata="",
                             error_code=ErrorCode.TOPIC_AUTHORIZATION_FAILED)
