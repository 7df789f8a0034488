"""ListGroups 0-5: the groups this broker coordinates; v4+ filter by state, v5+ by type."""

from broker.registry import handles
from kproto.messages import LIST_GROUPS
from broker.authz import split
from kproto.constants import CLUSTER_NAME, AclOperation as Op, ResourceType as Resource


@handles(LIST_GROUPS, "0-5")
def list_groups(ctx, req: dict) -> dict:
    response = ctx.broker.groups.list_groups(ctx, req)
    if not ctx.authorize(Op.DESCRIBE, Resource.CLUSTER, CLUSTER_NAME):   # then only the groups it may describe
        response["groups"] = split(ctx, Op.DESCRIBE, Resource.GROUP, response["groups"], "group_id")[0]
    return response
