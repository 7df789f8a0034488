"""SyncGroup 0-5: the leader hands out assignments; every member waits for its own."""

from broker.registry import handles
from kproto.messages import SYNC_GROUP


def _errors(req: dict, api_version: int, code: int) -> dict:
    return {"throttle_time_ms": 0, "error_code": code, "assignment": b""}


@handles(SYNC_GROUP, "0-5", may_wait=True, error_response=_errors)
async def sync_group(ctx, req: dict) -> dict:
    response = await ctx.broker.groups.wait_for(
        "sync", req["group_id"], req["generation_id"], req["member_id"], req["group_instance_id"],
        req["protocol_type"], req["protocol_name"], [(a["member_id"], a["assignment"]) for a in req["assignments"]])
    response["throttle_time_ms"] = 0
    return response
