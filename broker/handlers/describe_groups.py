"""DescribeGroups 0-5: state, protocol and members (with their metadata and assignments).

The group service describes; the authorized operations (v3+) are the broker's to say.
Without ACLs every group operation is allowed; not asked for, the schema's default
(AUTHORIZED_OPERATIONS_OMITTED, "not requested") goes out.
"""

from broker.registry import handles
from kproto.constants import AclOperation, authorized_operations
from kproto.messages import DESCRIBE_GROUPS

# What may be done to a group.
GROUP_OPERATIONS = authorized_operations(AclOperation.READ, AclOperation.DELETE, AclOperation.DESCRIBE)


@handles(DESCRIBE_GROUPS, "0-5")
def describe_groups(ctx, req: dict) -> dict:
    response = ctx.broker.groups.describe(ctx, req)
    if req["include_authorized_operations"]:
        for group in response["groups"]:
            group["authorized_operations"] = GROUP_OPERATIONS
    return response
