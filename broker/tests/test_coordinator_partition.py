"""The partition a coordinator keeps a key in (Kafka's ``Utils.abs(key.hashCode()) % n``), and the
move of what an older kbroker kept in the sign-masked partition (``(hash & 0x7FFFFFFF) % n``):
offsets, group metadata and share-partition state are found after the upgrade, with their newest
values, and end up in Kafka's partition, on real files."""

from __future__ import annotations

import uuid

import pytest

from broker.groups.offsets import OFFSETS_TOPIC, CommittedOffset, OffsetStore, partition_for
from broker.groups.share.state import SHARE_STATE_TOPIC, ShareStateStore, coordinator_key
from broker.partitioner import coordinator_partition, java_string_hash, legacy_coordinator_partition
from broker.transactions.log import partition_for as transaction_partition_for
from kproto import group_records as R
from kproto.coordinator_records import encode_group_metadata_key, encode_offset_key, encode_offset_value
from storage import Record, Storage, build_batch

N = 50   # offsets.topic.num.partitions and share.coordinator.state.topic.num.partitions


@pytest.mark.parametrize("key", ["my-group", "orders-consumer", "analytics-app", "group-1", "polygenelubricants",
                                 "g:AAAAAAAAAAAAAAAAAAAAAA:0"])
def test_the_partition_is_kafkas_abs_of_the_java_hash(key):
    h = java_string_hash(key)
    expected = 0 if h == -(1 << 31) else abs(h) % N   # Utils.abs: Integer.MIN_VALUE gives 0
    assert coordinator_partition(key, N) == partition_for(key, N) == transaction_partition_for(key, N) == expected


def test_known_partitions_of_ids_whose_hash_is_negative():
    # "my-group".hashCode() = -1906497762. Kafka: 1906497762 % 50 = 12. The sign bit masked off:
    # 2**31 - 1906497762 = 240985886, % 50 = 36 (where an older kbroker kept it).
    assert java_string_hash("my-group") == -1906497762
    assert (coordinator_partition("my-group", N), legacy_coordinator_partition("my-group", N)) == (12, 36)
    # "orders-consumer".hashCode() = -1204742690: 1204742690 % 50 = 40; 2**31 - 1204742690 = 942740958, % 50 = 8
    assert java_string_hash("orders-consumer") == -1204742690
    assert (coordinator_partition("orders-consumer", N), legacy_coordinator_partition("orders-consumer", N)) == (40, 8)


# -- __consumer_offsets ------------------------------------------------------------------------------------------

def offset_record(group: str, partition: int, offset: int) -> Record:
    return Record(timestamp=1000, key=encode_offset_key(group, "t", partition),
                  value=encode_offset_value(offset, -1, f"m{offset}", 1000, -1))


def append(storage: Storage, topic: str, partition: int, records: list[Record]) -> None:
    storage.partition(topic, partition).append(build_batch(records), 1000)


def keys_live_in(storage: Storage, topic: str, partition: int) -> set[bytes]:
    """The keys whose newest record in the partition is not a tombstone."""
    return {k for k, (_, v) in storage.partition(topic, partition).newest_by_key().items() if v is not None}


def new_offsets_topic(path) -> Storage:
    storage = Storage.open(path)
    OffsetStore(storage, N).ensure_topic()
    return storage


def test_offsets_an_older_kbroker_kept_elsewhere_are_moved_to_kafkas_partition(tmp_path):
    # "my-group": old partition 36 replayed after its own (12); "orders-consumer": old 8 before its own 40
    storage = new_offsets_topic(tmp_path / "data")
    for group, old in (("my-group", 36), ("orders-consumer", 8)):
        append(storage, OFFSETS_TOPIC, old, [offset_record(group, 0, 5), offset_record(group, 1, 7)])
        append(storage, OFFSETS_TOPIC, old, [offset_record(group, 1, 8)])
    append(storage, OFFSETS_TOPIC, 36, [Record(timestamp=1000, key=encode_offset_key("my-group", "t", 2),
                                               value=None)])   # a deleted offset stays deleted
    storage.close()

    for _ in range(2):   # the move, then a start that finds nothing left to move
        storage = Storage.open(tmp_path / "data")
        store = OffsetStore(storage, N)
        for group, old, own in (("my-group", 36, 12), ("orders-consumer", 8, 40)):
            assert store.group_offsets(group) == {("t", 0): CommittedOffset(5, -1, "m5", 1000),
                                                  ("t", 1): CommittedOffset(8, -1, "m8", 1000)}
            assert keys_live_in(storage, OFFSETS_TOPIC, old) == set()
            assert keys_live_in(storage, OFFSETS_TOPIC, own) == {encode_offset_key(group, "t", p) for p in (0, 1)}
        ends = [storage.partition(OFFSETS_TOPIC, p).log_end_offset for p in range(N)]
        storage.close()
    storage = Storage.open(tmp_path / "data")
    OffsetStore(storage, N)
    assert [storage.partition(OFFSETS_TOPIC, p).log_end_offset for p in range(N)] == ends   # nothing rewritten


