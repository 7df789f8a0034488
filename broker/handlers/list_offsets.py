"""ListOffsets 0-10: offsets by time, and the special times Kafka names (v0: list_offsets_legacy.py).

-2 earliest (log start), -1 latest (high watermark, or last stable offset for
read_committed), -3 the record with the largest timestamp (v7+), -4 earliest local
(v8+: the log start, as nothing is tiered), -5 latest tiered (v9+: none, offset -1).
Any other time finds the first record at or after it.
"""

from broker.errors import storage_error_code
from broker.handlers.list_offsets_legacy import list_offsets_v0
from broker.registry import handles
from kproto.constants import (EARLIEST_LOCAL_TIMESTAMP, EARLIEST_TIMESTAMP, LATEST_TIERED_TIMESTAMP,
                              LATEST_TIMESTAMP, MAX_TIMESTAMP, IsolationLevel)
from kproto.errors import ErrorCode
from kproto.messages import LIST_OFFSETS
from storage.errors import StorageError
from kproto.constants import AclOperation as Op, ResourceType as Resource

LEADER_EPOCH = 0


def _errors(req: dict, api_version: int, code: int) -> dict:
    return {"throttle_time_ms": 0, "topics": [
        {"name": t["name"], "partitions": [{"partition_index": p["partition_index"], "error_code": code}
                                           for p in t["partitions"]]} for t in req["topics"]]}


def lookup(log, timestamp: int, read_committed: bool) -> tuple[int, int]:
    """(offset, timestamp) for one ListOffsets target; (-1, -1) when there is none."""
    if timestamp == LATEST_TIMESTAMP:
        return (log.last_stable_offset if read_committed else log.high_watermark), -1
    if timestamp in (EARLIEST_TIMESTAMP, EARLIEST_LOCAL_TIMESTAMP):
        return log.log_start_offset, -1
    if timestamp == LATEST_TIERED_TIMESTAMP:
        return -1, -1
    if timestamp == MAX_TIMESTAMP:
        offset, ts = log.max_timestamp()
    else:
        found = log.offset_for_timestamp(timestamp)
        offset, ts = found if found is not None else (-1, -1)
    if read_committed and offset >= log.last_stable_offset:
        return -1, -1
    return offset, ts


@handles(LIST_OFFSETS, "0-10", error_response=_errors)
def list_offsets(ctx, req: dict) -> dict:
    if ctx.api_version == 0:
        return list_offsets_v0(ctx, req)
    storage = ctx.broker.storage
    read_committed = req["isolation_level"] == IsolationLevel.READ_COMMITTED
    topics = []
    for topic in req["topics"]:
        name = topic["name"]
        info = storage.topic(name)
        refused = not ctx.authorize(Op.DESCRIBE, Resource.TOPIC, name)
        seen = set()
        partitions = []
        for part in topic["partitions"]:
            index = part["partition_index"]
            entry = {"partition_index": index, "error_code": 0, "timestamp": -1, "offset": -1, "leader_epoch": -1}
            if refused:
                entry["error_code"] = ErrorCode.TOPIC_AUTHORIZATION_FAILED
            elif index in seen:
                entry["error_code"] = ErrorCode.INVALID_REQUEST
            elif info is None or not 0 <= index < info.num_partitions:
                entry["error_code"] = ErrorCode.UNKNOWN_TOPIC_OR_PARTITION
            else:
                try:
                    offset, ts = lookup(storage.partition(name, index), part["timestamp"], read_committed)
                except StorageError as exc:
                    entry["error_code"] = storage_error_code(exc)
                else:
                    entry.update(offset=offset, timestamp=ts, leader_epoch=LEADER_EPOCH if offset >= 0 else -1)
            seen.add(index)
            partitions.append(entry)
        topics.append({"name": name, "partitions": partitions})
    return {"throttle_time_ms": 0, "topics": topics}
