"""ListGroups 0-5: the groups this broker coordinates; v4+ filter by state, v5+ by type."""

from broker.registry import handles
from kproto.messages import LIST_GROUPS


@handles(LIST_GROUPS, "0-5")
def list_groups(ctx, req: dict) -> dict:
    return ctx.broker.groups.list_groups(ctx, req)
