"""Heartbeat 0-4: keep a member's session alive; REBALANCE_IN_PROGRESS tells it to rejoin."""

from broker.registry import handles
from kproto.messages import HEARTBEAT
from kproto.constants import AclOperation as Op, ResourceType as Resource


@handles(HEARTBEAT, "0-4")
def heartbeat(ctx, req: dict) -> dict:
    ctx.require(Op.READ, Resource.GROUP, req["group_id"])
    return ctx.broker.groups.heartbeat(ctx, req)
