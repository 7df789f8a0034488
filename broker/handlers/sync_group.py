"""SyncGroup 0-5: the leader hands out assignments; every member waits for its own."""

from broker.registry import handles
from kproto.messages import SYNC_GROUP
from kproto.constants import AclOperation as Op, ResourceType as Resource


def _errors(req: dict, api_version: int, code: int) -> dict:
    return {"throttle_time_ms": 0, "error_code": code, "assignment": b""}


@handles(SYNC_GROUP, "0-5", may_wait=True, error_response=_errors)
async def sync_group(ctx, req: dict) -> dict:
    ctx.require(Op.READ, Resource.GROUP, req["group_id"])
    return await ctx.broker.groups.sync(ctx, req)
