"""Heartbeat 0-4: keep a member's session alive; REBALANCE_IN_PROGRESS tells it to rejoin."""

from broker.registry import handles
from kproto.messages import HEARTBEAT


@handles(HEARTBEAT, "0-4")
def heartbeat(ctx, req: dict) -> dict:
    code = ctx.broker.groups.call(
        "heartbeat", req["group_id"], req["generation_id"], req["member_id"], req["group_instance_id"])
    return {"throttle_time_ms": 0, "error_code": code}
