"""Share-partition state in ``__share_group_state``, as Kafka's share coordinator keeps it.

Each share-partition (group, topic id, partition) is a key of its own, on the partition of
``abs(javaHash("group:topicId:partition")) % partitions``. A ShareSnapshot record holds its
whole state (start offset, the state batches in flight: available, acknowledged, archived,
with delivery counts); ShareUpdate records after it hold what changed since. Every
``SNAPSHOT_EVERY`` updates a new snapshot is written, so a restart replays little (Kafka's
share.coordinator.snapshot.update.records.per.snapshot). Tombstones for both keys remove
the state (the group's offsets deleted). Acquired records are never written: after a
restart they are available again, as in Kafka.

A kbroker before this one put a key whose hash is negative in another partition (the hash's
sign bit masked off, not Kafka's abs). The replay loads a key from such a partition only if
its own partition holds no record of it, then (one broker) writes its state as a snapshot to
its own partition and tombstones where it was: a stop between the two leaves both, and the
next start takes the snapshot and writes the tombstones again.
"""

from __future__ import annotations

import logging
import time
import uuid

from kproto import group_records as R
from kproto.errors import DecodeError
from broker.partitioner import coordinator_partition
from storage import Record, Storage, build_batch, decode_records

from ..offsets import READ_CHUNK_BYTES

log = logging.getLogger("kbroker.share")

SHARE_STATE_TOPIC = "__share_group_state"
SHARE_STATE_TOPIC_CONFIGS = {"cleanup.policy": "delete,compact", "segment.bytes": "104857600",
                             "min.insync.replicas": "1"}
SNAPSHOT_EVERY = 500

Key = tuple[str, uuid.UUID, int]
Batch = tuple[int, int, int, int]


def coordinator_key(key: Key) -> str:
    group_id, topic_id, partition = key
    from base64 import urlsafe_b64encode
    # Kafka prints topic ids as URL-safe base64 without padding (Uuid.toString)
    return f"{group_id}:{urlsafe_b64encode(topic_id.bytes).decode().rstrip('=')}:{partition}"


def overlay(batches: list[Batch], updates: list[Batch]) -> list[Batch]:
    """``batches`` with ``updates`` written over them (later wins), sorted, ranges split."""
    out = sorted(batches)
    for first, last, state, count in updates:
        kept = []
        for b in out:
            if b[1] < first or b[0] > last:
                kept.append(b)
                continue
            if b[0] < first:
                kept.append((b[0], first - 1, b[2], b[3]))
            if b[1] > last:
                kept.append((last + 1, b[1], b[2], b[3]))
        kept.append((first, last, state, count))
        out = sorted(kept)
    return out


