"""ShareFetch 1-2: acknowledge, then acquire records of a share group's partitions (KIP-932),
waiting up to max_wait_ms when there is nothing to hand out."""

from broker.registry import handles
from kproto.messages import SHARE_FETCH
from kproto.constants import AclOperation as Op, ResourceType as Resource


def _error(req: dict, api_version: int, code: int) -> dict:
    return {"throttle_time_ms": 0, "error_code": code, "responses": [], "node_endpoints": []}


@handles(SHARE_FETCH, "1-2", may_wait=True, error_response=_error)
async def share_fetch(ctx, req: dict) -> dict:
    ctx.require(Op.READ, Resource.GROUP, req["group_id"] or "")
    return await ctx.broker.groups.share.fetch(ctx, req, ctx.broker)
