"""DescribeShareGroupOffsets 0-1, AlterShareGroupOffsets 0, DeleteShareGroupOffsets 0: the start
offsets of a share group's partitions (altering and deleting only while it has no members)."""

from broker.registry import handles
from kproto.messages import ALTER_SHARE_GROUP_OFFSETS, DELETE_SHARE_GROUP_OFFSETS, DESCRIBE_SHARE_GROUP_OFFSETS
from kproto.constants import AclOperation as Op, ResourceType as Resource


def _describe_error(req: dict, api_version: int, code: int) -> dict:
    return {"throttle_time_ms": 0, "groups": [{"group_id": g["group_id"], "error_code": code}
                                              for g in req["groups"]]}


@handles(DESCRIBE_SHARE_GROUP_OFFSETS, "0-1", error_response=_describe_error)
def describe_share_group_offsets(ctx, req: dict) -> dict:
    return ctx.broker.groups.share.describe_offsets(ctx, req)


@handles(ALTER_SHARE_GROUP_OFFSETS, "0")
def alter_share_group_offsets(ctx, req: dict) -> dict:
    ctx.require(Op.READ, Resource.GROUP, req["group_id"])
    return ctx.broker.groups.share.alter_offsets(ctx, req)


@handles(DELETE_SHARE_GROUP_OFFSETS, "0")
def delete_share_group_offsets(ctx, req: dict) -> dict:
    ctx.require(Op.DELETE, Resource.GROUP, req["group_id"])
    return ctx.broker.groups.share.delete_offsets(ctx, req)
