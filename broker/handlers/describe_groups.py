"""DescribeGroups 0-5: state, protocol and members (with their metadata and assignments).

The group service describes; the authorized operations (v3+) are the broker's to say,
from the ACLs (without an authorizer every group operation); not asked for, the schema's
default (AUTHORIZED_OPERATIONS_OMITTED, "not requested") goes out. A group the client may
not DESCRIBE is answered GROUP_AUTHORIZATION_FAILED.
"""

from broker.registry import handles
from broker.authz import split
from kproto.constants import AclOperation as Op, ResourceType as Resource
from kproto.errors import ErrorCode
from kproto.messages import DESCRIBE_GROUPS


@handles(DESCRIBE_GROUPS, "0-5")
def describe_groups(ctx, req: dict) -> dict:
    allowed, refused = split(ctx, Op.DESCRIBE, Resource.GROUP, [{"name": g} for g in req["groups"]])
    response = ctx.broker.groups.describe(ctx, {**req, "groups": [g["name"] for g in allowed]} if refused else req)
    if req["include_authorized_operations"]:
        for group in response["groups"]:
            group["authorized_operations"] = ctx.authorized_operations(Resource.GROUP, group["group_id"])
    response["groups"] += [{"error_code": ErrorCode.GROUP_AUTHORIZATION_FAILED, "group_id": g["name"],
                            "group_state": "", "protocol_type": "", "protocol_data": "", "members": []}
                           for g in refused]
    return response
