"""A data directory an older kbroker wrote: it kept a group whose Java hash is negative in the
partition of ``__consumer_offsets`` the hash with its sign bit masked off points to, not in
Kafka's (``Utils.abs(hash) % 50``). After the upgrade a client still reads the group's committed
offsets (kafka-python's committed()), a commit made after it is what it reads after another
restart, and the group's records end up in Kafka's partition (where a Kafka broker or tool
looks for them)."""

from __future__ import annotations

from broker.groups.offsets import OFFSETS_TOPIC, OffsetStore, partition_for
from broker.partitioner import legacy_coordinator_partition
from compat_tests.clients import create_topic
from kproto.coordinator_records import encode_offset_key, encode_offset_value
from storage import Record, Storage, build_batch

GROUP = "my-group"   # hashCode -1906497762: Kafka's partition 12 of 50, the older kbroker's 36
PARTITIONS = 50      # offsets.topic.num.partitions


def live_keys(storage: Storage, partition: int) -> set[bytes]:
    return {k for k, (_, v) in storage.partition(OFFSETS_TOPIC, partition).newest_by_key().items() if v is not None}


def test_offsets_an_older_kbroker_kept_survive_the_upgrade_and_move_to_kafkas_partition(own_broker, topic_name):
    from kafka import KafkaConsumer, TopicPartition
    from kafka.structs import OffsetAndMetadata

    own, old = partition_for(GROUP, PARTITIONS), legacy_coordinator_partition(GROUP, PARTITIONS)
    assert (own, old) == (12, 36)
    own_broker.start()
    create_topic("confluent", own_broker.bootstrap, topic_name, 2)
    assert own_broker.stop() == 0

    # what the older kbroker left: two commits in partition 36, as its OffsetStore wrote them
    storage = Storage.open(str(own_broker.data_dir))
    OffsetStore(storage, PARTITIONS).ensure_topic()
    storage.partition(OFFSETS_TOPIC, old).append(build_batch([
        Record(timestamp=1000, key=encode_offset_key(GROUP, topic_name, p), value=encode_offset_value(o, -1, m, 1000))
        for p, o, m in ((0, 5, "five"), (1, 7, "seven"))]), 1000)
    storage.close()

    def consumer():
        return KafkaConsumer(bootstrap_servers=own_broker.bootstrap, group_id=GROUP, enable_auto_commit=False,
                             request_timeout_ms=10000)

    def committed() -> list[tuple[int, int, str]]:
        reader = consumer()
        try:
            return [(p, *reader.committed(TopicPartition(topic_name, p), metadata=True)[:2]) for p in (0, 1)]
        finally:
            reader.close()

    own_broker.start()
    assert committed() == [(0, 5, "five"), (1, 7, "seven")]
    writer = consumer()
    try:
        writer.assign([TopicPartition(topic_name, 0)])
        writer.commit({TopicPartition(topic_name, 0): OffsetAndMetadata(11, "eleven", -1)})
    finally:
        writer.close()
    own_broker.restart()
    assert committed() == [(0, 11, "eleven"), (1, 7, "seven")]
    assert own_broker.stop() == 0

    storage = Storage.open(str(own_broker.data_dir))
    assert live_keys(storage, own) == {encode_offset_key(GROUP, topic_name, p) for p in (0, 1)}
    assert live_keys(storage, old) == set()
    storage.close()
