"""The console's consumer group pages: groups with their lag, one group's members, assignments,
committed offsets and lag per partition, its lag over time; resetting and deleting.

Everything is asked of the group coordinator as Kafka clients ask it (broker/web/calls.py):
ListGroups v5, DescribeGroups v5 (classic groups; assignments decoded from the consumer
protocol), ConsumerGroupDescribe v1 (KIP-848 groups), OffsetFetch v8 (many groups in one
request), OffsetCommit v8 (a reset) and DeleteGroups v2. Lag is the partition's log end
offset less the committed offset (none without a commit), as kafka-consumer-groups shows it.

``LagHistory`` samples every group's lag every ``http.lag.sample.interval.ms`` into a ring
of HISTORY_SAMPLES, for the chart KafkaOffsetMonitor drew: total lag and lag per topic.
"""

from __future__ import annotations

import logging
import struct
import time
from collections import deque

import anyio

from broker.web.calls import call, error_name, http_status, request_for
from broker.web.httpserver import HttpError, Request
from kproto.api_keys import ApiKey
from storage.errors import StorageError

log = logging.getLogger("kbroker.http")

HISTORY_SAMPLES = 360
EMPTY_STATES = {"empty", "dead"}


def list_groups(broker) -> list[dict]:
    response = call(broker, ApiKey.LIST_GROUPS, 5, request_for(ApiKey.LIST_GROUPS, 5))
    return sorted(response["groups"], key=lambda g: g["group_id"])


def committed_offsets(broker, group_ids: list[str]) -> dict[str, dict[tuple[str, int], int]]:
    """Committed offsets of each group, by (topic, partition), in one OffsetFetch v8."""
    if not group_ids:
        return {}
    response = call(broker, ApiKey.OFFSET_FETCH, 8, request_for(
        ApiKey.OFFSET_FETCH, 8, groups=[{"group_id": g, "topics": None} for g in group_ids], require_stable=False))
    found: dict[str, dict[tuple[str, int], int]] = {}
    for group in response["groups"]:
        offsets = found.setdefault(group["group_id"], {})
        for topic in group["topics"]:
            for part in topic["partitions"]:
                if part["committed_offset"] >= 0:
                    offsets[(topic["name"], part["partition_index"])] = part["committed_offset"]
    return found


def _end_offset(storage, topic: str, partition: int) -> int | None:
    try:
        return storage.partition(topic, partition).log_end_offset
    except StorageError:
        return None


def lag_of(storage, offsets: dict[tuple[str, int], int]) -> tuple[int, dict[str, int]]:
    """Total lag and lag per topic of committed offsets."""
    total, per_topic = 0, {}
    for (topic, partition), committed in offsets.items():
        end = _end_offset(storage, topic, partition)
        if end is None:
            continue
        lag = max(end - committed, 0)
        total += lag
        per_topic[topic] = per_topic.get(topic, 0) + lag
    return total, per_topic


def group_rows(broker) -> list[dict]:
    groups = list_groups(broker)
    offsets = committed_offsets(broker, [g["group_id"] for g in groups])
    members = _member_counts(broker, groups)
    rows = []
    for g in groups:
        committed = offsets.get(g["group_id"], {})
        total, per_topic = lag_of(broker.storage, committed)
        rows.append({"group_id": g["group_id"], "type": g.get("group_type") or "classic",
                     "state": g["group_state"], "protocol_type": g["protocol_type"],
                     "members": members.get(g["group_id"], 0), "topics": sorted(per_topic),
                     "partitions": len(committed), "lag": total})
    return rows


def _member_counts(broker, groups: list[dict]) -> dict[str, int]:
    classic = [g["group_id"] for g in groups if (g.get("group_type") or "classic") == "classic"]
    consumer = [g["group_id"] for g in groups if g.get("group_type") == "consumer"]
    counts = {}
    if classic:
        for g in _describe_classic(broker, classic):
            counts[g["group_id"]] = len(g["members"])
    if consumer:
        for g in _describe_consumer(broker, consumer):
            counts[g["group_id"]] = len(g["members"])
    return counts


def _describe_classic(broker, group_ids: list[str]) -> list[dict]:
    return call(broker, ApiKey.DESCRIBE_GROUPS, 5, request_for(
        ApiKey.DESCRIBE_GROUPS, 5, groups=group_ids, include_authorized_operations=False))["groups"]


def _describe_consumer(broker, group_ids: list[str]) -> list[dict]:
    return call(broker, ApiKey.CONSUMER_GROUP_DESCRIBE, 1, request_for(
        ApiKey.CONSUMER_GROUP_DESCRIBE, 1, group_ids=group_ids, include_authorized_operations=False))["groups"]


