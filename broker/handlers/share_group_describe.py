"""ShareGroupDescribe 1: state, epochs, members and assignments of share groups."""

from broker.registry import handles
from kproto.messages import SHARE_GROUP_DESCRIBE


def _error(req: dict, api_version: int, code: int) -> dict:
    return {"throttle_time_ms": 0, "groups": [{"group_id": g, "error_code": code} for g in req["group_ids"]]}


@handles(SHARE_GROUP_DESCRIBE, "1", error_response=_error)
def share_group_describe(ctx, req: dict) -> dict:
    return ctx.broker.groups.share.describe(ctx, req)