@pytest.mark.parametrize("group, old", [("my-group", 36), ("orders-consumer", 8)])
def test_a_stop_between_the_copy_and_the_tombstones_loses_nothing_and_goes_back_nowhere(tmp_path, group, old):
    """What a SIGKILL between the two appends leaves: the group's own partition holds the copy
    (and a commit made after it), the old partition the originals. The own partition wins, key by
    key, whichever is replayed first; the old one gets its tombstones."""
    storage = new_offsets_topic(tmp_path / "data")
    own = partition_for(group, N)
    append(storage, OFFSETS_TOPIC, old, [offset_record(group, 0, 5), offset_record(group, 1, 7),
                                         Record(timestamp=1000, key=encode_group_metadata_key(group), value=None)])
    append(storage, OFFSETS_TOPIC, own, [offset_record(group, 0, 5), offset_record(group, 1, 7)])   # the copy
    append(storage, OFFSETS_TOPIC, own, [offset_record(group, 0, 9)])                              # then a commit
    storage.close()
    storage = Storage.open(tmp_path / "data")
    store = OffsetStore(storage, N)
    assert {k: c.offset for k, c in store.group_offsets(group).items()} == {("t", 0): 9, ("t", 1): 7}
    assert keys_live_in(storage, OFFSETS_TOPIC, old) == set()
    assert storage.partition(OFFSETS_TOPIC, own).log_end_offset == 3   # nothing copied twice
    storage.close()
    assert {k: c.offset for k, c in OffsetStore(Storage.open(tmp_path / "data"), N).group_offsets(group).items()
            } == {("t", 0): 9, ("t", 1): 7}


def test_in_cluster_mode_offsets_elsewhere_are_read_and_not_moved(tmp_path):
    storage = new_offsets_topic(tmp_path / "data")
    append(storage, OFFSETS_TOPIC, 36, [offset_record("my-group", 0, 5)])
    store = OffsetStore(storage, N, move_legacy=False)
    assert store.get("my-group", "t", 0).offset == 5
    assert keys_live_in(storage, OFFSETS_TOPIC, 36) == {encode_offset_key("my-group", "t", 0)}
    assert keys_live_in(storage, OFFSETS_TOPIC, 12) == set()


# -- __share_group_state -------------------------------------------------------------------------------------------

def share_key_with_negative_hash() -> tuple[str, uuid.UUID, int]:
    """A share-partition whose coordinator key hashes negative, its Kafka and old partitions different."""
    topic_id = uuid.UUID(int=0x1234)
    for i in range(1000):
        key = (f"share-{i}", topic_id, 0)
        text = coordinator_key(key)
        if coordinator_partition(text, N) != legacy_coordinator_partition(text, N):
            return key
    raise AssertionError("none found")


def share_record(key, record_type: int, start: int, batches: list[tuple[int, int, int, int]]) -> Record:
    group_id, topic_id, partition = key
    value = {"snapshot_epoch": 0, "leader_epoch": 0, "start_offset": start, "delivery_complete_count": 3,
             "state_batches": [{"first_offset": f, "last_offset": l, "delivery_state": s, "delivery_count": c}
                               for f, l, s, c in batches]}
    if record_type == R.SHARE_SNAPSHOT:
        value.update(state_epoch=0, create_timestamp=1000, write_timestamp=1000)
    return Record(timestamp=1000, key=R.encode_key(record_type, {"group_id": group_id, "topic_id": topic_id.bytes,
                                                                 "partition": partition}, R.SHARE_STATE_KEYS),
                  value=R.encode_value(record_type, value, R.SHARE_STATE_VALUES))


