"""Committed offsets and classic groups' metadata, kept in the internal topic
``__consumer_offsets`` as Kafka keeps them.

Every commit is appended as one RecordBatch of Kafka's own key/value records to the
partition of the group (Kafka's ``Utils.abs(groupId.hashCode()) % partitions``), and held in
a dict for reading. A group's GroupMetadata records (``GroupSnapshot``s from the
coordinator) go to the same partition. At start the topic is replayed once for both,
as the compacted topic it is: only the newest record of each key is decoded; a tombstone
(null value) deletes; the last GroupMetadata record of each group is kept for the
coordinator (``take_loaded_groups``). Nothing is acknowledged before it is in the log.

Offsets committed inside a transaction (``commit_transactional``) are appended as a
transactional batch of the producer and stay pending (txn_offsets.py) until the transaction's
marker reaches the partition (``complete_transaction``); the replay at start does the same
with the transactional batches and markers it finds (a partition holding any is replayed
record by record, in order).

A kbroker before this one put a group whose hash is negative in another partition (the hash's
sign bit masked off, not Kafka's abs). The replay keeps such a record, found outside its
group's partition, only if the group's own partition holds no record of its key (the newer
writer wins, key by key), and then moves it: the group's surviving records are appended to
its own partition in one batch, then tombstones for them to the old one. A stop between the
two leaves both copies, and the next start finds the group's own partition holding the key
and only writes the tombstones: nothing committed is lost or goes back. A group with a
transaction still open in its old partition stays there until the transaction's marker
(written there) ends it; it moves at the next start.

Cluster mode (a ``placement``): as Kafka's coordinator runtime, the store holds only the groups
of the partitions this broker leads (``placement.owns``), and writes only there: a follower's
replica holds only its leader's batches. A group's partition is counted on the cluster's
partition count (``placement.partitions``), not on the local topic, which holds only the
partitions this broker has replicas of. A write to a partition not led here (leadership just
lost, the store not yet unloaded) is dropped with a warning. Nothing is moved (a partition's
writes belong to its leader, and the two partitions may have different leaders): a record
found outside its group's partition is loaded only when both partitions are led here.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Protocol

from broker.partitioner import coordinator_partition, legacy_coordinator_partition
from kproto.coordinator_records import (
    GROUP_METADATA_KEY_VERSION, OFFSET_COMMIT_KEY, OFFSET_COMMIT_VALUE, decode_group_metadata_key,
    decode_group_metadata_value, decode_versioned, encode_group_metadata_key, encode_group_metadata_value,
    encode_offset_key, encode_offset_value, key_version)
from kproto.errors import DecodeError
from storage import Record, Storage, build_batch, decode_records
from storage.control import marker_of
from storage.errors import CorruptRecordError

from .snapshot import GroupSnapshot, MemberSnapshot
from .txn_offsets import PendingOffsets

log = logging.getLogger("kbroker.offsets")

OFFSETS_TOPIC = "__consumer_offsets"
OFFSETS_TOPIC_CONFIGS = {"cleanup.policy": "compact", "segment.bytes": "104857600"}
READ_CHUNK_BYTES = 16 << 20
COMMIT_TIME = -1   # expire() retention counted from each offset's commit time


def partition_for(group_id: str, partitions: int) -> int:
    """The group's partition, as Kafka's GroupCoordinatorService.partitionFor chooses it."""
    return coordinator_partition(group_id, partitions)


def group_of_key(key: bytes) -> str:
    """The group id of a record key of the topic, of any type: every key schema (offset commit,
    group metadata, KIP-848 and share group records) starts with it, a non-flexible string
    after the int16 version. DecodeError for a key too short to hold one."""
    length = int.from_bytes(key[2:4], "big", signed=True)
    if len(key) < 4 or length < 0 or 4 + length > len(key):
        raise DecodeError("a record key without a group id")
    try:
        return bytes(key[4:4 + length]).decode()
    except UnicodeDecodeError as exc:
        raise DecodeError(f"a group id that is not UTF-8: {exc}") from None


class OffsetsPlacement(Protocol):
    """Cluster mode's view of ``__consumer_offsets`` (broker.cluster.coordinators.CoordinatorGate)."""

    @property
    def partitions(self) -> int:
        """The topic's partition count in the cluster."""

    def owns(self, partition: int) -> bool:
        """Is the partition led here: are its groups coordinated, and written, by this broker?"""