def decode_assignment(data: bytes) -> list[tuple[str, list[int]]]:
    """The topics and partitions of a classic consumer's assignment (ConsumerProtocolAssignment);
    [] if it is not one (another protocol type)."""
    try:
        view = memoryview(bytes(data))
        pos = 2   # version
        (count,) = struct.unpack_from(">i", view, pos)
        pos += 4
        result = []
        for _ in range(max(count, 0)):
            (size,) = struct.unpack_from(">h", view, pos)
            pos += 2
            topic = bytes(view[pos:pos + size]).decode()
            pos += size
            (n,) = struct.unpack_from(">i", view, pos)
            pos += 4
            partitions = list(struct.unpack_from(f">{max(n, 0)}i", view, pos))
            pos += 4 * max(n, 0)
            result.append((topic, partitions))
        return result
    except (struct.error, UnicodeDecodeError, ValueError):
        return []


def describe_group(broker, group_id: str, history: "LagHistory | None") -> dict:
    listed = {g["group_id"]: g for g in list_groups(broker)}
    offsets = committed_offsets(broker, [group_id]).get(group_id, {})
    if group_id not in listed and not offsets:
        raise HttpError(404, f"no group {group_id!r}")
    entry = listed.get(group_id, {"group_id": group_id, "group_type": "classic", "group_state": "Empty",
                                  "protocol_type": ""})
    kind = entry.get("group_type") or "classic"
    members, owner = [], {}
    if kind == "consumer":
        [described] = _describe_consumer(broker, [group_id])
        for m in described["members"]:
            assignment = [(tp["topic_name"], sorted(tp["partitions"])) for tp in m["assignment"]["topic_partitions"]]
            members.append(_member(m["member_id"], m["instance_id"], m["client_id"], m["client_host"], assignment))
    elif kind == "classic":
        [described] = _describe_classic(broker, [group_id])
        for m in described["members"]:
            assignment = decode_assignment(m["member_assignment"]) if entry["protocol_type"] == "consumer" else []
            members.append(_member(m["member_id"], m["group_instance_id"], m["client_id"], m["client_host"],
                                   assignment))
    for m in members:
        for topic, partitions in m["assignment"]:
            for p in partitions:
                owner[(topic, p)] = m
    storage = broker.storage
    keys = sorted(set(offsets) | set(owner))
    partitions, total = [], 0
    for topic, partition in keys:
        end = _end_offset(storage, topic, partition)
        committed = offsets.get((topic, partition))
        lag = None if committed is None or end is None else max(end - committed, 0)
        total += lag or 0
        member = owner.get((topic, partition))
        partitions.append({"topic": topic, "partition": partition, "committed": committed, "end": end, "lag": lag,
                           "member_id": member["member_id"] if member else None,
                           "client_id": member["client_id"] if member else None,
                           "host": member["client_host"] if member else None})
    for m in members:
        m["assignment"] = [{"topic": t, "partitions": p} for t, p in m["assignment"]]
    return {"group_id": group_id, "type": kind, "state": entry["group_state"],
            "protocol_type": entry["protocol_type"], "members": members, "partitions": partitions, "lag": total,
            "history": history.of(group_id) if history is not None else []}


def _member(member_id, instance_id, client_id, client_host, assignment) -> dict:
    return {"member_id": member_id, "instance_id": instance_id, "client_id": client_id, "client_host": client_host,
            "assignment": assignment}


# -- changes --------------------------------------------------------------------------------------

def _require_inactive(broker, group_id: str, action: str) -> dict:
    listed = {g["group_id"]: g for g in list_groups(broker)}
    entry = listed.get(group_id)
    if entry is not None and entry["group_state"].lower() not in EMPTY_STATES:
        raise HttpError(409, f"cannot {action} group {group_id!r}: it is {entry['group_state']}, "
                             "and only an empty group (no members) can be changed")
    return entry or {}


