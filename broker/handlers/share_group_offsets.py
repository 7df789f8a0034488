"""DescribeShareGroupOffsets 0-1, AlterShareGroupOffsets 0, DeleteShareGroupOffsets 0: the start
offsets of a share group's partitions (altering and deleting only while it has no members).

With the authorizer on, as Kafka checks:
- Describe: DESCRIBE on each group (else GROUP_AUTHORIZATION_FAILED for it) and on each topic:
  a topic named and refused gets TOPIC_AUTHORIZATION_FAILED for its partitions; when all the
  group's topics are asked for, the refused ones are left out.
- Alter: READ on the group (else GROUP_AUTHORIZATION_FAILED), READ on each topic (else
  TOPIC_AUTHORIZATION_FAILED for its partitions).
- Delete: DELETE on the group (else GROUP_AUTHORIZATION_FAILED), READ on each topic (else
  TOPIC_AUTHORIZATION_FAILED for the topic).
"""

from broker.authz import GROUP_AUTHORIZATION_FAILED_MESSAGE, TOPIC_AUTHORIZATION_FAILED_MESSAGE, split
from broker.registry import handles
from kproto.constants import AclOperation as Op, ResourceType as Resource
from kproto.errors import ErrorCode
from kproto.messages import ALTER_SHARE_GROUP_OFFSETS, DELETE_SHARE_GROUP_OFFSETS, DESCRIBE_SHARE_GROUP_OFFSETS

NO_TOPIC_ID = bytes(16)
REFUSED = {"error_code": ErrorCode.TOPIC_AUTHORIZATION_FAILED, "error_message": TOPIC_AUTHORIZATION_FAILED_MESSAGE}


def _describe_error(req: dict, api_version: int, code: int) -> dict:
    return {"throttle_time_ms": 0, "groups": [{"group_id": g["group_id"], "error_code": code}
                                              for g in req["groups"]]}


def _top_error(req: dict, api_version: int, code: int) -> dict:
    """Alter's and Delete's whole-request error: Kafka sends the error's message with it."""
    message = GROUP_AUTHORIZATION_FAILED_MESSAGE if code == ErrorCode.GROUP_AUTHORIZATION_FAILED else None
    return {"throttle_time_ms": 0, "error_code": code, "error_message": message, "responses": []}


def _describe_refused_topic(topic: dict) -> dict:
    return {"topic_name": topic["topic_name"], "topic_id": NO_TOPIC_ID, "partitions": [
        {"partition_index": index, "start_offset": -1, "leader_epoch": 0, "lag": -1, **REFUSED}
        for index in topic["partitions"]]}


@handles(DESCRIBE_SHARE_GROUP_OFFSETS, "0-1", error_response=_describe_error)
def describe_share_group_offsets(ctx, req: dict) -> dict:
    door = ctx.broker.groups.share
    if ctx.broker.authorizer is None:
        return door.describe_offsets(ctx, req)
    groups = []
    for group in req["groups"]:
        if not ctx.authorize(Op.DESCRIBE, Resource.GROUP, group["group_id"]):
            groups.append({"group_id": group["group_id"], "topics": [],
                           "error_code": ErrorCode.GROUP_AUTHORIZATION_FAILED, "error_message": None})
            continue
        if group["topics"] is None:   # all the group's topics: those the client may not describe are left out
            answer = door.describe_offsets(ctx, {**req, "groups": [group]})["groups"][0]
            describable = ctx.authorized(Op.DESCRIBE, Resource.TOPIC, {t["topic_name"] for t in answer["topics"]})
            answer["topics"] = [t for t in answer["topics"] if t["topic_name"] in describable]
        else:
            allowed, refused = split(ctx, Op.DESCRIBE, Resource.TOPIC, group["topics"], key="topic_name")
            answer = door.describe_offsets(ctx, {**req, "groups": [{**group, "topics": allowed}]})["groups"][0]
            if not answer["error_code"]:
                answer["topics"] += [_describe_refused_topic(t) for t in refused]
        groups.append(answer)
    return {"throttle_time_ms": 0, "groups": groups}


@handles(ALTER_SHARE_GROUP_OFFSETS, "0", error_response=_top_error)
def alter_share_group_offsets(ctx, req: dict) -> dict:
    ctx.require(Op.READ, Resource.GROUP, req["group_id"])
    allowed, refused = split(ctx, Op.READ, Resource.TOPIC, req["topics"], key="topic_name")
    if not refused:
        return ctx.broker.groups.share.alter_offsets(ctx, req)
    response = ctx.broker.groups.share.alter_offsets(ctx, {**req, "topics": allowed})
    if not response["error_code"]:
        storage = ctx.broker.storage
        response["responses"] = [
            {"topic_name": t["topic_name"],
             "topic_id": info.topic_id.bytes if (info := storage.topic(t["topic_name"])) else NO_TOPIC_ID,
             "partitions": [{"partition_index": p["partition_index"], **REFUSED} for p in t["partitions"]]}
            for t in refused] + response["responses"]
    return response


@handles(DELETE_SHARE_GROUP_OFFSETS, "0", error_response=_top_error)
def delete_share_group_offsets(ctx, req: dict) -> dict:
    ctx.require(Op.DELETE, Resource.GROUP, req["group_id"])
    allowed, refused = split(ctx, Op.READ, Resource.TOPIC, req["topics"], key="topic_name")
    if not refused:
        return ctx.broker.groups.share.delete_offsets(ctx, req)
    response = ctx.broker.groups.share.delete_offsets(ctx, {**req, "topics": allowed})
    if not response["error_code"]:
        response["responses"] = [{"topic_name": t["topic_name"], "topic_id": NO_TOPIC_ID, **REFUSED}
                                 for t in refused] + response["responses"]
    return response
