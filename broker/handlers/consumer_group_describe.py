"""ConsumerGroupDescribe 0-1: state, epochs, members and assignments of KIP-848 groups."""

from broker.registry import handles
from kproto.messages import CONSUMER_GROUP_DESCRIBE


def _error(req: dict, api_version: int, code: int) -> dict:
    return {"throttle_time_ms": 0, "groups": [{"group_id": g, "error_code": code} for g in req["group_ids"]]}


@handles(CONSUMER_GROUP_DESCRIBE, "0-1", error_response=_error)
def consumer_group_describe(ctx, req: dict) -> dict:
    return ctx.broker.groups.consumer.describe(ctx, req)