@dataclass(frozen=True)
class CommittedOffset:
    offset: int
    leader_epoch: int
    metadata: str
    commit_timestamp: int
    # OffsetCommit v2-4 retention_time_ms: commit time + retention, -1 for none. Kafka
    # expires such an offset at this time and keeps it in an OffsetCommitValue v1.
    expire_timestamp: int = -1


def encode_value(c: CommittedOffset) -> bytes:
    return encode_offset_value(c.offset, c.leader_epoch, c.metadata, c.commit_timestamp, c.expire_timestamp)


def group_metadata_value(snapshot: GroupSnapshot) -> dict:
    """A GroupMetadataValue, as Kafka's newGroupMetadataRecord fills it."""
    return {
        "protocol_type": snapshot.protocol_type or "",
        "generation": snapshot.generation_id,
        "protocol": snapshot.protocol_name,
        "leader": snapshot.leader_id,
        "current_state_timestamp": -1 if snapshot.state_timestamp_ms is None else snapshot.state_timestamp_ms,
        "members": [{
            "member_id": m.member_id, "group_instance_id": m.group_instance_id,
            "client_id": m.client_id, "client_host": m.client_host,
            "rebalance_timeout": m.rebalance_timeout_ms, "session_timeout": m.session_timeout_ms,
            "subscription": m.subscription, "assignment": m.assignment,
        } for m in snapshot.members],
    }


def group_snapshot(group_id: str, value: dict) -> GroupSnapshot:
    """A decoded GroupMetadataValue (any version) as the coordinator loads it."""
    timestamp = value["current_state_timestamp"]
    return GroupSnapshot(
        group_id=group_id, protocol_type=value["protocol_type"] or None,
        generation_id=value["generation"], protocol_name=value["protocol"], leader_id=value["leader"],
        state_timestamp_ms=None if timestamp == -1 else timestamp,
        members=tuple(MemberSnapshot(
            member_id=m["member_id"], group_instance_id=m["group_instance_id"], client_id=m["client_id"],
            client_host=m["client_host"], rebalance_timeout_ms=m["rebalance_timeout"],
            session_timeout_ms=m["session_timeout"], subscription=m["subscription"], assignment=m["assignment"])
            for m in value["members"]))


