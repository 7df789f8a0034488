"""OffsetCommit 0-9: store a group's positions, durably, in __consumer_offsets.

The group coordinator first checks the committer (generation, member, state: a
simple commit with generation -1 is fine for a group without members). Unknown
partitions get UNKNOWN_TOPIC_OR_PARTITION, metadata over offset.metadata.max.bytes
OFFSET_METADATA_TOO_LARGE, as Kafka's; the rest is committed in one batch.
"""

from broker.registry import handles
from kproto.messages import OFFSET_COMMIT
from kproto.constants import AclOperation as Op, ResourceType as Resource
from broker.authz import split
from kproto.errors import ErrorCode


def _errors(req: dict, api_version: int, code: int) -> dict:
    return {"throttle_time_ms": 0, "topics": [
        {"name": t["name"], "partitions": [{"partition_index": p["partition_index"], "error_code": code}
                                           for p in t["partitions"]]} for t in req["topics"]]}


@handles(OFFSET_COMMIT, "0-9", error_response=_errors)
def offset_commit(ctx, req: dict) -> dict:
    ctx.require(Op.READ, Resource.GROUP, req["group_id"])
    allowed, refused = split(ctx, Op.READ, Resource.TOPIC, req["topics"])
    if not refused:
        return ctx.broker.groups.commit_offsets(ctx, req)
    response = ctx.broker.groups.commit_offsets(ctx, {**req, "topics": allowed}) if allowed \
        else {"throttle_time_ms": 0, "topics": []}
    response["topics"] += _errors({"topics": refused}, ctx.api_version, ErrorCode.TOPIC_AUTHORIZATION_FAILED)["topics"]
    return response
