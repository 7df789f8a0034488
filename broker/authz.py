"""Helpers for the handlers' authorization checks, so that adding one is a line or two.

``ctx.authorize(op, resource_type, name)`` answers one question and ``ctx.require(...)``
refuses the whole request in the API's error shape; these split a request's items into
those the client may and may not touch, for the APIs that answer item by item.
While the authorizer is off every item is allowed and nothing is looked up.
"""

from __future__ import annotations

from kproto.constants import CLUSTER_NAME, ResourceType
from kproto.errors import ErrorCode

# DescribeConfigs/AlterConfigs resource types -> the ACL resource they are checked on, and its error
_CONFIG_RESOURCES = {
    2: (ResourceType.TOPIC, None, ErrorCode.TOPIC_AUTHORIZATION_FAILED),          # TOPIC
    4: (ResourceType.CLUSTER, CLUSTER_NAME, ErrorCode.CLUSTER_AUTHORIZATION_FAILED),   # BROKER
    8: (ResourceType.CLUSTER, CLUSTER_NAME, ErrorCode.CLUSTER_AUTHORIZATION_FAILED),   # BROKER_LOGGER
    16: (ResourceType.CLUSTER, CLUSTER_NAME, ErrorCode.CLUSTER_AUTHORIZATION_FAILED),  # CLIENT_METRICS
    32: (ResourceType.GROUP, None, ErrorCode.GROUP_AUTHORIZATION_FAILED),          # GROUP
}


def split(ctx, operation: int, resource_type: int, items: list, key: str = "name") -> tuple[list, list]:
    """(items allowed, items refused), each in request order, by the name under ``key``."""
    if ctx.broker.authorizer is None:
        return items, []
    allowed, refused = [], []
    for item in items:
        (allowed if ctx.authorize(operation, resource_type, item[key]) else refused).append(item)
    return allowed, refused


def config_refusal(ctx, operation: int, config_resource_type: int, name: str) -> int:
    """0 if the client may do ``operation`` (DESCRIBE_CONFIGS, ALTER_CONFIGS) on a config resource,
    else the error code to answer for it."""
    if ctx.broker.authorizer is None:
        return 0
    target = _CONFIG_RESOURCES.get(config_resource_type)
    if target is None:
        return 0     # the handler refuses unknown resource types itself
    resource_type, fixed_name, code = target
    return 0 if ctx.authorize(operation, resource_type, fixed_name or name) else code
