"""ConsumerGroupHeartbeat 0-1: a KIP-848 member joins, reconciles, stays and leaves its group.

With the authorizer on, as Kafka 4 checks: READ on the group (else GROUP_AUTHORIZATION_FAILED),
then DESCRIBE on every topic the subscription names (else TOPIC_AUTHORIZATION_FAILED, the
heartbeat not handled). A regex subscription resolves only to topics the client may DESCRIBE."""

from broker.authz import any_undescribable
from kproto.errors import ErrorCode

from broker.registry import handles
from kproto.messages import CONSUMER_GROUP_HEARTBEAT
from kproto.constants import AclOperation as Op, ResourceType as Resource


def _error(req: dict, api_version: int, code: int) -> dict:
    return {"throttle_time_ms": 0, "error_code": code, "member_epoch": -1, "heartbeat_interval_ms": 0}


@handles(CONSUMER_GROUP_HEARTBEAT, "0-1", error_response=_error)
def consumer_group_heartbeat(ctx, req: dict) -> dict:
    ctx.require(Op.READ, Resource.GROUP, req["group_id"])
    if any_undescribable(ctx, req["subscribed_topic_names"]):
        return {"throttle_time_ms": 0, "error_code": ErrorCode.TOPIC_AUTHORIZATION_FAILED, "member_epoch": 0,
                "heartbeat_interval_ms": 0}
    describable = None
    if ctx.broker.authorizer is not None:
        def describable(names: set[str]) -> set[str]:
            return ctx.authorized(Op.DESCRIBE, Resource.TOPIC, names)
    return ctx.broker.groups.consumer.heartbeat(ctx, req, describable)
