"""ConsumerGroupHeartbeat 0-1: a KIP-848 member joins, reconciles, stays and leaves its group."""

from broker.registry import handles
from kproto.messages import CONSUMER_GROUP_HEARTBEAT
from kproto.constants import AclOperation as Op, ResourceType as Resource


def _error(req: dict, api_version: int, code: int) -> dict:
    return {"throttle_time_ms": 0, "error_code": code, "member_epoch": -1, "heartbeat_interval_ms": 0}


@handles(CONSUMER_GROUP_HEARTBEAT, "0-1", error_response=_error)
def consumer_group_heartbeat(ctx, req: dict) -> dict:
    ctx.require(Op.READ, Resource.GROUP, req["group_id"])
    return ctx.broker.groups.consumer.heartbeat(ctx, req)
