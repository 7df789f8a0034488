"""Committed offsets with real clients: commit and resume (also across a broker restart),
auto.offset.reset on a group without commits, and commit metadata round trips."""

from __future__ import annotations

import time

import pytest

from compat_tests.clients import CLIENTS, Out, create_topic, produce
from compat_tests.group_clients import GroupMember, committed_offsets, wait_until

SESSION_MS = 6000   # the shared broker keeps Kafka's group.min.session.timeout.ms
# confluent-kafka-python sends commit metadata with the C string's terminating NUL
# (py_to_c_parts: metadata_size = strlen(metadata) + 1); Kafka stores the bytes as sent, and
# librdkafka reading it back as a C string hides the NUL again. Other readers see it.
CK_NUL = "\x00"


def produce_values(bootstrap, topic, prefix, n, partitions=1) -> list[str]:
    vals = [f"{prefix}-{i:04d}" for i in range(n)]
    deliveries = produce("confluent", bootstrap, topic,
                         [Out(None, v.encode(), partition=i % partitions) for i, v in enumerate(vals)])
    assert [d.error for d in deliveries] == [None] * n
    return vals


def member(client, bootstrap, topic, group, tmp_path, **options) -> GroupMember:
    return GroupMember(client, bootstrap, topic, group, log_dir=tmp_path, session_ms=SESSION_MS,
                       heartbeat_ms=500, **options)


@pytest.mark.parametrize("restart", [False, True], ids=["running", "restarted"])
@pytest.mark.parametrize("client", CLIENTS)
def test_commit_then_resume(client, restart, request, topic_name, tmp_path):
    """Consume half, commit (with metadata), close; a new member of the group resumes exactly
    there, also after the broker restarted (offsets replayed from __consumer_offsets)."""
    if restart:
        broker = request.getfixturevalue("own_broker").start()
    else:
        broker = request.getfixturevalue("broker")
    bootstrap = broker.bootstrap
    create_topic("confluent", bootstrap, topic_name, 2)
    produced = produce_values(bootstrap, topic_name, "v", 200, partitions=2)
    group = f"g-{topic_name}"
    meta = f"meta {client} ✓"
    stored_meta = meta + (CK_NUL if client == "confluent" else "")

    first = member(client, bootstrap, topic_name, group, tmp_path, commit="manual", metadata=meta, max_records=100)
    try:
        assert first.wait_exit(60) == 0
    finally:
        first.close()
    assert first.has("done") and not first.errors(), first.snapshot()[-3:]
    taken = first.records()
    assert len(taken) == 100 and len(set(taken)) == 100
    expected = {}
    for p, o, _, _ in taken:
        expected[p] = max(expected.get(p, 0), o + 1)
    assert first.commits() == expected
    assert committed_offsets(bootstrap, group, topic_name, 2) == {
        (topic_name, p): (expected[p], stored_meta) if p in expected else (-1, "") for p in range(2)}

    if restart:
        broker.restart()
        assert committed_offsets(bootstrap, group, topic_name, 2) == {
            (topic_name, p): (expected[p], stored_meta) if p in expected else (-1, "") for p in range(2)}

    second = member(client, bootstrap, topic_name, group, tmp_path, commit="none", reset="earliest")
    try:
        wait_until(lambda: len(second.records()) >= 100, 60, lambda: f"resumed member got {len(second.records())}")
        time.sleep(0.5)
        rest = second.records()
    finally:
        second.close()
    # exactly the other half: the committed offsets were where it started
    assert len(rest) == 100
    assert sorted(set(rest) | set(taken)) == sorted(set(rest + taken))
    assert sorted(r[3] for r in rest + taken) == produced
    for p in range(2):
        offsets = [o for q, o, _, _ in rest if q == p]
        if offsets:
            assert min(offsets) == expected.get(p, 0)


