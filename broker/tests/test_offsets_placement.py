"""Cluster mode's view of __consumer_offsets in the offset store, on real files: only the groups of
the partitions this broker leads are loaded and written, and groups are placed on the cluster's
partition count, not on the local topic's (which holds only the partitions this broker has
replicas of). Lead-and-follow itself is the cluster tests' (compat_tests/cluster)."""

from __future__ import annotations

from dataclasses import dataclass, field

from broker.groups.config import GroupConfig
from broker.groups.offsets import OFFSETS_TOPIC, OFFSETS_TOPIC_CONFIGS, CommittedOffset, OffsetStore, partition_for
from broker.groups.service import GroupService
from broker.groups.snapshot import GroupSnapshot
from storage import Storage

N = 10


@dataclass
class Led:
    """Which partitions this broker leads, out of ``partitions`` in the cluster."""

    partitions: int = N
    led: set[int] = field(default_factory=set)

    def owns(self, partition: int) -> bool:
        return partition in self.led


def groups_in(count: int) -> dict[int, str]:
    """One group id per partition of ``count``."""
    found: dict[int, str] = {}
    i = 0
    while len(found) < count:
        found.setdefault(partition_for(f"group-{i}", count), f"group-{i}")
        i += 1
    return found


def ends(storage: Storage, partitions: range) -> list[int]:
    return [storage.partition(OFFSETS_TOPIC, p).log_end_offset for p in partitions]


def test_only_the_led_partitions_groups_are_loaded_and_written(tmp_path):
    storage = Storage.open(tmp_path / "data")
    groups = groups_in(N)
    one_broker = OffsetStore(storage, N)
    for partition, group in groups.items():
        one_broker.commit(group, {("t", 0): CommittedOffset(partition, -1, "", 1)}, 1)
        one_broker.store_groups([(group, GroupSnapshot(group, "consumer", 1, "range", None, None, ()))], 1)
    before = ends(storage, range(N))

    placement = Led(led={2, 7})
    store = OffsetStore(storage, N, placement=placement)
    assert sorted(store.groups()) == sorted([groups[2], groups[7]])
    assert sorted(g.group_id for g in store.take_loaded_groups()) == sorted([groups[2], groups[7]])

    store.commit(groups[2], {("t", 0): CommittedOffset(20, -1, "", 2)}, 2)   # led: written
    store.commit(groups[3], {("t", 0): CommittedOffset(30, -1, "", 2)}, 2)   # followed: dropped
    store.store_groups([(groups[4], None)], 2)
    store.store_records([(groups[5], 3, {"group_id": groups[5]}, None)], 2)
    assert ends(storage, range(N)) == [e + (p == 2) for p, e in enumerate(before)]
    assert store.get(groups[2], "t", 0).offset == 20 and store.get(groups[3], "t", 0) is None

    placement.led = {2}   # leadership of partition 7 lost: the store keeps nothing of it to write
    store.delete_group(groups[7], 3)
    assert ends(storage, range(N))[7] == before[7]


def test_groups_are_placed_on_the_clusters_count_not_the_local_topics(tmp_path):
    storage = Storage.open(tmp_path / "data")
    storage.create_topic(OFFSETS_TOPIC, N - 2, OFFSETS_TOPIC_CONFIGS, internal=True)   # replicas of 0..7 only
    group = next(g for p, g in groups_in(N).items() if p < N - 2 and partition_for(g, N - 2) != p)
    partition = partition_for(group, N)
    service = GroupService(GroupConfig(offsets_topic_num_partitions=N), storage,
                           placement=Led(led={partition}))
    assert service.offsets_partition(group) == partition
    service._offsets.commit(group, {("t", 0): CommittedOffset(5, -1, "", 1)}, 1)
    assert [p for p in range(N - 2) if storage.partition(OFFSETS_TOPIC, p).log_end_offset] == [partition]
    again = OffsetStore(storage, N, placement=Led(led={partition}))
    assert again.get(group, "t", 0).offset == 5
