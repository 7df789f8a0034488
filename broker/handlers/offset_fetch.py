"""OffsetFetch 0-9: a group's committed positions (v8+: several groups at once).

Topics null (v2+) means every committed offset of the group. A partition without a
committed offset, or an unknown group, answers offset -1 with no error, as Kafka does.
"""

from broker.registry import handles
from kproto.messages import OFFSET_FETCH


def _errors(req: dict, api_version: int, code: int) -> dict:
    if api_version >= 8:
        return {"throttle_time_ms": 0, "groups": [
            {"group_id": g["group_id"], "topics": [], "error_code": code} for g in req["groups"]]}
    return {"throttle_time_ms": 0, "topics": [], "error_code": code}


@handles(OFFSET_FETCH, "0-9", error_response=_errors)
def offset_fetch(ctx, req: dict) -> dict:
    return ctx.broker.groups.fetch_offsets(ctx, req)
