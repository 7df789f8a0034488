"""LeaveGroup 0-5: members leave at once and the group rebalances. v3+ batches members
(static ones by instance id); v0-2 carry one member and a single error code."""

from broker.registry import handles
from kproto.messages import LEAVE_GROUP


def _errors(req: dict, api_version: int, code: int) -> dict:
    return {"throttle_time_ms": 0, "error_code": code, "members": []}


@handles(LEAVE_GROUP, "0-5", error_response=_errors)
def leave_group(ctx, req: dict) -> dict:
    if ctx.api_version < 3:
        members = [(req["member_id"], None)]
    else:
        members = [(m["member_id"], m["group_instance_id"]) for m in req["members"]]
    response = ctx.broker.groups.call("leave", req["group_id"], members)
    if ctx.api_version < 3:
        from broker.groups import legacy_leave_error   # the coordinator loads after start-up

        return {"throttle_time_ms": 0, "error_code": legacy_leave_error(response)}
    response["throttle_time_ms"] = 0
    return response
