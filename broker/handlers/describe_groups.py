"""DescribeGroups 0-5: state, protocol and members (with their metadata and assignments).

The group service describes; the authorized operations (v3+) are the broker's to say.
Without ACLs every group operation is allowed; not asked for, the schema's default
(-2^31, "not requested") goes out.
"""

from broker.registry import handles
from kproto.messages import DESCRIBE_GROUPS

# Kafka's AclOperation codes READ, DELETE, DESCRIBE: what may be done to a group.
GROUP_OPERATIONS = sum(1 << op for op in (3, 6, 8))


@handles(DESCRIBE_GROUPS, "0-5")
def describe_groups(ctx, req: dict) -> dict:
    response = ctx.broker.groups.describe(ctx, req)
    if req["include_authorized_operations"]:
        for group in response["groups"]:
            group["authorized_operations"] = GROUP_OPERATIONS
    return response
