"""DescribeGroups 0-5: state, protocol and members (with their metadata and assignments)."""

from broker.registry import handles
from kproto.constants import AUTHORIZED_OPERATIONS_OMITTED
from kproto.messages import DESCRIBE_GROUPS

# No ACLs: every group operation is allowed (Kafka's AclOperation codes READ, DELETE, DESCRIBE).
GROUP_OPERATIONS = sum(1 << op for op in (3, 6, 8))


@handles(DESCRIBE_GROUPS, "0-5")
def describe_groups(ctx, req: dict) -> dict:
    described = ctx.broker.groups.coordinator.describe(req["groups"])
    operations = GROUP_OPERATIONS if req["include_authorized_operations"] else AUTHORIZED_OPERATIONS_OMITTED
    for group in described:
        group["authorized_operations"] = operations
    return {"throttle_time_ms": 0, "groups": described}
