"""ListOffsets v0: up to max_num_offsets offsets "before" a time, from the log's segments.

Kafka 3.9 answers v0 from its segment files, not from record timestamps: each segment
stands for its base offset (at least the log start offset) and the time its file was last
modified, and a non-empty last segment adds the log end offset at the current time. Time
-1 (latest) starts from the last of these, -2 (earliest) from the first, any other time
from the last one modified at or before it; the answer is that offset and the ones before
it, at most max_num_offsets, largest first. A consumer (replica id -1) never sees an offset
above the high watermark. No partition is refused for appearing twice, unlike v1+.
"""

from broker.clock import now_ms
from broker.errors import storage_error_code
from kproto.constants import EARLIEST_TIMESTAMP, LATEST_TIMESTAMP
from kproto.errors import ErrorCode
from storage.errors import StorageError

CONSUMER_REPLICA_ID = -1


def offsets_before(log, timestamp: int, max_num_offsets: int, now: int) -> list[int]:
    """The v0 answer for one partition (Kafka's legacyFetchOffsetsBefore)."""
    segments = log.segment_times()
    start_offset = log.log_start_offset
    points = [(max(base, start_offset), modified_ms) for base, _, modified_ms in segments]
    if segments[-1][1] > 0:
        points.append((log.log_end_offset, now))
    if timestamp == LATEST_TIMESTAMP:
        start = len(points) - 1
    elif timestamp == EARLIEST_TIMESTAMP:
        start = 0
    else:
        start = len(points) - 1
        while start >= 0 and points[start][1] > timestamp:
            start -= 1
    count = min(max_num_offsets, start + 1)
    return sorted((points[start - j][0] for j in range(count)), reverse=True)


def list_offsets_v0(ctx, req: dict) -> dict:
    storage = ctx.broker.storage
    from_consumer = req["replica_id"] == CONSUMER_REPLICA_ID
    now = now_ms()
    topics = []
    for topic in req["topics"]:
        name = topic["name"]
        info = storage.topic(name)
        partitions = []
        for part in topic["partitions"]:
            index = part["partition_index"]
            entry = {"partition_index": index, "error_code": 0, "old_style_offsets": []}
            partitions.append(entry)
            if info is None or not 0 <= index < info.num_partitions:
                entry["error_code"] = ErrorCode.UNKNOWN_TOPIC_OR_PARTITION
                continue
            if part["max_num_offsets"] < 0:   # Kafka fails to size its answer: an unexpected error
                entry["error_code"] = ErrorCode.UNKNOWN_SERVER_ERROR
                continue
            try:
                log = storage.partition(name, index)
                offsets = offsets_before(log, part["timestamp"], part["max_num_offsets"], now)
            except StorageError as exc:
                entry["error_code"] = storage_error_code(exc)
                continue
            high_watermark = log.high_watermark
            if from_consumer and any(o > high_watermark for o in offsets):
                offsets = [high_watermark] + [o for o in offsets if o <= high_watermark]
            entry["old_style_offsets"] = offsets
        topics.append({"name": name, "partitions": partitions})
    return {"topics": topics}
