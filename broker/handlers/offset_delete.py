"""OffsetDelete 0: delete some committed offsets of a group.

Refused for a live group that is not a consumer group (NON_EMPTY_GROUP), and per
topic while a consumer group is subscribed to it (GROUP_SUBSCRIBED_TO_TOPIC).
"""

from broker.registry import handles
from kproto.messages import OFFSET_DELETE


def _errors(req: dict, api_version: int, code: int) -> dict:
    return {"error_code": code, "throttle_time_ms": 0, "topics": []}


@handles(OFFSET_DELETE, "0", error_response=_errors)
def offset_delete(ctx, req: dict) -> dict:
    return ctx.broker.groups.delete_offsets(ctx, req)
