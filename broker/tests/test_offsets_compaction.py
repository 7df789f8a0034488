"""__consumer_offsets is compacted (cleanup.policy=compact, as Kafka creates it): after a cleaning
its replay at start reads one record per key and loads the same offsets and groups."""

from __future__ import annotations

from broker.groups.offsets import OFFSETS_TOPIC, CommittedOffset, OffsetStore
from storage import LogConfig, Storage, decode_records, iter_batches, read_header
from storage.log_manager import LogManager

NOW = 1_700_000_000_000


def records_in(storage: Storage) -> int:
    count = 0
    for partition in range(storage.topic(OFFSETS_TOPIC).num_partitions):
        log = storage.partition(OFFSETS_TOPIC, partition)
        data = log.read(log.log_start_offset, 1 << 30).read_bytes() if log.log_end_offset > log.log_start_offset else b""
        count += sum(len(decode_records(batch)) for batch in iter_batches(data))
    return count


def test_a_cleaned_offsets_topic_replays_the_same_offsets(tmp_path):
    storage = Storage.open(tmp_path / "data", LogConfig())
    store = OffsetStore(storage, num_partitions=3)
    for n in range(200):   # 200 commits of the same 4 partitions by each of 5 groups
        for group in range(5):
            store.commit(f"group-{group}", {("orders", p): CommittedOffset(n * 10 + p, 0, "", NOW + n)
                                            for p in range(4)}, NOW + n)
        if n == 10:   # small segments from here on, so that most of the log is in closed segments
            storage.alter_topic_configs(OFFSETS_TOPIC, {**storage.topic(OFFSETS_TOPIC).configs,
                                                        "segment.bytes": "4096", "min.cleanable.dirty.ratio": "0.01"})
    store.delete("group-4", [("orders", 3)], NOW + 300)
    before = records_in(storage)
    manager = LogManager(storage)
    while manager.clean_once(NOW + 1000) is not None:
        pass
    after = records_in(storage)
    assert before == 200 * 5 * 4 + 1 and after < before / 10
    replayed = OffsetStore(storage, num_partitions=3)
    for group in range(5):
        assert replayed.group_offsets(f"group-{group}") == store.group_offsets(f"group-{group}")
    assert ("orders", 3) not in replayed.group_offsets("group-4")
    storage.close()


def test_transactional_offsets_replay_as_kafka_materializes_them_before_and_after_cleaning(tmp_path):
    """Committed, aborted, superseded and still-open transactional offsets: the replay at start
    (record by record where transactional batches are) gives what the live store had, before and
    after the cleaner dropped aborted and superseded records (Kafka's replayEndTransactionMarker:
    the later append wins)."""
    storage = Storage.open(tmp_path / "data", LogConfig())
    store = OffsetStore(storage, num_partitions=1)
    store.ensure_topic()
    storage.alter_topic_configs(OFFSETS_TOPIC, {**storage.topic(OFFSETS_TOPIC).configs,
                                                "segment.bytes": "2048", "min.cleanable.dirty.ratio": "0.01",
                                                "delete.retention.ms": "0"})
    log = storage.partition(OFFSETS_TOPIC, 0)

    def offset(value):
        return CommittedOffset(value, 0, "", NOW)

    def txn(producer_id, partition, value):
        store.commit_transactional("g", producer_id, 0, {("t", partition): offset(value)}, NOW)

    def end(producer_id, committed):
        log.append_marker(producer_id, 0, 0, committed, NOW)
        store.complete_transaction(producer_id, 0, committed)

    def fillers(count):   # another group's commits: closed segments for the cleaner
        for n in range(count):
            store.commit("other", {("t", 0): offset(n)}, NOW)

    store.commit("g", {("t", p): offset(1) for p in range(4)}, NOW)
    txn(100, 0, 5)
    end(100, True)                                    # p0: 5
    txn(101, 1, 9)
    end(101, False)                                   # p1: stays 1
    txn(102, 2, 7)
    store.commit("g", {("t", 2): offset(8)}, NOW)     # a plain commit after the transaction's append wins
    end(102, True)                                    # p2: 8
    store.commit("g", {("t", 3): offset(2)}, NOW)
    txn(103, 3, 3)
    end(103, True)                                    # p3: 3, appended after the plain commit
    fillers(40)
    txn(104, 0, 11)                                   # open across the restarts below
    fillers(40)
    expected = {("t", p): offset(v) for p, v in enumerate((5, 1, 8, 3))}
    assert store.group_offsets("g") == expected and store.has_pending("g", "t", 0)

    def replayed():
        again = OffsetStore(storage, num_partitions=1)
        return again.group_offsets("g"), again.has_pending("g", "t", 0)

    assert replayed() == (expected, True)
    manager = LogManager(storage)
    while manager.clean_once(NOW + 1000) is not None:
        pass
    assert replayed() == (expected, True)             # the cleaner stopped below the open transaction
    end(104, False)
    fillers(40)
    while manager.clean_once(NOW + 2000) is not None:
        pass
    batches = list(iter_batches(log.read(log.log_start_offset, 1 << 30).read_bytes()))
    assert sum(len(decode_records(b)) for b in batches) < 40   # cleaned: the fillers' duplicates went
    aborted_records = [b for b in batches if read_header(b).producer_id in (101, 104)
                       and not read_header(b).is_control and read_header(b).records_count]
    assert aborted_records == []                      # and the aborted transactions' offsets
    assert replayed() == (expected, False)
    storage.close()
