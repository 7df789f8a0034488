"""ShareGroupHeartbeat 1: a share-group member joins, stays and leaves (KIP-932)."""

from broker.registry import handles
from kproto.messages import SHARE_GROUP_HEARTBEAT
from kproto.constants import AclOperation as Op, ResourceType as Resource


def _error(req: dict, api_version: int, code: int) -> dict:
    return {"throttle_time_ms": 0, "error_code": code, "member_epoch": -1}


@handles(SHARE_GROUP_HEARTBEAT, "1", error_response=_error)
def share_group_heartbeat(ctx, req: dict) -> dict:
    ctx.require(Op.READ, Resource.GROUP, req["group_id"])
    return ctx.broker.groups.share.heartbeat(ctx, req)
