"""DescribeGroups 0-6: state, protocol and members (with their metadata and assignments).

The group service describes; the authorized operations (v3+) are the broker's to say,
from the ACLs (without an authorizer every group operation), for each group described
without error; otherwise, or not asked for, the schema's default
(AUTHORIZED_OPERATIONS_OMITTED, "not requested") goes out. A group the client may
not DESCRIBE is answered GROUP_AUTHORIZATION_FAILED.

DescribeGroups describes classic groups. A group id no classic group has (unknown, or a
KIP-848 consumer group or a share group) is answered Dead with no error up to v5; v6
(KIP-1043) answers it GROUP_ID_NOT_FOUND, still Dead, with Kafka's message saying which.
"""

from broker.registry import handles
from broker.authz import split
from kproto.constants import AclOperation as Op, ResourceType as Resource
from kproto.errors import ErrorCode
from kproto.messages import DESCRIBE_GROUPS

FIRST_NOT_FOUND_VERSION = 6


def _error(req: dict, api_version: int, code: int) -> dict:
    """Each group with the error, its other fields empty, as Kafka's getErrorDescribedGroupList."""
    return {"throttle_time_ms": 0, "groups": [
        {"error_code": code, "group_id": g, "group_state": "", "protocol_type": "", "protocol_data": "",
         "members": []} for g in req["groups"]]}


@handles(DESCRIBE_GROUPS, "0-6", error_response=_error)
def describe_groups(ctx, req: dict) -> dict:
    groups = ctx.broker.groups
    allowed, refused = split(ctx, Op.DESCRIBE, Resource.GROUP, [{"name": g} for g in req["groups"]])
    response = groups.describe(ctx, {**req, "groups": [g["name"] for g in allowed]} if refused else req)
    if ctx.api_version >= FIRST_NOT_FOUND_VERSION:
        for group in response["groups"]:
            group_id = group["group_id"]
            if group["error_code"] == ErrorCode.NONE and group_id is not None \
                    and groups.group_type(group_id) != "classic":
                group["error_code"] = ErrorCode.GROUP_ID_NOT_FOUND
                group["error_message"] = (f"Group {group_id} not found." if groups.group_type(group_id) is None
                                          else f"Group {group_id} is not a classic group.")
    if req["include_authorized_operations"]:
        for group in response["groups"]:
            if group["error_code"] == ErrorCode.NONE:   # as Kafka: only for a group described
                group["authorized_operations"] = ctx.authorized_operations(Resource.GROUP, group["group_id"])
    response["groups"] += _error({"groups": [g["name"] for g in refused]}, ctx.api_version,
                                 ErrorCode.GROUP_AUTHORIZATION_FAILED)["groups"]
    return response
