"""DeleteGroups 0-2: delete groups without members, and their committed offsets."""

from broker.registry import handles
from kproto.messages import DELETE_GROUPS
from kproto.constants import AclOperation as Op, ResourceType as Resource
from broker.authz import split
from kproto.errors import ErrorCode


def _errors(req: dict, api_version: int, code: int) -> dict:
    return {"throttle_time_ms": 0, "results": [{"group_id": g, "error_code": code} for g in req["groups_names"]]}


@handles(DELETE_GROUPS, "0-2", error_response=_errors)
def delete_groups(ctx, req: dict) -> dict:
    allowed, refused = split(ctx, Op.DELETE, Resource.GROUP, [{"name": g} for g in req["groups_names"]])
    if not refused:
        return ctx.broker.groups.delete(ctx, req)
    response = ctx.broker.groups.delete(ctx, {**req, "groups_names": [g["name"] for g in allowed]})
    response["results"] += _errors({"groups_names": [g["name"] for g in refused]}, ctx.api_version,
                                   ErrorCode.GROUP_AUTHORIZATION_FAILED)["results"]
    return response
