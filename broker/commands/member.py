"""A classic consumer-group member for ``kbroker consume --group``: join, sync (assigning by
range when it leads), heartbeat, commit, leave. One thread: the consume loop calls
``heartbeat_due`` between fetches, which are short enough (max_wait_ms) to keep the session.
"""

from __future__ import annotations

import socket
import struct
import time

from kproto.errors import ErrorCode
from kproto.messages import HEARTBEAT, JOIN_GROUP, LEAVE_GROUP, OFFSET_COMMIT, OFFSET_FETCH, SYNC_GROUP

from broker.commands.client import KafkaClient, kafka_error

PROTOCOL_TYPE = "consumer"
ASSIGNOR = "range"
SESSION_TIMEOUT_MS = 45_000
REBALANCE_TIMEOUT_MS = 30_000
HEARTBEAT_INTERVAL_S = 3.0
REJOIN = {ErrorCode.REBALANCE_IN_PROGRESS, ErrorCode.ILLEGAL_GENERATION, ErrorCode.UNKNOWN_MEMBER_ID}


def _string(text: str) -> bytes:
    data = text.encode()
    return struct.pack(">h", len(data)) + data


def encode_subscription(topics: list[str]) -> bytes:
    """ConsumerProtocolSubscription v0: topics, no user data."""
    return struct.pack(">hi", 0, len(topics)) + b"".join(_string(t) for t in topics) + struct.pack(">i", -1)


def encode_assignment(assignment: dict[str, list[int]]) -> bytes:
    """ConsumerProtocolAssignment v0: partitions by topic, no user data."""
    out = struct.pack(">hi", 0, len(assignment))
    for topic, partitions in sorted(assignment.items()):
        out += _string(topic) + struct.pack(">i", len(partitions)) + b"".join(struct.pack(">i", p) for p in partitions)
    return out + struct.pack(">i", -1)


def decode_assignment(data: bytes) -> dict[str, list[int]]:
    """ConsumerProtocolAssignment (any version: the v0 prefix)."""
    if not data:
        return {}
    pos = 2
    (count,) = struct.unpack_from(">i", data, pos)
    pos += 4
    result = {}
    for _ in range(max(count, 0)):
        (length,) = struct.unpack_from(">h", data, pos)
        topic = data[pos + 2:pos + 2 + length].decode()
        pos += 2 + length
        (n,) = struct.unpack_from(">i", data, pos)
        pos += 4
        result[topic] = list(struct.unpack_from(f">{n}i", data, pos))
        pos += 4 * n
    return result


def decode_subscription(data: bytes) -> list[str]:
    pos = 2
    (count,) = struct.unpack_from(">i", data, pos)
    pos += 4
    topics = []
    for _ in range(max(count, 0)):
        (length,) = struct.unpack_from(">h", data, pos)
        topics.append(data[pos + 2:pos + 2 + length].decode())
        pos += 2 + length
    return topics


def range_assign(members: dict[str, list[str]], partition_counts: dict[str, int]) -> dict[str, dict[str, list[int]]]:
    """Kafka's RangeAssignor: per topic, its partitions split in ranges over the members (sorted) subscribed to it."""
    result: dict[str, dict[str, list[int]]] = {m: {} for m in members}
    for topic in sorted({t for topics in members.values() for t in topics}):
        subscribed = sorted(m for m, topics in members.items() if topic in topics)
        count = partition_counts.get(topic, 0)
        share, extra = divmod(count, len(subscribed))
        start = 0
        for index, member in enumerate(subscribed):
            size = share + (1 if index < extra else 0)
            if size:
                result[member][topic] = list(range(start, start + size))
            start += size
    return result


