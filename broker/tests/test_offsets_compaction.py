"""__consumer_offsets is compacted (cleanup.policy=compact, as Kafka creates it): after a cleaning
its replay at start reads one record per key and loads the same offsets and groups."""

from __future__ import annotations

from broker.groups.offsets import OFFSETS_TOPIC, CommittedOffset, OffsetStore
from storage import LogConfig, Storage, decode_records, iter_batches
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
