"""DeleteGroups 0-2: delete groups without members, and their committed offsets."""

from broker.registry import handles
from kproto.messages import DELETE_GROUPS


def _errors(req: dict, api_version: int, code: int) -> dict:
    return {"throttle_time_ms": 0, "results": [{"group_id": g, "error_code": code} for g in req["groups_names"]]}


@handles(DELETE_GROUPS, "0-2", error_response=_errors)
def delete_groups(ctx, req: dict) -> dict:
    return ctx.broker.groups.delete(ctx, req)