class ShareStateStore:
    """Read and write share-partition state; nothing is acknowledged before it is in the log."""

    def __init__(self, storage: Storage, num_partitions: int = 50, *, move_legacy: bool = True):
        self._storage = storage
        self._num_partitions = num_partitions
        self._move_legacy = move_legacy   # False in cluster mode: its partitions' writes are their leaders'
        self._updates_since_snapshot: dict[Key, int] = {}
        self.loaded: dict[Key, tuple[int, list[Batch]]] = {}   # key -> (start offset, batches)
        self._delivery_complete: dict[Key, int] = {}   # of a key found outside its partition, for its snapshot
        self._load()

    def _partition(self, key: Key) -> int:
        info = self._storage.topic(SHARE_STATE_TOPIC)
        if info is None:
            info = self._storage.create_topic(SHARE_STATE_TOPIC, self._num_partitions, SHARE_STATE_TOPIC_CONFIGS,
                                              internal=True)
        return coordinator_partition(coordinator_key(key), info.num_partitions)

    def _append(self, key: Key, records: list[Record], now_ms: int) -> None:
        self._storage.partition(SHARE_STATE_TOPIC, self._partition(key)).append(build_batch(records), now_ms)

    def write(self, key: Key, start_offset: int, changed: list[Batch], everything: list[Batch],
              delivery_complete: int, now_ms: int, *, snapshot: bool = False) -> None:
        """Persist a change: a ShareUpdate with ``changed``, or a ShareSnapshot of ``everything``
        when asked or when enough updates piled up since the last one."""
        group_id, topic_id, partition = key
        record_key = {"group_id": group_id, "topic_id": topic_id.bytes, "partition": partition}
        count = self._updates_since_snapshot.get(key, SNAPSHOT_EVERY)
        if snapshot or count >= SNAPSHOT_EVERY:
            value = {"snapshot_epoch": 0, "state_epoch": 0, "leader_epoch": 0, "start_offset": start_offset,
                     "delivery_complete_count": delivery_complete, "create_timestamp": now_ms,
                     "write_timestamp": now_ms, "state_batches": _batches(everything)}
            record = Record(timestamp=now_ms, key=R.encode_key(R.SHARE_SNAPSHOT, record_key, R.SHARE_STATE_KEYS),
                            value=R.encode_value(R.SHARE_SNAPSHOT, value, R.SHARE_STATE_VALUES))
            self._updates_since_snapshot[key] = 0
        else:
            value = {"snapshot_epoch": 0, "leader_epoch": 0, "start_offset": start_offset,
                     "delivery_complete_count": delivery_complete, "state_batches": _batches(changed)}
            record = Record(timestamp=now_ms, key=R.encode_key(R.SHARE_UPDATE, record_key, R.SHARE_STATE_KEYS),
                            value=R.encode_value(R.SHARE_UPDATE, value, R.SHARE_STATE_VALUES))
            self._updates_since_snapshot[key] = count + 1
        self._append(key, [record], now_ms)

    def delete(self, key: Key, now_ms: int) -> None:
        group_id, topic_id, partition = key
        record_key = {"group_id": group_id, "topic_id": topic_id.bytes, "partition": partition}
        self._append(key, [Record(timestamp=now_ms, key=R.encode_key(t, record_key, R.SHARE_STATE_KEYS), value=None)
                           for t in (R.SHARE_SNAPSHOT, R.SHARE_UPDATE)], now_ms)
        self._updates_since_snapshot.pop(key, None)

    def _load(self) -> None:
        info = self._storage.topic(SHARE_STATE_TOPIC)
        if info is None:
            return
        own: set[Key] = set()                            # keys with a record in their own partition
        elsewhere: dict[Key, int] = {}                   # key -> the other partition it has records in
        aside: dict[Key, tuple[int, list[Batch]]] = {}   # their state there
        self._partition_of: dict[Key, int] = {}          # hashed once per key
        for partition in range(info.num_partitions):
            plog = self._storage.partition(SHARE_STATE_TOPIC, partition)
            for batch, _, start in plog.batches_from_start(READ_CHUNK_BYTES):
                for record in decode_records(batch):
                    if record.offset >= start and record.key is not None:
                        self._replay(record, partition, info.num_partitions, own, elsewhere, aside)
        del self._partition_of
        if elsewhere:
            self._settle_elsewhere(own, elsewhere, aside)
        log.info("loaded the state of %d share-partitions", len(self.loaded))

    def _settle_elsewhere(self, own: set[Key], elsewhere: dict[Key, int],
                          aside: dict[Key, tuple[int, list[Batch]]]) -> None:
        """Keys an older kbroker kept outside their partitions: loaded unless their own
        partition holds them, their state snapshotted there; then tombstoned where they were."""
        now = int(time.time() * 1000)
        moved = 0
        for key, (start, batches) in aside.items():
            if key in own:
                continue
            self.loaded[key] = (start, batches)
            if self._move_legacy:
                self.write(key, start, [], batches, self._delivery_complete.get(key, -1), now,
                           snapshot=True)
                moved += 1
        if self._move_legacy:
            for key, partition in elsewhere.items():
                group_id, topic_id, index = key
                record_key = {"group_id": group_id, "topic_id": topic_id.bytes, "partition": index}
                self._storage.partition(SHARE_STATE_TOPIC, partition).append(build_batch(
                    [Record(timestamp=now, key=R.encode_key(t, record_key, R.SHARE_STATE_KEYS), value=None)
                     for t in (R.SHARE_SNAPSHOT, R.SHARE_UPDATE)]), now)
            log.info("moved the state of %d share-partitions into the partitions Kafka keeps them in", moved)

    def _replay(self, record: Record, partition: int, count: int, own: set[Key], elsewhere: dict[Key, int],
                aside: dict[Key, tuple[int, list[Batch]]]) -> None:
        try:
            record_type, key = R.decode_key(bytes(record.key), R.SHARE_STATE_KEYS)
            k = (key["group_id"], uuid.UUID(bytes=bytes(key["topic_id"])), key["partition"])
            value = None if record.value is None else R.decode_value(record_type, bytes(record.value),
                                                                     R.SHARE_STATE_VALUES)
        except DecodeError as exc:
            log.warning("skipping an unreadable record of %s: %s", SHARE_STATE_TOPIC, exc)
            return
        home = self._partition_of.get(k)
        if home is None:
            home = self._partition_of[k] = coordinator_partition(coordinator_key(k), count)
        if home == partition:
            own.add(k)
            loaded = self.loaded
        else:
            loaded = aside
            if value is None:
                elsewhere.pop(k, None)   # already tombstoned there
            else:
                elsewhere[k] = partition
        if value is None:
            loaded.pop(k, None)
            return
        batches = [(b["first_offset"], b["last_offset"], b["delivery_state"], b["delivery_count"])
                   for b in value["state_batches"]]
        if record_type == R.SHARE_SNAPSHOT:
            loaded[k] = (value["start_offset"], sorted(batches))
        else:
            start, old = loaded.get(k, (value["start_offset"], []))
            if value["start_offset"] >= 0:
                start = value["start_offset"]
            loaded[k] = (start, [b for b in overlay(old, batches) if b[1] >= start])
        if loaded is aside:
            self._delivery_complete[k] = value["delivery_complete_count"]
        else:
            self._updates_since_snapshot[k] = 0 if record_type == R.SHARE_SNAPSHOT else \
                self._updates_since_snapshot.get(k, 0) + 1


def _batches(batches: list[Batch]) -> list[dict]:
    return [{"first_offset": f, "last_offset": l, "delivery_state": s, "delivery_count": c}
            for f, l, s, c in batches]
