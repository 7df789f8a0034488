"""Helpers for the handlers' authorization checks, so that adding one is a line or two.

``ctx.authorize(op, resource_type, name)`` answers one question and ``ctx.require(...)``
refuses the whole request in the API's error shape; these split a request's items into
those the client may and may not touch, for the APIs that answer item by item.
While the authorizer is off every item is allowed and nothing is looked up.
"""

from __future__ import annotations

from broker.errors import storage_error_code
from kproto.constants import CLUSTER_NAME, AclOperation as Op, ResourceType
from kproto.errors import ErrorCode
from storage import validate_topic_name
from storage.errors import StorageError

# Kafka's Errors messages, which some APIs answer beside the code (ApiError(Errors.X) carries them)
TOPIC_AUTHORIZATION_FAILED_MESSAGE = "Topic authorization failed."
GROUP_AUTHORIZATION_FAILED_MESSAGE = "Group authorization failed."

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


def any_undescribable(ctx, topic_names) -> bool:
    """Whether the client may not DESCRIBE one of the topics (a KIP-848 or KIP-932 heartbeat's
    subscription, which Kafka then answers TOPIC_AUTHORIZATION_FAILED, as it does not let a
    client learn of topics it may not see)."""
    if ctx.broker.authorizer is None or not topic_names:
        return False
    names = set(topic_names)
    return len(ctx.authorized(Op.DESCRIBE, ResourceType.TOPIC, names)) < len(names)


HIDDEN_TOPICS_MESSAGE = "The group has described topic(s) that the client is not authorized to describe."


def describe_groups(ctx, req: dict, describe, assignment_keys: tuple[str, ...]) -> dict:
    """ConsumerGroupDescribe and ShareGroupDescribe with Kafka 4's checks: DESCRIBE on each group
    (else GROUP_AUTHORIZATION_FAILED, after the groups described), authorized operations for the
    groups described without error, and a group whose members' assignments (under
    ``assignment_keys``) name a topic the client may not DESCRIBE answered
    TOPIC_AUTHORIZATION_FAILED, without its members. ``describe(ctx, req)`` is the group door's."""
    allowed, refused = split(ctx, Op.DESCRIBE, ResourceType.GROUP, [{"name": g} for g in req["group_ids"]])
    response = describe(ctx, {**req, "group_ids": [g["name"] for g in allowed]} if refused else req)
    groups = response["groups"]
    if req["include_authorized_operations"]:
        for group in groups:
            if not group.get("error_code"):
                group["authorized_operations"] = ctx.authorized_operations(ResourceType.GROUP, group["group_id"])
    groups += [{"group_id": g["name"], "error_code": ErrorCode.GROUP_AUTHORIZATION_FAILED} for g in refused]
    if ctx.broker.authorizer is None:
        return response

    def topics(group: dict) -> set:
        return {tp["topic_name"] for member in group.get("members") or () for key in assignment_keys
                for tp in member[key]["topic_partitions"]}

    named = [topics(group) for group in groups]
    describable = ctx.authorized(Op.DESCRIBE, ResourceType.TOPIC, set().union(*named))
    response["groups"] = [group if names <= describable else
                          {"group_id": group["group_id"], "error_code": ErrorCode.TOPIC_AUTHORIZATION_FAILED,
                           "error_message": HIDDEN_TOPICS_MESSAGE, "members": []}
                          for group, names in zip(groups, named)]
    return response


def topic_reader(ctx):
    """``name -> may the client READ the topic?``, or None while the authorizer is off."""
    if ctx.broker.authorizer is None:
        return None
    return lambda name: ctx.authorize(Op.READ, ResourceType.TOPIC, name)


def writable_topic(ctx, name: str, may_create: bool = True):
    """(TopicInfo or None, topic error) for a produce to ``name``: WRITE on the topic, then an
    unknown topic auto-created (``may_create``) when the client may CREATE it (on the cluster or
    the topic), as Kafka's produce path does; else UNKNOWN_TOPIC_OR_PARTITION, or the storage's
    refusal of the name."""
    broker = ctx.broker
    if broker.authorizer is not None and not ctx.authorize(Op.WRITE, ResourceType.TOPIC, name):
        return None, ErrorCode.TOPIC_AUTHORIZATION_FAILED
    info = broker.storage.topic(name)
    if info is not None or not may_create:
        return info, 0
    try:
        validate_topic_name(name)
        if broker.authorizer is None or ctx.authorize(Op.CREATE, ResourceType.CLUSTER, CLUSTER_NAME) \
                or ctx.authorize(Op.CREATE, ResourceType.TOPIC, name):
            info = broker.auto_create(name)
    except StorageError as exc:
        return None, storage_error_code(exc)
    return info, 0 if info is not None else ErrorCode.UNKNOWN_TOPIC_OR_PARTITION