class GroupMember:
    def __init__(self, client: KafkaClient, group: str, topics: list[str]):
        self.client = client
        self.group = group
        self.topics = topics
        self.member_id = ""
        self.generation_id = -1
        self.coordinator = client.coordinator(group)
        self.assignment: dict[str, list[int]] = {}
        self._next_heartbeat = 0.0

    def join(self) -> dict[str, list[int]]:
        """Join (or rejoin) the group; returns this member's partitions by topic."""
        while True:
            response = self._join_once()
            code = response["error_code"]
            if code == ErrorCode.MEMBER_ID_REQUIRED:
                self.member_id = response["member_id"]
                continue
            if code == ErrorCode.UNKNOWN_MEMBER_ID:
                self.member_id = ""
                continue
            if code in (ErrorCode.REBALANCE_IN_PROGRESS, ErrorCode.COORDINATOR_LOAD_IN_PROGRESS):
                continue
            if code in (ErrorCode.NOT_COORDINATOR, ErrorCode.COORDINATOR_NOT_AVAILABLE):
                self.coordinator = self.client.coordinator(self.group)
                continue
            if code:
                raise kafka_error(code, f"joining group {self.group!r}", response.get("error_message"))
            self.generation_id = response["generation_id"]
            self.member_id = response["member_id"]
            assignments = []
            if response["leader"] == self.member_id:
                members = {m["member_id"]: decode_subscription(m["metadata"]) for m in response["members"]}
                counts = {t: len(self.client.leaders(t)) for t in {t for ts in members.values() for t in ts}}
                assignments = [{"member_id": m, "assignment": encode_assignment(a)}
                               for m, a in range_assign(members, counts).items()]
            _, sync = self.client.request(SYNC_GROUP, {
                "group_id": self.group, "generation_id": self.generation_id, "member_id": self.member_id,
                "group_instance_id": None, "protocol_type": PROTOCOL_TYPE, "protocol_name": ASSIGNOR,
                "assignments": assignments}, self._long(self.coordinator))
            if sync["error_code"] in REJOIN:
                continue
            if sync["error_code"]:
                raise kafka_error(sync["error_code"], f"syncing group {self.group!r}")
            self.assignment = decode_assignment(sync["assignment"])
            self._next_heartbeat = time.monotonic() + HEARTBEAT_INTERVAL_S
            return self.assignment

    def _join_once(self) -> dict:
        _, response = self.client.request(JOIN_GROUP, {
            "group_id": self.group, "session_timeout_ms": SESSION_TIMEOUT_MS,
            "rebalance_timeout_ms": REBALANCE_TIMEOUT_MS, "member_id": self.member_id, "group_instance_id": None,
            "protocol_type": PROTOCOL_TYPE, "reason": None,
            "protocols": [{"name": ASSIGNOR, "metadata": encode_subscription(self.topics)}]},
            self._long(self.coordinator))
        return response

    def _long(self, connection):
        """The coordinator's connection, with room for a join to wait out a rebalance."""
        connection.sock.settimeout(max(connection.sock.gettimeout() or 0, REBALANCE_TIMEOUT_MS / 1000 + 5))
        return connection

    def heartbeat_due(self) -> bool:
        """Heartbeat if it is time; True when the group rebalances and this member must rejoin."""
        if time.monotonic() < self._next_heartbeat:
            return False
        self._next_heartbeat = time.monotonic() + HEARTBEAT_INTERVAL_S
        _, response = self.client.request(HEARTBEAT, {
            "group_id": self.group, "generation_id": self.generation_id, "member_id": self.member_id,
            "group_instance_id": None}, self.coordinator)
        if response["error_code"] in REJOIN:
            return True
        if response["error_code"]:
            raise kafka_error(response["error_code"], f"heartbeat to group {self.group!r}")
        return False

    def committed(self) -> dict[tuple[str, int], int]:
        """The group's committed offsets of this member's partitions."""
        _, response = self.client.request(OFFSET_FETCH, {
            "group_id": self.group, "require_stable": True,
            "topics": [{"name": t, "partition_indexes": ps} for t, ps in self.assignment.items()]},
            self.coordinator)
        if response["error_code"]:
            raise kafka_error(response["error_code"], f"offsets of group {self.group!r}")
        return {(t["name"], p["partition_index"]): p["committed_offset"]
                for t in response["topics"] for p in t["partitions"] if p["committed_offset"] >= 0}

    def commit(self, offsets: dict[tuple[str, int], int]) -> bool:
        """Commit; False when the group moved on (a rebalance): the caller rejoins."""
        if not offsets:
            return True
        by_topic: dict[str, list] = {}
        for (topic, partition), offset in offsets.items():
            by_topic.setdefault(topic, []).append({"partition_index": partition, "committed_offset": offset,
                                                   "committed_leader_epoch": -1, "committed_metadata": ""})
        _, response = self.client.request(OFFSET_COMMIT, {
            "group_id": self.group, "generation_id_or_member_epoch": self.generation_id, "member_id": self.member_id,
            "group_instance_id": None, "retention_time_ms": -1,
            "topics": [{"name": t, "partitions": ps} for t, ps in by_topic.items()]}, self.coordinator)
        for topic in response["topics"]:
            for partition in topic["partitions"]:
                if partition["error_code"] in REJOIN:
                    return False
                if partition["error_code"]:
                    raise kafka_error(partition["error_code"], f"committing for group {self.group!r}")
        return True

    def leave(self) -> None:
        try:
            self.client.request(LEAVE_GROUP, {"group_id": self.group, "member_id": self.member_id,
                                              "members": [{"member_id": self.member_id, "group_instance_id": None,
                                                           "reason": "kbroker consume ended"}]}, self.coordinator)
        except (OSError, socket.timeout, Exception):   # leaving is a courtesy: the session expires anyway
            pass
