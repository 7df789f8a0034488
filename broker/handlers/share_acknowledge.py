"""ShareAcknowledge 1-2: accept, release, reject or renew records a member holds."""

from broker.registry import handles
from kproto.messages import SHARE_ACKNOWLEDGE
from kproto.constants import AclOperation as Op, ResourceType as Resource


def _error(req: dict, api_version: int, code: int) -> dict:
    return {"throttle_time_ms": 0, "error_code": code, "responses": [], "node_endpoints": []}


@handles(SHARE_ACKNOWLEDGE, "1-2", error_response=_error)
async def share_acknowledge(ctx, req: dict) -> dict:
    ctx.require(Op.READ, Resource.GROUP, req["group_id"] or "")
    return await ctx.broker.groups.share.acknowledge(ctx, req, ctx.broker)