def reset_offsets(broker, request: Request, group_id: str) -> dict:
    """``{"to": "earliest"|"latest"|"timestamp", "timestamp": ms, "topic": name?}`` for an empty group."""
    body = request.json_object()
    to = body.get("to")
    if to not in ("earliest", "latest", "timestamp"):
        raise HttpError(400, "to must be earliest, latest or timestamp")
    timestamp = body.get("timestamp")
    if to == "timestamp" and (not isinstance(timestamp, int) or isinstance(timestamp, bool)):
        raise HttpError(400, "give timestamp (milliseconds since the epoch)")
    topic_filter = body.get("topic")
    if topic_filter is not None and not isinstance(topic_filter, str):
        raise HttpError(400, "topic must be text")
    entry = _require_inactive(broker, group_id, "reset the offsets of")
    offsets = committed_offsets(broker, [group_id]).get(group_id, {})
    storage = broker.storage
    if topic_filter is not None:
        info = storage.topic(topic_filter)
        if info is None:
            raise HttpError(404, f"no topic {topic_filter!r}")
        keys = [(topic_filter, p) for p in range(info.num_partitions)]
    else:
        keys = sorted(offsets)
    if not entry and not offsets:
        raise HttpError(404, f"no group {group_id!r}")
    if not keys:
        raise HttpError(400, "the group has no committed offsets: name a topic")
    new: dict[str, list[dict]] = {}
    for topic, partition in keys:
        try:
            log = storage.partition(topic, partition)
        except StorageError:
            continue
        if to == "earliest":
            offset = log.log_start_offset
        elif to == "latest":
            offset = log.log_end_offset
        else:
            hit = log.offset_for_timestamp(timestamp)
            offset = hit[0] if hit is not None else log.log_end_offset
        new.setdefault(topic, []).append({"partition_index": partition, "committed_offset": offset,
                                          "committed_leader_epoch": -1, "commit_timestamp": -1,
                                          "committed_metadata": ""})
    response = call(broker, ApiKey.OFFSET_COMMIT, 8, request_for(
        ApiKey.OFFSET_COMMIT, 8, group_id=group_id, generation_id_or_member_epoch=-1, member_id="",
        group_instance_id=None, topics=[{"name": t, "partitions": p} for t, p in new.items()]),
        client_host=request.peer, principal=request.principal)
    codes = [p["error_code"] for t in response["topics"] for p in t["partitions"] if p["error_code"]]
    errors = [f"{t['name']}-{p['partition_index']}: {error_name(p['error_code'])}"
              for t in response["topics"] for p in t["partitions"] if p["error_code"]]
    if errors:
        raise HttpError(max(http_status(code, 400) for code in codes), "; ".join(errors[:10]))
    return {"group_id": group_id, "offsets": [{"topic": t, "partition": p["partition_index"],
                                               "offset": p["committed_offset"]} for t, ps in new.items() for p in ps]}


def delete_group(broker, request: Request, group_id: str, history: "LagHistory | None" = None) -> dict:
    _require_inactive(broker, group_id, "delete")
    response = call(broker, ApiKey.DELETE_GROUPS, 2, request_for(ApiKey.DELETE_GROUPS, 2, groups_names=[group_id]),
                    client_host=request.peer, principal=request.principal)
    [result] = response["results"]
    if result["error_code"]:
        status = http_status(result["error_code"], 404 if result["error_code"] == 69 else 409)   # GROUP_ID_NOT_FOUND
        raise HttpError(status, error_name(result["error_code"]))
    if history is not None:
        history.forget(group_id)
    return {"deleted": group_id}


# -- the lag chart ---------------------------------------------------------------------------------

class LagHistory:
    """Each group's lag every ``interval_ms``: (time ms, total lag, lag by topic), newest last."""

    def __init__(self, broker, interval_ms: int):
        self.broker = broker
        self.interval_ms = max(interval_ms, 50)
        self.samples: dict[str, deque] = {}
        self.cost_ns = 0       # of the last sample, for /metrics

    def sample(self) -> None:
        started = time.perf_counter_ns()
        broker = self.broker
        groups = [g["group_id"] for g in list_groups(broker)]
        offsets = committed_offsets(broker, groups)
        now = int(time.time() * 1000)
        for group_id in groups:
            total, per_topic = lag_of(broker.storage, offsets.get(group_id, {}))
            ring = self.samples.get(group_id)
            if ring is None:
                ring = self.samples[group_id] = deque(maxlen=HISTORY_SAMPLES)
            ring.append((now, total, per_topic))
        for gone in [g for g in self.samples if g not in offsets and g not in groups]:
            del self.samples[gone]
        self.cost_ns = time.perf_counter_ns() - started

    def of(self, group_id: str) -> list[dict]:
        return [{"time": t, "lag": total, "topics": topics} for t, total, topics in self.samples.get(group_id, ())]

    def forget(self, group_id: str) -> None:
        self.samples.pop(group_id, None)

    async def run(self) -> None:
        while True:
            try:
                self.sample()
            except Exception:   # the console's chart must never take the broker down
                log.exception("lag sample failed")
            await anyio.sleep(self.interval_ms / 1000)
