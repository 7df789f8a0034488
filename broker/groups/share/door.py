"""The door of share groups (KIP-932, as Kafka 4.2 serves them).

ShareGroupHeartbeat and ShareGroupDescribe go to the membership coordinator
(coordinator.py). ShareFetch and ShareAcknowledge work on share-partitions
(partition.py) through share sessions: epoch 0 opens a member's session, each later
request carries the next epoch (INVALID_SHARE_SESSION_EPOCH otherwise,
SHARE_SESSION_NOT_FOUND without one), -1 closes it and releases what the member holds.
A fetch first applies the acknowledgements it carries (INVALID_RECORD_STATE for records the
member does not hold), then acquires records: whole batches are read from the log and
sent as they are stored; ``acquired_records`` tells the client which offsets are its own.
With nothing to hand out it waits up to ``max_wait_ms`` for new records or released ones.

What is acknowledged, released or archived, and the moving start offset, is written to
``__share_group_state`` (state.py) before the answer. The admin APIs read and set the start
offsets: DescribeShareGroupOffsets, AlterShareGroupOffsets and DeleteShareGroupOffsets
(both only for a group without members, NON_EMPTY_GROUP otherwise).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Callable, Protocol

import anyio

from broker.caller import Caller
from broker.clock import now_ms
from kproto.errors import ErrorCode
from storage.records import iter_headers
from storage.errors import StorageError

from .partition import SharePartition

if TYPE_CHECKING:
    from broker.groups.service import GroupService

Key = tuple[str, uuid.UUID, int]
MayRead = Callable[[str], bool] | None   # may the client READ this topic? (None: the authorizer is off)
DEFAULT_MAX_RECORDS = 500
RECORD_LIMIT = 1     # ShareAcquireMode: strict max_records (KIP-1206)


class Data(Protocol):
    """What the door needs of the broker: its node id, waiting for and announcing records."""
    node_id: int

    async def wait_for_data(self, keys: list[tuple[str, int]], timeout_s: float) -> None: ...

    def notify_append(self, topic: str, partition: int) -> None: ...


@dataclass
class ShareSession:
    epoch: int = 1
    partitions: set[tuple[uuid.UUID, int]] = field(default_factory=set)


def _top_error(code: ErrorCode, message: str | None = None, *, lock_ms: int = 0) -> dict:
    return {"throttle_time_ms": 0, "error_code": code, "error_message": message,
            "acquisition_lock_timeout_ms": lock_ms, "responses": [], "node_endpoints": []}


class ShareGroupDoor:
    def __init__(self, service: GroupService):
        self._service = service
        self._storage = service.storage
        self.coordinator = service.share_coordinator
        self._configs = service.group_configs
        self._state = service.share_state
        self._partitions: dict[Key, SharePartition] = {}
        self._sessions: dict[tuple[str, str], ShareSession] = {}
        self._data: Data | None = None

    # -- settings ----------------------------------------------------------------------

    def _lock_ms(self, group_id: str) -> int:
        return int(self._configs.value(group_id, "share.record.lock.duration.ms"))

    def _limit(self, group_id: str) -> int:
        return int(self._configs.value(group_id, "share.delivery.count.limit"))

    def _max_locks(self, group_id: str) -> int:
        return int(self._configs.value(group_id, "share.partition.max.record.locks"))

    def _read_committed(self, group_id: str) -> bool:
        return self._configs.value(group_id, "share.isolation.level") == "read_committed"

    # -- ShareGroupHeartbeat / ShareGroupDescribe --------------------------------------

    def heartbeat(self, ctx: Caller, req: dict) -> dict:
        """ShareGroupHeartbeat 1. A group id of a classic or consumer group is
        INCONSISTENT_GROUP_PROTOCOL... as Kafka says: GROUP_ID_NOT_FOUND (not a share group)."""
        group_id = req["group_id"]
        other = self._service.group_type(group_id)
        if other not in (None, "share"):
            response = {"error_code": ErrorCode.GROUP_ID_NOT_FOUND,
                        "error_message": f"Group {group_id} is not a share group.", "member_id": None,
                        "member_epoch": -1, "heartbeat_interval_ms": 0, "assignment": None}
        else:
            response = self.coordinator.heartbeat(now_ms(), req, ctx.client_id or "", "/" + ctx.client_host,
                                                  self._service.topics_image())
        self.settle()
        response["throttle_time_ms"] = 0
        return response

    def describe(self, ctx: Caller, req: dict) -> dict:
        groups = self.coordinator.describe(req["group_ids"], self._service.topics_image())
        for g in groups:
            if g["error_code"] == ErrorCode.GROUP_ID_NOT_FOUND and self._service.group_type(g["group_id"]):
                g["error_message"] = f"Group {g['group_id']} is not a share group."
        return {"throttle_time_ms": 0, "groups": groups}

    def settle(self) -> None:
        """Write the membership records queued. A member that left the group keeps its share
        session: as in Kafka, what it holds goes back when the session closes (its consumer
        closes it after the leave heartbeat, with its last acknowledgements) or the locks run out."""
        changes = self.coordinator.take_changes()
        if changes:
            self._service.store_records(changes, now_ms())
        self.coordinator.take_departed()
        self._service.poke()

    # -- share-partitions ------------------------------------------------------------------

    def _partition(self, key: Key, name: str) -> SharePartition:
        sp = self._partitions.get(key)
        if sp is None:
            loaded = self._state.loaded.pop(key, None)
            log = self._storage.partition(name, key[2])
            if loaded is not None:
                start, batches = loaded
                sp = SharePartition(max(start, log.log_start_offset), batches=batches)
            else:
                reset = self._configs.value(key[0], "share.auto.offset.reset")
                start = log.log_start_offset if reset == "earliest" else log.high_watermark
                if reset.startswith("by_duration:"):
                    start = log.log_start_offset
                sp = SharePartition(start)
                self._state.write(key, sp.start_offset, [], [], 0, now_ms(), snapshot=True)
            self._partitions[key] = sp
        return sp

    def _persist(self, key: Key, sp: SharePartition, changed: list, now: int) -> None:
        if changed:
            self._state.write(key, sp.start_offset, changed, sp.state_batches(), sp.delivery_complete_count(), now)
            if self._data is not None:
                info = self._storage.topic_by_id(key[1])
                if info is not None:
                    self._data.notify_append(info.name, key[2])

    def tick(self, now: int) -> None:
        """Acquisition locks that ran out: records available again (or archived)."""
        for key, sp in self._partitions.items():
            deadline = sp.next_deadline_ms()
            if deadline is not None and deadline <= now:
                self._persist(key, sp, sp.expire(now, self._limit(key[0])), now)

    def next_deadline_ms(self) -> int | None:
        return min((d for sp in self._partitions.values() if (d := sp.next_deadline_ms()) is not None), default=None)

    # -- ShareFetch / ShareAcknowledge ----------------------------------------------------

    def _session(self, group_id: str, member_id: str, epoch: int, has_acks: bool
                 ) -> tuple[ShareSession | None, ErrorCode, str | None]:
        key = (group_id, member_id)
        if epoch == 0:
            if has_acks:
                return None, ErrorCode.INVALID_REQUEST, "Acknowledge data present on initial fetch request."
            old = self._sessions.get(key)
            session = self._sessions[key] = ShareSession()
            if old is not None:
                self._release(group_id, member_id)
            return session, ErrorCode.NONE, None
        session = self._sessions.get(key)
        if session is None:
            return None, ErrorCode.SHARE_SESSION_NOT_FOUND, "Share session not found."
        if epoch == -1:
            return session, ErrorCode.NONE, None
        if epoch != session.epoch:
            return None, ErrorCode.INVALID_SHARE_SESSION_EPOCH, "Invalid share session epoch."
        session.epoch = epoch + 1 if epoch < 2**31 - 1 else 1
        return session, ErrorCode.NONE, None

    def _release(self, group_id: str, member_id: str) -> None:
        now = now_ms()
        for key, sp in self._partitions.items():
            if key[0] == group_id:
                self._persist(key, sp, sp.release_member(member_id, self._limit(group_id)), now)

    def _resolve(self, topic_id: bytes, index: int, may_read: MayRead) -> tuple[str | None, ErrorCode]:
        info = self._storage.topic_by_id(uuid.UUID(bytes=bytes(topic_id)))
        if info is None:
            return None, ErrorCode.UNKNOWN_TOPIC_ID
        if may_read is not None and not may_read(info.name):
            return None, ErrorCode.TOPIC_AUTHORIZATION_FAILED
        if not 0 <= index < info.num_partitions:
            return None, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION
        return info.name, ErrorCode.NONE

    def _acknowledge(self, group_id: str, member_id: str, topic_id: bytes, index: int, batches: list[dict],
                     now: int, may_read: MayRead) -> ErrorCode:
        name, code = self._resolve(topic_id, index, may_read)
        if code:
            return code
        key = (group_id, uuid.UUID(bytes=bytes(topic_id)), index)
        sp = self._partitions.get(key)
        if sp is None:
            return ErrorCode.INVALID_RECORD_STATE
        code, changed = sp.acknowledge(now, member_id, [(b["first_offset"], b["last_offset"], b["acknowledge_types"])
                                                         for b in batches],
                                       self._lock_ms(group_id), self._limit(group_id))
        self._persist(key, sp, changed, now)
        return code

    async def fetch(self, ctx: Caller, req: dict, data: Data, may_read: MayRead = None) -> dict:
        """ShareFetch 1-2. A partition of a topic ``may_read`` refuses (the client may not READ
        it) gets TOPIC_AUTHORIZATION_FAILED, for its records and for its acknowledgements."""
        self._data = data
        group_id, member_id, epoch = req["group_id"], req["member_id"], req["share_session_epoch"]
        if not group_id or not member_id:
            return _top_error(ErrorCode.INVALID_REQUEST, "Group id and member id are required.")
        lock_ms = self._lock_ms(group_id)
        has_acks = any(p["acknowledgement_batches"] for t in req["topics"] for p in t["partitions"])
        session, code, message = self._session(group_id, member_id, epoch, has_acks)
        if code:
            return _top_error(code, message, lock_ms=lock_ms)
        now = now_ms()
        leader = {"leader_id": data.node_id, "leader_epoch": 0}
        entries: dict[tuple[bytes, int], dict] = {}

        def entry(topic_id: bytes, index: int) -> dict:
            key = (bytes(topic_id), index)
            if key not in entries:
                entries[key] = {"partition_index": index, "error_code": ErrorCode.NONE, "error_message": None,
                                "acknowledge_error_code": ErrorCode.NONE, "acknowledge_error_message": None,
                                "current_leader": leader, "records": b"", "acquired_records": []}
            return entries[key]

        for topic in req["topics"]:
            for part in topic["partitions"]:
                if part["acknowledgement_batches"]:
                    code = self._acknowledge(group_id, member_id, topic["topic_id"], part["partition_index"],
                                             part["acknowledgement_batches"], now, may_read)
                    entry(topic["topic_id"], part["partition_index"])["acknowledge_error_code"] = code
                if epoch != -1:
                    session.partitions.add((uuid.UUID(bytes=bytes(topic["topic_id"])), part["partition_index"]))
        for forgotten in req["forgotten_topics_data"]:
            for index in forgotten["partitions"]:
                session.partitions.discard((uuid.UUID(bytes=bytes(forgotten["topic_id"])), index))
        if epoch == -1:
            self._sessions.pop((group_id, member_id), None)
            self._release(group_id, member_id)
            return self._answer(entries, lock_ms)

        max_records = req["max_records"] if req["max_records"] > 0 else DEFAULT_MAX_RECORDS
        strict = req["share_acquire_mode"] == RECORD_LIMIT
        wanted = []
        for topic_id, index in sorted(session.partitions, key=lambda k: (str(k[0]), k[1])):
            name, code = self._resolve(topic_id.bytes, index, may_read)
            if code:
                entry(topic_id.bytes, index)["error_code"] = code
                continue
            wanted.append((topic_id, index, name))
        got = self._acquire(group_id, member_id, wanted, entry, max_records, req["max_bytes"], strict, lock_ms)
        wait_ms = req["max_wait_ms"]
        if not got and wait_ms > 0 and wanted:
            deadline = anyio.current_time() + wait_ms / 1000
            keys = [(name, index) for _, index, name in wanted]
            while not got:
                remaining = deadline - anyio.current_time()
                if remaining <= 0:
                    break
                lock_deadline = self.next_deadline_ms()
                if lock_deadline is not None:
                    remaining = min(remaining, max(0.0, (lock_deadline - now_ms()) / 1000) + 0.001)
                await data.wait_for_data(keys, remaining)
                self.tick(now_ms())
                if (group_id, member_id) not in self._sessions:
                    break
                got = self._acquire(group_id, member_id, wanted, entry, max_records, req["max_bytes"], strict,
                                    lock_ms)
        return self._answer(entries, lock_ms)

    def _answer(self, entries: dict, lock_ms: int) -> dict:
        topics: dict[bytes, list] = {}
        for (topic_id, _), e in entries.items():
            topics.setdefault(topic_id, []).append(e)
        return {"throttle_time_ms": 0, "error_code": ErrorCode.NONE, "error_message": None,
                "acquisition_lock_timeout_ms": lock_ms,
                "responses": [{"topic_id": t, "partitions": parts} for t, parts in topics.items()],
                "node_endpoints": []}

    def _acquire(self, group_id: str, member_id: str, wanted: list, entry, max_records: int, max_bytes: int,
                 strict: bool, lock_ms: int) -> int:
        """Acquire records of each wanted partition into its response entry; how many."""
        now = now_ms()
        total = 0
        budget_bytes = max_bytes if max_bytes > 0 else 2**31 - 1
        limit, max_locks = self._limit(group_id), self._max_locks(group_id)
        read_committed = self._read_committed(group_id)
        for topic_id, index, name in wanted:
            if total >= max_records or budget_bytes <= 0:
                break
            key = (group_id, topic_id, index)
            e = entry(topic_id.bytes, index)
            try:
                sp = self._partition(key, name)
                log = self._storage.partition(name, index)
                if sp.end_offset < log.log_start_offset and not sp.ranges():
                    sp.reset(log.log_start_offset)
                available = next((r.first for r in sp.ranges() if r.state == 0), None)
                position = available if available is not None else sp.end_offset
                # read_committed (share.isolation.level): nothing at or past the last stable offset
                visible_end = log.last_stable_offset if read_committed else log.high_watermark
                if position >= visible_end:
                    continue
                chunk = log.read(max(position, log.log_start_offset), budget_bytes).read_bytes()
            except StorageError as exc:
                from broker.errors import storage_error_code
                e["error_code"] = storage_error_code(exc)
                continue
            spans = []   # (base, last, start, end) of each whole batch
            aborted_spans = []   # (base, last) of read_committed's aborted transactional batches
            aborted = (_aborted_by_producer(log.aborted_transactions(position, visible_end))
                       if read_committed else {})
            pos = 0
            for header in iter_headers(chunk):
                if header.base_offset >= visible_end:
                    break
                end = pos + header.size
                spans.append((header.base_offset, header.last_offset, pos, end))
                pos = end
                if (header.is_transactional and not header.is_control
                        and any(first <= header.base_offset <= last
                                for first, last in aborted.get(header.producer_id, ()))):
                    aborted_spans.append((header.base_offset, header.last_offset))
            new_batches = [(b, l) for b, l, _, _ in spans if l >= sp.end_offset]
            if strict and new_batches:
                new_batches = _cut(new_batches, sp.end_offset, max_records - total)
            acquired, changed = sp.acquire(now, member_id, lock_ms, limit, max_records - total, max_locks, new_batches)
            if aborted_spans and acquired:
                acquired, archived = _archive_aborted(sp, acquired, aborted_spans)
                changed += archived
            self._persist(key, sp, changed, now)
            if not acquired:
                continue
            parts = [chunk[s:t] for b, l, s, t in spans
                     if any(first <= l and b <= last for first, last, _ in acquired)]
            e["records"] = b"".join(parts)
            e["acquired_records"] = [{"first_offset": f, "last_offset": l, "delivery_count": c} for f, l, c in acquired]
            count = sum(l - f + 1 for f, l, _ in acquired)
            total += count
            budget_bytes -= len(e["records"])
        if total:
            self._service.poke()   # new acquisition locks to time out
        return total

    async def acknowledge(self, ctx: Caller, req: dict, data: Data, may_read: MayRead = None) -> dict:
        """ShareAcknowledge 1-2: epoch 0 is INVALID_SHARE_SESSION_EPOCH (a session must exist); a
        partition of a topic ``may_read`` refuses gets TOPIC_AUTHORIZATION_FAILED."""
        self._data = data
        group_id, member_id, epoch = req["group_id"], req["member_id"], req["share_session_epoch"]
        lock_ms = self._lock_ms(group_id or "")
        if not group_id or not member_id:
            return _top_error(ErrorCode.INVALID_REQUEST, "Group id and member id are required.", lock_ms=lock_ms)
        if epoch == 0:
            return _top_error(ErrorCode.INVALID_SHARE_SESSION_EPOCH, "Acknowledge requests cannot open a session.",
                              lock_ms=lock_ms)
        session, code, message = self._session(group_id, member_id, epoch, False)
        if code:
            return _top_error(code, message, lock_ms=lock_ms)
        now = now_ms()
        leader = {"leader_id": data.node_id, "leader_epoch": 0}
        responses = []
        for topic in req["topics"]:
            parts = []
            for part in topic["partitions"]:
                code = self._acknowledge(group_id, member_id, topic["topic_id"], part["partition_index"],
                                         part["acknowledgement_batches"], now, may_read)
                parts.append({"partition_index": part["partition_index"], "error_code": code, "error_message": None,
                              "current_leader": leader})
            responses.append({"topic_id": topic["topic_id"], "partitions": parts})
        if epoch == -1:
            self._sessions.pop((group_id, member_id), None)
            self._release(group_id, member_id)
        return {"throttle_time_ms": 0, "error_code": ErrorCode.NONE, "error_message": None,
                "acquisition_lock_timeout_ms": lock_ms, "responses": responses, "node_endpoints": []}

    # -- the offsets admin APIs -------------------------------------------------------------

    def _state_of(self, key: Key) -> tuple[int, int] | None:
        """(start offset, delivery-complete count) of an initialized share-partition, or None."""
        sp = self._partitions.get(key)
        if sp is not None:
            return sp.start_offset, sp.delivery_complete_count()
        loaded = self._state.loaded.get(key)
        if loaded is not None:
            start, batches = loaded
            return start, sum(l - f + 1 for f, l, s, _ in batches if s in (2, 4) and l >= start)
        return None

    def _initialized(self, group_id: str) -> list[Key]:
        keys = {k for k in self._partitions if k[0] == group_id} | {k for k in self._state.loaded if k[0] == group_id}
        return sorted(keys, key=lambda k: (str(k[1]), k[2]))

    def describe_offsets(self, ctx: Caller, req: dict) -> dict:
        """DescribeShareGroupOffsets 0-1: start offsets (-1 for a partition never initialized);
        v1 also the lag: records from the start offset to the end not yet delivered for good."""
        groups = []
        for group in req["groups"]:
            group_id = group["group_id"]
            if self._service.group_type(group_id) not in (None, "share"):
                groups.append({"group_id": group_id, "topics": [], "error_code": ErrorCode.GROUP_ID_NOT_FOUND,
                               "error_message": f"Group {group_id} is not a share group."})
                continue
            if group["topics"] is None:
                wanted: dict[str, list[int]] = {}
                for _, topic_id, index in self._initialized(group_id):
                    info = self._storage.topic_by_id(topic_id)
                    if info is not None:
                        wanted.setdefault(info.name, []).append(index)
            else:
                wanted = {t["topic_name"]: t["partitions"] for t in group["topics"]}
            topics = []
            for name, indexes in wanted.items():
                info = self._storage.topic(name)
                parts = []
                for index in indexes:
                    if info is None or not 0 <= index < info.num_partitions:
                        parts.append({"partition_index": index, "start_offset": -1, "leader_epoch": -1, "lag": -1,
                                      "error_code": ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, "error_message": None})
                        continue
                    state = self._state_of((group_id, info.topic_id, index))
                    if state is None:
                        parts.append({"partition_index": index, "start_offset": -1, "leader_epoch": -1, "lag": -1,
                                      "error_code": ErrorCode.NONE, "error_message": None})
                        continue
                    start, complete = state
                    end = self._storage.partition(name, index).high_watermark
                    parts.append({"partition_index": index, "start_offset": start, "leader_epoch": 0,
                                  "lag": max(0, end - start - complete), "error_code": ErrorCode.NONE,
                                  "error_message": None})
                topics.append({"topic_name": name, "topic_id": info.topic_id.bytes if info else bytes(16),
                               "partitions": parts})
            groups.append({"group_id": group_id, "topics": topics, "error_code": ErrorCode.NONE,
                           "error_message": None})
        return {"throttle_time_ms": 0, "groups": groups}

    def _admin_check(self, group_id: str) -> tuple[ErrorCode, str | None]:
        kind = self._service.group_type(group_id)
        if kind not in (None, "share"):
            return ErrorCode.GROUP_ID_NOT_FOUND, f"Group {group_id} is not a share group."
        group = self.coordinator.groups.get(group_id)
        if group is not None and group.members:
            return ErrorCode.NON_EMPTY_GROUP, "The group is not empty."
        return ErrorCode.NONE, None

    def alter_offsets(self, ctx: Caller, req: dict) -> dict:
        """AlterShareGroupOffsets 0: new start offsets, in-flight state dropped."""
        group_id = req["group_id"]
        code, message = self._admin_check(group_id)
        if code:
            return {"throttle_time_ms": 0, "error_code": code, "error_message": message, "responses": []}
        now = now_ms()
        responses = []
        for topic in req["topics"]:
            info = self._storage.topic(topic["topic_name"])
            parts = []
            for part in topic["partitions"]:
                index = part["partition_index"]
                if info is None or not 0 <= index < info.num_partitions:
                    parts.append({"partition_index": index, "error_code": ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
                                  "error_message": None})
                    continue
                log = self._storage.partition(info.name, index)
                start = min(max(part["start_offset"], log.log_start_offset), log.high_watermark)
                if part["start_offset"] == -1:
                    start = log.high_watermark
                key = (group_id, info.topic_id, index)
                self._state.loaded.pop(key, None)
                sp = self._partitions.setdefault(key, SharePartition(start))
                sp.reset(start)
                self._state.write(key, start, [], [], 0, now, snapshot=True)
                parts.append({"partition_index": index, "error_code": ErrorCode.NONE, "error_message": None})
            responses.append({"topic_name": topic["topic_name"],
                              "topic_id": info.topic_id.bytes if info else bytes(16), "partitions": parts})
        return {"throttle_time_ms": 0, "error_code": ErrorCode.NONE, "error_message": None, "responses": responses}

    def delete_offsets(self, ctx: Caller, req: dict) -> dict:
        """DeleteShareGroupOffsets 0: the topics' share-partition state goes; the group starts
        them again from share.auto.offset.reset."""
        group_id = req["group_id"]
        code, message = self._admin_check(group_id)
        if code:
            return {"throttle_time_ms": 0, "error_code": code, "error_message": message, "responses": []}
        now = now_ms()
        responses = []
        for topic in req["topics"]:
            info = self._storage.topic(topic["topic_name"])
            if info is None:
                responses.append({"topic_name": topic["topic_name"], "topic_id": bytes(16),
                                  "error_code": ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, "error_message": None})
                continue
            for key in [k for k in self._initialized(group_id) if k[1] == info.topic_id]:
                self.forget(key, now)
            responses.append({"topic_name": info.name, "topic_id": info.topic_id.bytes,
                              "error_code": ErrorCode.NONE, "error_message": None})
        return {"throttle_time_ms": 0, "error_code": ErrorCode.NONE, "error_message": None, "responses": responses}

    def forget(self, key: Key, now: int) -> None:
        self._partitions.pop(key, None)
        self._state.loaded.pop(key, None)
        self._state.delete(key, now)

    def group_deleted(self, group_id: str) -> None:
        now = now_ms()
        for key in self._initialized(group_id):
            self.forget(key, now)


def _cut(batches: list[tuple[int, int]], end_offset: int, budget: int) -> list[tuple[int, int]]:
    """New records in record-limit mode: at most ``budget`` of them, the last batch cut short."""
    out = []
    for base, last in batches:
        if budget <= 0:
            break
        first = max(base, end_offset)
        last = min(last, first + budget - 1)
        out.append((first, last))
        budget -= last - first + 1
    return out


def _aborted_by_producer(aborted) -> dict[int, list[tuple[int, int]]]:
    """The aborted transactions' offset spans (first offset to abort marker), per producer."""
    out: dict[int, list[tuple[int, int]]] = {}
    for txn in aborted:
        out.setdefault(txn.producer_id, []).append((txn.first_offset, txn.last_offset))
    return out


def _archive_aborted(sp: SharePartition, acquired: list[tuple[int, int, int]],
                     aborted_spans: list[tuple[int, int]]) -> tuple[list[tuple[int, int, int]], list]:
    """Take the aborted batches out of what was acquired, archived for good (Kafka's
    filterAbortedTransactionalAcquiredRecords): the records acquired that remain, and the
    durable changes."""
    changes = []
    for first, last, _ in acquired:
        for base, end in aborted_spans:
            if base <= last and first <= end:
                changes += sp.archive(max(first, base), min(last, end))
    remaining = []
    for first, last, count in acquired:
        pieces = [(first, last)]
        for base, end in aborted_spans:
            pieces = [p for f, l in pieces for p in ((f, min(l, base - 1)), (max(f, end + 1), l)) if p[0] <= p[1]]
        remaining += [(f, l, count) for f, l in pieces]
    return remaining, changes
