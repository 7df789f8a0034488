"""ShareGroupDescribe 1: state, epochs, members and assignments of share groups."""

from broker.registry import handles
from kproto.messages import SHARE_GROUP_DESCRIBE
from kproto.constants import AclOperation as Op, ResourceType as Resource
from broker.authz import split
from kproto.errors import ErrorCode


def _error(req: dict, api_version: int, code: int) -> dict:
    return {"throttle_time_ms": 0, "groups": [{"group_id": g, "error_code": code} for g in req["group_ids"]]}


@handles(SHARE_GROUP_DESCRIBE, "1", error_response=_error)
def share_group_describe(ctx, req: dict) -> dict:
    allowed, refused = split(ctx, Op.DESCRIBE, Resource.GROUP, [{"name": g} for g in req["group_ids"]])
    response = ctx.broker.groups.share.describe(ctx, {**req, "group_ids": [g["name"] for g in allowed]}
                                                 if refused else req)
    if req["include_authorized_operations"]:
        for group in response["groups"]:
            if not group.get("error_code"):
                group["authorized_operations"] = ctx.authorized_operations(Resource.GROUP, group["group_id"])
    response["groups"] += _error({"group_ids": [g["name"] for g in refused]}, ctx.api_version,
                                 ErrorCode.GROUP_AUTHORIZATION_FAILED)["groups"]
    return response
