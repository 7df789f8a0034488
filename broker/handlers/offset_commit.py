"""OffsetCommit 0-9: store a group's positions, durably, in __consumer_offsets.

The group coordinator first checks the committer (generation, member, state: a
simple commit with generation -1 is fine for a group without members). Unknown
partitions get UNKNOWN_TOPIC_OR_PARTITION, metadata over 4 KB OFFSET_METADATA_TOO_LARGE,
as Kafka's defaults; the rest is committed in one batch.
"""

from broker.clock import now_ms
from broker.registry import handles
from kproto.errors import ErrorCode
from kproto.messages import OFFSET_COMMIT

MAX_METADATA_BYTES = 4096   # offset.metadata.max.bytes


def _errors(req: dict, api_version: int, code: int) -> dict:
    return {"throttle_time_ms": 0, "topics": [
        {"name": t["name"], "partitions": [{"partition_index": p["partition_index"], "error_code": code}
                                           for p in t["partitions"]]} for t in req["topics"]]}


@handles(OFFSET_COMMIT, "0-9", error_response=_errors)
def offset_commit(ctx, req: dict) -> dict:
    groups = ctx.broker.groups
    storage = ctx.broker.storage
    code = groups.call("validate_commit", req["group_id"], req["generation_id_or_member_epoch"], req["member_id"],
                       req["group_instance_id"], ctx.api_version)
    if code:
        return _errors(req, ctx.api_version, code)
    now = now_ms()
    # v2-4: an explicit retention gives the offsets an expire timestamp (-1: the broker's retention)
    retention_ms = req["retention_time_ms"] if 2 <= ctx.api_version <= 4 else -1
    expire_timestamp = now + retention_ms if retention_ms != -1 else -1
    from broker.offsets import CommittedOffset   # the offsets layer loads after start-up

    accepted: dict[tuple[str, int], CommittedOffset] = {}
    topics = []
    for topic in req["topics"]:
        info = storage.topic(topic["name"])
        partitions = []
        for part in topic["partitions"]:
            index = part["partition_index"]
            metadata = part["committed_metadata"] or ""
            if info is None or not 0 <= index < info.num_partitions:
                code = ErrorCode.UNKNOWN_TOPIC_OR_PARTITION
            elif len(metadata.encode()) > MAX_METADATA_BYTES:
                code = ErrorCode.OFFSET_METADATA_TOO_LARGE
            else:
                code = ErrorCode.NONE
                commit_time = part["commit_timestamp"] if part["commit_timestamp"] >= 0 else now
                accepted[(topic["name"], index)] = CommittedOffset(
                    part["committed_offset"], part["committed_leader_epoch"], metadata, commit_time, expire_timestamp)
            partitions.append({"partition_index": index, "error_code": code})
        topics.append({"name": topic["name"], "partitions": partitions})
    groups.offsets.commit(req["group_id"], accepted, now)
    return {"throttle_time_ms": 0, "topics": topics}
