"""JoinGroup 0-9: join a classic group and wait for its rebalance to complete.

The request is parked in the group coordinator until every member has joined or the
rebalance timeout passes (v0 has no rebalance timeout: the session timeout serves).
v4+ first answers MEMBER_ID_REQUIRED with a member id; v5+ has static membership.
"""

from broker.registry import handles
from kproto.messages import JOIN_GROUP
from kproto.constants import AclOperation as Op, ResourceType as Resource


def _errors(req: dict, api_version: int, code: int) -> dict:
    return {"throttle_time_ms": 0, "error_code": code, "generation_id": -1,
            "protocol_name": None if api_version >= 7 else "", "leader": "", "member_id": req["member_id"],
            "members": []}


@handles(JOIN_GROUP, "0-9", may_wait=True, error_response=_errors)
async def join_group(ctx, req: dict) -> dict:
    ctx.require(Op.READ, Resource.GROUP, req["group_id"])
    return await ctx.broker.groups.join(ctx, req)
