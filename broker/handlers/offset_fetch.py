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


def group_offsets(groups, group_id: str, topics: list | None) -> tuple[list[dict], int]:
    """The response topics of one group, and its error code."""
    code = groups.coordinator.validate_offset_fetch(group_id)
    if code:
        return [], code
    committed = groups.offsets.group_offsets(group_id)
    if topics is None:
        wanted: dict[str, list[int]] = {}
        for topic, partition in sorted(committed):
            wanted.setdefault(topic, []).append(partition)
    else:
        wanted = {t["name"]: t["partition_indexes"] for t in topics}
    result = []
    for name, partitions in wanted.items():
        entries = []
        for index in partitions:
            c = committed.get((name, index))
            entries.append({"partition_index": index, "error_code": 0,
                            "committed_offset": c.offset if c else -1,
                            "committed_leader_epoch": c.leader_epoch if c else -1,
                            "metadata": c.metadata if c else ""})
        result.append({"name": name, "partitions": entries})
    return result, 0


@handles(OFFSET_FETCH, "0-9", error_response=_errors)
def offset_fetch(ctx, req: dict) -> dict:
    groups = ctx.broker.groups
    if ctx.api_version >= 8:
        answers = []
        for group in req["groups"]:
            topics, code = group_offsets(groups, group["group_id"], group["topics"])
            answers.append({"group_id": group["group_id"], "topics": topics, "error_code": code})
        return {"throttle_time_ms": 0, "groups": answers}
    topics, code = group_offsets(groups, req["group_id"], req["topics"])
    return {"throttle_time_ms": 0, "topics": topics, "error_code": code}