class OffsetStore:
    def __init__(self, storage: Storage, num_partitions: int, *, move_legacy: bool = True,
                 placement: OffsetsPlacement | None = None):
        """placement: cluster mode's (see the module's docstring); None: one broker, which owns
        every partition and makes the topic on first use."""
        self._storage = storage
        self._num_partitions = num_partitions
        self._placement = placement
        self._move_legacy = move_legacy and placement is None   # see the module's docstring
        self._offsets: dict[str, dict[tuple[str, int], CommittedOffset]] = {}
        # The value of the last GroupMetadata record of each group found at start
        # (tombstones delete), decoded only when taken: a group has many records.
        self._loaded_groups: dict[str, bytes] = {}
        # The other coordinator records (KIP-848 and share groups): key -> (type, value or
        # None), the last of each key, in the order they were last written.
        self._loaded_records: dict[bytes, tuple[int, bytes | None]] = {}
        self._pending = PendingOffsets()
        # transactions that an older kbroker's layout left open in a group's old partition:
        # their markers are written there
        self._legacy_pending = PendingOffsets()
        self._load()

    # -- reading -----------------------------------------------------------------

    def group_offsets(self, group_id: str) -> dict[tuple[str, int], CommittedOffset]:
        return self._offsets.get(group_id, {})

    def get(self, group_id: str, topic: str, partition: int) -> CommittedOffset | None:
        return self._offsets.get(group_id, {}).get((topic, partition))

    def groups(self) -> list[str]:
        """Groups that have committed offsets."""
        return list(self._offsets)

    def take_loaded_groups(self) -> list[GroupSnapshot]:
        """The groups whose metadata was found at start (their last record); once. A group
        whose last record cannot be read is left out, with a warning."""
        loaded = []
        for group_id, value in self._loaded_groups.items():
            try:
                loaded.append(group_snapshot(group_id, decode_group_metadata_value(value)))
            except DecodeError as exc:
                log.warning("skipping the unreadable metadata of group %s in %s: %s", group_id, OFFSETS_TOPIC, exc)
        self._loaded_groups = {}
        return loaded

    def take_loaded_records(self, record_types) -> list[tuple[int, dict, dict | None]]:
        """The records of ``record_types`` found at start, decoded, as (type, key, value or
        None), in the order they were last written; once per type. An unreadable one is left
        out, with a warning."""
        from kproto import group_records

        taken = []
        for key, (record_type, value) in list(self._loaded_records.items()):
            if record_type not in record_types:
                continue
            del self._loaded_records[key]
            try:
                taken.append((record_type, group_records.decode_key(key)[1],
                              None if value is None else group_records.decode_value(record_type, value)))
            except DecodeError as exc:
                log.warning("skipping an unreadable coordinator record in %s: %s", OFFSETS_TOPIC, exc)
        return taken

    def store_records(self, changes: list[tuple[str, int, dict, dict | None]], now_ms: int) -> None:
        """Append coordinator records ``(group_id, type, key, value or None)`` in order; the
        records of groups sharing a partition go in one batch."""
        if not changes:
            return
        from kproto import group_records

        by_partition: dict[int, list[Record]] = {}
        partitions = self.partition_count()
        for group_id, record_type, key, value in changes:
            by_partition.setdefault(partition_for(group_id, partitions), []).append(Record(
                timestamp=now_ms, key=group_records.encode_key(record_type, key),
                value=None if value is None else group_records.encode_value(record_type, value)))
        for partition, records in by_partition.items():
            self._write(partition, build_batch(records), now_ms)

    # -- writing -------------------------------------------------------------------

    def commit(self, group_id: str, offsets: dict[tuple[str, int], CommittedOffset], now_ms: int) -> None:
        """Append the commits durably, then make them visible."""
        if not offsets:
            return
        if not self._append(group_id, [
                Record(timestamp=now_ms, key=encode_offset_key(group_id, topic, partition), value=encode_value(c))
                for (topic, partition), c in offsets.items()], now_ms):
            return
        self._offsets.setdefault(group_id, {}).update(offsets)
        for pending in (self._pending, self._legacy_pending):
            if pending:
                pending.supersede(group_id, offsets)

    # -- transactional offsets -------------------------------------------------------

    def commit_transactional(self, group_id: str, producer_id: int, producer_epoch: int,
                             offsets: dict[tuple[str, int], CommittedOffset], now_ms: int) -> None:
        """Append a transaction's offsets, a transactional batch of its producer (StorageError
        as the log refuses it); they stay pending until the transaction ends."""
        if not offsets:
            return
        batch = build_batch([
            Record(timestamp=now_ms, key=encode_offset_key(group_id, topic, index), value=encode_value(c))
            for (topic, index), c in offsets.items()],
            producer_id=producer_id, producer_epoch=producer_epoch, is_transactional=True)
        result = self._write(self.partition_of(group_id), batch, now_ms, from_coordinator=True)
        if result is not None:
            self._pending.add(producer_id, group_id, offsets, result.base_offset)

    def complete_transaction(self, producer_id: int, partition: int, committed: bool) -> None:
        """The producer's transaction ended in this partition: its offsets there become the
        committed ones (commit) or are dropped (abort)."""
        if self._storage.topic(OFFSETS_TOPIC) is None or not (self._pending or self._legacy_pending):
            return
        count = self.partition_count()
        for group_id, offsets in self._pending.complete(
                producer_id, lambda group_id: partition_for(group_id, count) == partition, committed):
            self._offsets.setdefault(group_id, {}).update(offsets)
        if self._legacy_pending:
            for group_id, offsets in self._legacy_pending.complete(
                    producer_id, lambda group_id: legacy_coordinator_partition(group_id, count) == partition,
                    committed):
                self._offsets.setdefault(group_id, {}).update(offsets)

    def has_pending(self, group_id: str, topic: str | None = None, partition: int | None = None) -> bool:
        """Does an open transaction hold an offset for the group (of this partition)?"""
        key = None if topic is None else (topic, partition)
        return any(pending and pending.has_pending(group_id, key) for pending in (self._pending, self._legacy_pending))

    def delete(self, group_id: str, keys: list[tuple[str, int]], now_ms: int) -> None:
        """Tombstones for some of a group's offsets."""
        group = self._offsets.get(group_id, {})
        keys = [k for k in keys if k in group]
        if not keys:
            return
        if not self._append(group_id, [Record(timestamp=now_ms, key=encode_offset_key(group_id, t, p), value=None)
                                       for t, p in keys], now_ms):
            return
        for key in keys:
            del group[key]
        if not group:
            self._offsets.pop(group_id, None)

    def delete_group(self, group_id: str, now_ms: int) -> None:
        self.delete(group_id, list(self._offsets.get(group_id, {})), now_ms)
        for pending in (self._pending, self._legacy_pending):
            if pending:
                pending.drop_group(group_id)

    def store_groups(self, changes: list[tuple[str, GroupSnapshot | None]], now_ms: int) -> None:
        """Append GroupMetadata records (a snapshot) and tombstones (None), in order; the
        records of groups sharing a partition go in one batch."""
        if not changes:
            return
        by_partition: dict[int, list[Record]] = {}
        partitions = self.partition_count()
        for group_id, snapshot in changes:
            value = None if snapshot is None else encode_group_metadata_value(group_metadata_value(snapshot))
            by_partition.setdefault(partition_for(group_id, partitions), []).append(
                Record(timestamp=now_ms, key=encode_group_metadata_key(group_id), value=value))
        for partition, records in by_partition.items():
            self._write(partition, build_batch(records), now_ms)

    def delete_topic(self, topic: str, now_ms: int) -> None:
        for group_id in list(self._offsets):
            self.delete(group_id, [k for k in self._offsets[group_id] if k[0] == topic], now_ms)

    def expire(self, now_ms: int, retention_ms: int, expires_from) -> int:
        """Delete offsets whose retention has run out; returns how many went.

        ``expires_from(group_id, topic)`` says when an offset's retention starts: a time
        (the group became empty then), COMMIT_TIME (from the offset's own commit, for
        groups without members), or None (keep it), as Kafka's expiration condition.
        An offset with an explicit expire timestamp expires then instead (Kafka's
        OffsetExpirationConditionImpl.isOffsetExpired).
        """
        removed = 0
        for group_id in list(self._offsets):
            expired = []
            for (topic, partition), c in self._offsets[group_id].items():
                start = expires_from(group_id, topic)
                if start is None:
                    continue
                if c.expire_timestamp >= 0:
                    if now_ms >= c.expire_timestamp:
                        expired.append((topic, partition))
                elif (c.commit_timestamp if start == COMMIT_TIME else start) + retention_ms <= now_ms:
                    expired.append((topic, partition))
            self.delete(group_id, expired, now_ms)
            removed += len(expired)
        return removed

    def _append(self, group_id: str, records: list[Record], now_ms: int) -> bool:
        """Append to the group's partition; False if it is not this broker's to write (dropped)."""
        return self._write(self.partition_of(group_id), build_batch(records), now_ms) is not None

    def _write(self, partition: int, batch, now_ms: int, **options):
        """Append a batch to a partition of the topic, if this broker owns it (cluster mode: leads
        it); else drop it with a warning, since a follower's replica holds only its leader's
        batches. The append's result, or None when dropped."""
        if self._placement is not None and not self._placement.owns(partition):
            log.warning("not writing to %s-%d: this broker does not lead it (any more)", OFFSETS_TOPIC, partition)
            return None
        return self._storage.partition(OFFSETS_TOPIC, partition).append(batch, now_ms, **options)

    def partition_count(self) -> int:
        """The topic's partition count, on which groups are placed: the cluster's (cluster mode),
        or the local topic's, made on first use."""
        return self._placement.partitions if self._placement is not None else self.ensure_topic()

    def partition_of(self, group_id: str) -> int:
        """The group's partition of the topic."""
        return partition_for(group_id, self.partition_count())

    def owns(self, partition: int) -> bool:
        """Are the groups of this partition loaded, and written, here?"""
        return self._placement is None or self._placement.owns(partition)

    def ensure_topic(self) -> int:
        """The partition count of __consumer_offsets, made with it when it does not exist yet."""
        info = self._storage.topic(OFFSETS_TOPIC)
        if info is None:
            info = self._storage.create_topic(OFFSETS_TOPIC, self._num_partitions, OFFSETS_TOPIC_CONFIGS,
                                              internal=True)
        return info.num_partitions

    # -- start-up --------------------------------------------------------------------

    def _load(self) -> None:
        info = self._storage.topic(OFFSETS_TOPIC)
        if info is None:
            return
        self._count = self.partition_count()
        # records found outside their group's partition: key -> (partition, group id, value),
        # the newest of each key, in the order they were last written
        self._foreign: dict[bytes, tuple[int, str, bytes]] = {}
        self._partition_of: dict[bytes, int] = {}   # group id (UTF-8) -> its partition: hashed once per group
        count = 0
        for partition in range(info.num_partitions):
            if not self.owns(partition):
                continue   # cluster mode: another broker coordinates that partition's groups
            plog = self._storage.partition(OFFSETS_TOPIC, partition)
            if not _holds_transactional_batches(plog):
                # the newest record of each key is the end state (the log is compacted): only those are decoded
                newest = plog.newest_by_key(READ_CHUNK_BYTES)
                for key, (offset, value) in sorted(newest.items(), key=lambda item: item[1][0]):
                    count += self._replay(Record(offset=offset, key=key, value=value), partition)
                continue
            for batch, header, start in plog.batches_from_start(READ_CHUNK_BYTES):
                if header.is_control:
                    self._replay_marker(batch, header.producer_id, partition)
                elif header.is_transactional:
                    self._replay_transactional(batch, header.producer_id, header.base_offset, partition)
                else:
                    for record in decode_records(batch):
                        if record.offset >= start:
                            count += self._replay(record, partition)
        if self._foreign or self._legacy_pending:
            count += self._settle_foreign()
        del self._foreign, self._partition_of
        log.info("loaded %d committed offsets of %d groups, metadata of %d groups",
                 count, len(self._offsets), len(self._loaded_groups))

    def _in_foreign_partition(self, record: Record, partition: int | None) -> bool:
        """Is the record outside its group's partition? Then it is kept aside (``_foreign``) for
        ``_settle_foreign``. An unreadable key is skipped, with a warning."""
        if partition is None:
            return False
        key = record.key
        group = bytes(key[4:4 + int.from_bytes(key[2:4], "big")])   # as group_of_key, its bytes
        own = self._partition_of.get(group)
        if own is None:
            try:
                group_id = group_of_key(key)
            except DecodeError as exc:
                log.warning("skipping unreadable record at offset %d of %s: %s", record.offset, OFFSETS_TOPIC, exc)
                return True
            own = self._partition_of[group] = partition_for(group_id, self._count)
        if own == partition:
            return False
        group_id = group.decode()
        key = bytes(key)
        self._foreign.pop(key, None)
        if record.value is not None:
            self._foreign[key] = (partition, group_id, bytes(record.value))
        if self._legacy_pending and key_version(key) in (0, 1):
            _, k = decode_versioned(key, OFFSET_COMMIT_KEY)
            self._legacy_pending.supersede(group_id, [(k["topic"], k["partition"])], record.offset)
        return True

    def _settle_foreign(self) -> int:
        """The records an older kbroker left outside their groups' partitions: each one whose
        key the group's own partition does not hold is loaded, then (one broker) appended to
        that partition; then every one is tombstoned where it was. A group with a transaction
        open there is loaded, not moved. Returns the offsets loaded. Cluster mode: only those
        of groups whose own partition is led here."""
        if self._placement is not None:
            self._foreign = {key: found for key, found in self._foreign.items()
                             if self.owns(partition_for(found[1], self._count))}
            for group_id in self._legacy_pending.groups():
                if not self.owns(partition_for(group_id, self._count)):
                    self._legacy_pending.drop_group(group_id)
        open_groups = self._legacy_pending.groups()
        home_partitions = {partition_for(g, self._count) for _, g, _ in self._foreign.values()} | {
            partition_for(g, self._count) for g in open_groups}
        home_keys: set[bytes] = set()
        for partition in sorted(home_partitions):
            home_keys.update(self._storage.partition(OFFSETS_TOPIC, partition).newest_by_key(READ_CHUNK_BYTES))
        for key in home_keys if open_groups else ():   # written after the upgrade: later than those
            try:
                if key_version(key) in (0, 1) and group_of_key(key) in open_groups:
                    _, k = decode_versioned(key, OFFSET_COMMIT_KEY)
                    self._legacy_pending.supersede(k["group"], [(k["topic"], k["partition"])])
            except DecodeError:
                continue   # the replay warned about it
        now = int(time.time() * 1000)
        moved: dict[int, list[Record]] = {}
        tombstones: dict[int, list[Record]] = {}
        count = 0
        for key, (partition, group_id, value) in self._foreign.items():
            if key not in home_keys:
                count += self._replay(Record(offset=-1, key=key, value=value))   # -1: supersedes no pending offset
                if group_id not in open_groups:
                    moved.setdefault(partition_for(group_id, self._count), []).append(
                        Record(timestamp=now, key=key, value=value))
            if group_id not in open_groups:
                tombstones.setdefault(partition, []).append(Record(timestamp=now, key=key, value=None))
        if self._move_legacy:
            for records in (moved, tombstones):   # the new copies first: a stop between keeps both
                for partition, batch in sorted(records.items()):
                    self._storage.partition(OFFSETS_TOPIC, partition).append(build_batch(batch), now)
            if tombstones:
                log.info("moved %d records of %s into the partitions Kafka keeps their groups in; %d "
                         "groups wait for their open transactions", sum(map(len, moved.values())), OFFSETS_TOPIC,
                         len(open_groups))
        return count

    def _replay(self, record: Record, partition: int | None = None) -> int:
        """One record of ``partition`` (None: one kept aside, now loaded); returns 1 for an offset loaded."""
        try:
            if record.key is None or self._in_foreign_partition(record, partition):
                return 0
            version = key_version(record.key)
            if version == GROUP_METADATA_KEY_VERSION:
                self._replay_group(record)
                return 0
            if version not in (0, 1):
                # other coordinator records (KIP-848 and share groups): kept for their coordinators
                self._loaded_records.pop(bytes(record.key), None)
                self._loaded_records[bytes(record.key)] = (version, None if record.value is None
                                                           else bytes(record.value))
                return 0
            _, key = decode_versioned(record.key, OFFSET_COMMIT_KEY)
            group = self._offsets.setdefault(key["group"], {})
            if record.value is None:
                group.pop((key["topic"], key["partition"]), None)
                if not group:
                    del self._offsets[key["group"]]
                return 0
            _, value = decode_versioned(record.value, OFFSET_COMMIT_VALUE)
        except DecodeError as exc:
            log.warning("skipping unreadable record at offset %d of %s: %s", record.offset, OFFSETS_TOPIC, exc)
            return 0
        group[(key["topic"], key["partition"])] = CommittedOffset(
            value["offset"], value["leader_epoch"], value["metadata"], value["commit_timestamp"],
            value["expire_timestamp"])
        if self._pending:
            self._pending.supersede(key["group"], [(key["topic"], key["partition"])], record.offset)
        return 1

    def _replay_transactional(self, batch, producer_id: int, base_offset: int, partition: int) -> None:
        """A transaction's offsets: pending until its marker (Kafka's loadGroupsAndOffsets)."""
        for record in decode_records(batch):
            try:
                if record.key is None or key_version(record.key) not in (0, 1):
                    continue
                _, key = decode_versioned(record.key, OFFSET_COMMIT_KEY)
                where = (key["topic"], key["partition"])
                pending = self._pending if partition_for(key["group"], self._count) == partition \
                    else self._legacy_pending
                if record.value is None:
                    pending.remove(producer_id, key["group"], where)
                    continue
                _, value = decode_versioned(record.value, OFFSET_COMMIT_VALUE)
            except DecodeError as exc:
                log.warning("skipping unreadable record at offset %d of %s: %s", record.offset, OFFSETS_TOPIC, exc)
                continue
            pending.add(producer_id, key["group"], {where: CommittedOffset(
                value["offset"], value["leader_epoch"], value["metadata"], value["commit_timestamp"],
                value["expire_timestamp"])}, base_offset)

    def _replay_marker(self, batch, producer_id: int, partition: int) -> None:
        try:
            marker = marker_of(batch)
        except CorruptRecordError as exc:
            log.warning("skipping an unreadable transaction marker of producer %d in %s: %s", producer_id,
                        OFFSETS_TOPIC, exc)
            return
        if marker is None:
            return
        count = self._count
        for group_id, offsets in self._pending.complete(
                producer_id, lambda group_id: partition_for(group_id, count) == partition, marker.committed):
            self._offsets.setdefault(group_id, {}).update(offsets)
        if self._legacy_pending:   # the group's offsets committed where an older kbroker kept the group
            for group_id, offsets in self._legacy_pending.complete(
                    producer_id, lambda group_id: legacy_coordinator_partition(group_id, count) == partition,
                    marker.committed):
                for (topic, index), c in offsets.items():
                    self._in_foreign_partition(Record(offset=-1, key=encode_offset_key(group_id, topic, index),
                                                      value=encode_value(c)), partition)

    def _replay_group(self, record: Record) -> None:
        """Kafka's replay(GroupMetadataKey, GroupMetadataValue): the last record wins."""
        group_id = decode_group_metadata_key(record.key)
        if record.value is None:
            self._loaded_groups.pop(group_id, None)
        else:
            self._loaded_groups[group_id] = record.value


def _holds_transactional_batches(plog) -> bool:
    """Whether a partition of the topic holds transactional batches or markers (headers only)."""
    return any(header.is_transactional or header.is_control
               for _, header, _ in plog.batches_from_start(READ_CHUNK_BYTES))
    return False