@pytest.mark.parametrize("reset", ["earliest", "latest"])
@pytest.mark.parametrize("client", CLIENTS)
def test_auto_offset_reset_without_commits(client, reset, bootstrap, topic_name, tmp_path):
    """earliest: everything; latest: only what was produced after the member was assigned."""
    create_topic("confluent", bootstrap, topic_name, 1)
    before = produce_values(bootstrap, topic_name, "before", 20)
    consumer = member(client, bootstrap, topic_name, f"g-{topic_name}", tmp_path, commit="none", reset=reset)
    try:
        wait_until(lambda: consumer.assignment == {0}, 30, lambda: f"not assigned: {consumer.snapshot()}")
        probes = []
        if reset == "earliest":
            wait_until(lambda: len(consumer.records()) >= 20, 30, "earliest did not read the log")
        else:
            # The position is looked up at some point after the assignment: probe until a record
            # produced now is consumed; from then on nothing may be skipped.
            def probe():
                probes.extend(produce_values(bootstrap, topic_name, f"probe{len(probes)}", 1))
                return wait_until_quiet(lambda: consumer.records(), 0.3)
            wait_until(probe, 30, "latest consumer consumed nothing produced after its assignment", 0)
        after = produce_values(bootstrap, topic_name, "after", 10)
        wait_until(lambda: set(after) <= {r[3] for r in consumer.records()}, 30, "records produced later missed")
        time.sleep(0.3)
        got = [r[3] for r in consumer.records()]
    finally:
        consumer.close()
    if reset == "earliest":
        assert got == before + after
    else:
        consumed_probes = [v for v in got if v.startswith("probe")]
        assert consumed_probes and consumed_probes == probes[len(probes) - len(consumed_probes):]
        assert got == consumed_probes + after


def wait_until_quiet(get, timeout_s):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if get():
            return True
        time.sleep(0.02)
    return bool(get())


def test_commit_metadata_round_trips_between_clients(bootstrap, topic_name):
    """Metadata committed by confluent is read back by kafka-python and the reverse, and
    by a raw OffsetFetch (v1 and v8), unchanged (non-ASCII included; confluent's NUL too)."""
    from confluent_kafka import Consumer, TopicPartition as CkTopicPartition
    from kafka import KafkaConsumer, TopicPartition as KpTopicPartition
    from kafka.structs import OffsetAndMetadata

    create_topic("confluent", bootstrap, topic_name, 2)
    produce_values(bootstrap, topic_name, "v", 20, partitions=2)
    group = f"g-{topic_name}"
    ck = Consumer({"bootstrap.servers": bootstrap, "group.id": group, "enable.auto.commit": False})
    kp = KafkaConsumer(bootstrap_servers=bootstrap, group_id=group, enable_auto_commit=False,
                       request_timeout_ms=10000)
    try:
        # confluent commits partition 0 (a simple commit: generation -1, no membership)
        ck.commit(offsets=[CkTopicPartition(topic_name, 0, 5, "from confluent: ünïcode")], asynchronous=False)
        # kafka-python commits partition 1
        kp.assign([KpTopicPartition(topic_name, 1)])
        kp.commit({KpTopicPartition(topic_name, 1): OffsetAndMetadata(7, "from kafka-python", -1)})

        got = ck.committed([CkTopicPartition(topic_name, 0), CkTopicPartition(topic_name, 1)], timeout=10)
        assert [(tp.partition, tp.offset, tp.metadata) for tp in got] == [
            (0, 5, "from confluent: ünïcode"), (1, 7, "from kafka-python")]
        for p, offset, meta in ((0, 5, "from confluent: ünïcode" + CK_NUL), (1, 7, "from kafka-python")):
            committed = kp.committed(KpTopicPartition(topic_name, p), metadata=True)
            assert (committed.offset, committed.metadata) == (offset, meta)
        for version in (1, 8):
            assert committed_offsets(bootstrap, group, topic_name, 2, version=version) == {
                (topic_name, 0): (5, "from confluent: ünïcode" + CK_NUL), (topic_name, 1): (7, "from kafka-python")}
    finally:
        ck.close()
        kp.close()