def test_share_state_an_older_kbroker_kept_elsewhere_is_moved(tmp_path):
    key = share_key_with_negative_hash()
    text = coordinator_key(key)
    own, old = coordinator_partition(text, N), legacy_coordinator_partition(text, N)
    assert java_string_hash(text) < 0
    storage = Storage.open(tmp_path / "data")
    ShareStateStore(storage, N)._partition(key)   # makes the topic
    append(storage, SHARE_STATE_TOPIC, old, [share_record(key, R.SHARE_SNAPSHOT, 10, [(10, 14, 2, 1)])])
    append(storage, SHARE_STATE_TOPIC, old, [share_record(key, R.SHARE_UPDATE, 12, [(15, 19, 4, 2)])])
    storage.close()
    for _ in range(2):
        storage = Storage.open(tmp_path / "data")
        assert ShareStateStore(storage, N).loaded == {key: (12, [(10, 14, 2, 1), (15, 19, 4, 2)])}
        assert keys_live_in(storage, SHARE_STATE_TOPIC, old) == set()
        assert len(keys_live_in(storage, SHARE_STATE_TOPIC, own)) == 1   # one snapshot
        storage.close()


def test_share_state_in_its_own_partition_wins_over_an_older_copy(tmp_path):
    key = share_key_with_negative_hash()
    text = coordinator_key(key)
    own, old = coordinator_partition(text, N), legacy_coordinator_partition(text, N)
    storage = Storage.open(tmp_path / "data")
    ShareStateStore(storage, N)._partition(key)
    append(storage, SHARE_STATE_TOPIC, old, [share_record(key, R.SHARE_SNAPSHOT, 10, [(10, 14, 0, 1)])])
    append(storage, SHARE_STATE_TOPIC, own, [share_record(key, R.SHARE_SNAPSHOT, 20, [])])
    assert ShareStateStore(storage, N).loaded == {key: (20, [])}
    assert keys_live_in(storage, SHARE_STATE_TOPIC, old) == set()


def test_a_transaction_left_open_in_the_old_partition_ends_there_and_its_group_moves_at_the_next_start(tmp_path):
    """A transaction's offsets in "my-group"'s old partition (36), its marker still to come: the
    group is loaded but stays there (the marker is written where the transaction's partitions
    are); the marker commits the offsets; the next start moves the group with them."""
    storage = new_offsets_topic(tmp_path / "data")
    append(storage, OFFSETS_TOPIC, 36, [offset_record("my-group", 0, 5)])
    storage.partition(OFFSETS_TOPIC, 36).append(build_batch(
        [offset_record("my-group", 0, 6), offset_record("my-group", 1, 1)], producer_id=7, producer_epoch=0,
        is_transactional=True), 1000, from_coordinator=True)
    store = OffsetStore(storage, N)
    assert store.get("my-group", "t", 0).offset == 5 and store.has_pending("my-group", "t", 0)
    store.commit("my-group", {("t", 1): CommittedOffset(2, -1, "", 1000)}, 1000)   # after the transaction's: wins
    assert keys_live_in(storage, OFFSETS_TOPIC, 36) == {encode_offset_key("my-group", "t", p) for p in (0, 1)}
    storage.partition(OFFSETS_TOPIC, 36).append_marker(7, 0, 0, True, 2000)
    store.complete_transaction(7, 36, True)
    assert not store.has_pending("my-group")
    assert {k: c.offset for k, c in store.group_offsets("my-group").items()} == {("t", 0): 6, ("t", 1): 2}
    storage.close()

    storage = Storage.open(tmp_path / "data")
    store = OffsetStore(storage, N)
    assert {k: c.offset for k, c in store.group_offsets("my-group").items()} == {("t", 0): 6, ("t", 1): 2}
    assert keys_live_in(storage, OFFSETS_TOPIC, 36) == set()
    assert keys_live_in(storage, OFFSETS_TOPIC, 12) == {encode_offset_key("my-group", "t", p) for p in (0, 1)}
