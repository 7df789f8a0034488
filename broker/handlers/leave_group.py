"""LeaveGroup 0-5: members leave at once and the group rebalances. v3+ batches members
(static ones by instance id); v0-2 carry one member and a single error code."""

from broker.registry import handles
from kproto.messages import LEAVE_GROUP
from kproto.constants import AclOperation as Op, ResourceType as Resource


def _errors(req: dict, api_version: int, code: int) -> dict:
    return {"throttle_time_ms": 0, "error_code": code, "members": []}


@handles(LEAVE_GROUP, "0-5", error_response=_errors)
def leave_group(ctx, req: dict) -> dict:
    ctx.require(Op.READ, Resource.GROUP, req["group_id"])
    return ctx.broker.groups.leave(ctx, req)
