"""KIP-848 consumer groups (``group.protocol=consumer``) with confluent-kafka, each member a
process of its own: members join and leave one by one and the broker moves partitions with
revocation first, a SIGKILLed member's partitions move after its session timeout, a static
member comes back with its partitions and no rebalance, and committed offsets are where a
member resumes after the broker restarts; a classic and a KIP-848 consumer share one group
while it migrates (KIP-848's online upgrade and downgrade)."""

from __future__ import annotations

import time

import pytest

from broker.testing import BrokerProcess
from compat_tests.clients import Out, create_topic, produce
from compat_tests.group_clients import GroupMember, describe_group, wait_settled, wait_until

SESSION_MS = 6000
PARTITIONS = 4
SETTINGS = {"group.consumer.session.timeout.ms": str(SESSION_MS), "group.consumer.heartbeat.interval.ms": "300",
            "group.initial.rebalance.delay.ms": "0"}


@pytest.fixture(scope="module")
def kip848_broker(tmp_path_factory):
    root = tmp_path_factory.mktemp("kip848")
    process = BrokerProcess(root / "data", log_path=root / "broker.log", overrides=SETTINGS).start()
    yield process
    assert process.stop() == 0, f"broker did not exit cleanly, see {root / 'broker.log'}"


def member(bootstrap, topic, group, tmp_path, name, **options) -> GroupMember:
    options.setdefault("protocol", "consumer")
    return GroupMember("confluent", bootstrap, topic, group, name=name, client_id=name, log_dir=tmp_path,
                       commit="auto", auto_commit_ms=200, **options)


def produce_values(bootstrap, topic, prefix, n) -> list[str]:
    values = [f"{prefix}-{i:04d}" for i in range(n)]
    deliveries = produce("confluent", bootstrap, topic,
                         [Out(None, v.encode(), partition=i % PARTITIONS) for i, v in enumerate(values)])
    assert [d.error for d in deliveries] == [None] * n
    return values


def test_members_join_leave_and_crash(kip848_broker, topic_name, tmp_path):
    bootstrap = kip848_broker.bootstrap
    create_topic("confluent", bootstrap, topic_name, PARTITIONS)
    group = f"g-{topic_name}"
    members: list[GroupMember] = []
    try:
        for n, sizes in ((1, [4]), (2, [2, 2]), (3, [1, 1, 2]), (4, [1, 1, 1, 1])):
            members.append(member(bootstrap, topic_name, group, tmp_path, f"m{n}"))
            wait_settled(members, PARTITIONS, sizes, quiet_s=0.5)
        values = produce_values(bootstrap, topic_name, "a", 200)
        wait_until(lambda: set(values) <= {v for m in members for v in m.values()}, 30, "not consumed")
        for m in members:   # every record once: no partition was owned twice
            assert len(m.values()) == len(set(m.values()))
        assert sum(len(m.values()) for m in members) == len(values)

        leaving = members.pop()
        leaving.terminate()                               # close(): leaves with epoch -1 at once
        assert leaving.wait_exit(20) == 0
        left_at = time.monotonic()
        wait_settled(members, PARTITIONS, [1, 1, 2], quiet_s=0.3)
        assert time.monotonic() - left_at < SESSION_MS / 1000   # no waiting for a session to end

        crashed = members.pop()
        crashed.kill()
        crashed.wait_exit(20)
        killed_at = time.monotonic()
        wait_settled(members, PARTITIONS, [2, 2], quiet_s=0.3)
        assert time.monotonic() - killed_at >= SESSION_MS / 1000 - 0.5   # its session had to run out
        more = produce_values(bootstrap, topic_name, "b", 100)
        wait_until(lambda: set(more) <= {v for m in members for v in m.values()}, 30, "not consumed after crash")
    finally:
        for m in members:
            m.terminate()
        for m in members:
            m.wait_exit(20)


def test_a_static_member_comes_back_with_its_partitions(kip848_broker, topic_name, tmp_path):
    bootstrap = kip848_broker.bootstrap
    create_topic("confluent", bootstrap, topic_name, PARTITIONS)
    group = f"g-{topic_name}"
    a = member(bootstrap, topic_name, group, tmp_path, "a", instance_id="inst-a")
    b = member(bootstrap, topic_name, group, tmp_path, "b", instance_id="inst-b")
    running = [a, b]
    try:
        wait_settled(running, PARTITIONS, [2, 2], quiet_s=0.5)
        owned, peer_events = a.assignment, len(b.rebalance_events())
        a.terminate()                                     # a static member leaves with epoch -2: it stays
        assert a.wait_exit(20) == 0
        again = member(bootstrap, topic_name, group, tmp_path, "a2", instance_id="inst-a")
        running.append(again)
        wait_until(lambda: again.assignment == owned, 20, lambda: f"{again} did not get {owned} back")
        time.sleep(1.0)   # a rebalance would show by now (heartbeats every 300 ms)
        assert len(b.rebalance_events()) == peer_events, b.rebalance_events()[peer_events:]
        values = produce_values(bootstrap, topic_name, "s", 80)
        wait_until(lambda: set(values) <= set(again.values()) | set(b.values()), 30, "not consumed")
    finally:
        for m in running:
            m.terminate()
        for m in running:
            m.wait_exit(20)


def test_committed_offsets_are_resumed_after_a_broker_restart(tmp_path, topic_name):
    process = BrokerProcess(tmp_path / "data", log_path=tmp_path / "broker.log", overrides=SETTINGS).start()
    try:
        create_topic("confluent", process.bootstrap, topic_name, PARTITIONS)
        group = f"g-{topic_name}"
        first = produce_values(process.bootstrap, topic_name, "one", 100)
        m = member(process.bootstrap, topic_name, group, tmp_path, "first", max_records=100)
        wait_until(lambda: m.has("closed"), 30, "the first member did not finish")
        assert sorted(m.values()) == sorted(first)
        process.restart()
        second = produce_values(process.bootstrap, topic_name, "two", 40)
        m2 = member(process.bootstrap, topic_name, group, tmp_path, "second")
        try:
            wait_until(lambda: set(second) <= set(m2.values()), 30, "not resumed")
            time.sleep(0.5)
            assert not set(first) & set(m2.values()), "records committed before the restart came again"
        finally:
            m2.terminate()
            m2.wait_exit(20)
    finally:
        process.stop()


def test_classic_and_consumer_protocol_members_share_a_group(kip848_broker, topic_name, tmp_path):
    """A classic member's group is upgraded when a group.protocol=consumer member joins; both
    consume, every record once; when the consumer-protocol member closes, the group is a
    classic one again and its member takes every partition."""
    bootstrap = kip848_broker.bootstrap
    create_topic("confluent", bootstrap, topic_name, PARTITIONS)
    group = f"g-{topic_name}"
    old = member(bootstrap, topic_name, group, tmp_path, "classic", protocol="classic", assignor="range")
    running = [old]
    try:
        wait_settled(running, PARTITIONS, [4], quiet_s=0.3)
        new = member(bootstrap, topic_name, group, tmp_path, "kip848")
        running.append(new)
        wait_settled(running, PARTITIONS, [2, 2], quiet_s=0.5)
        assert describe_group(bootstrap, group)["group_state"] == "Dead"   # a consumer group now, as Kafka
        values = produce_values(bootstrap, topic_name, "m", 200)
        wait_until(lambda: set(values) <= {v for m in running for v in m.values()}, 30, "not consumed")
        consumed = old.values() + new.values()
        assert sorted(consumed) == sorted(values), "a record was delivered twice or not at all"
        new.terminate()
        assert new.wait_exit(20) == 0
        running.remove(new)
        wait_settled(running, PARTITIONS, [4], quiet_s=0.3)
        wait_until(lambda: describe_group(bootstrap, group)["group_state"] == "Stable", 20, "not classic again")
        more = produce_values(bootstrap, topic_name, "n", 60)
        wait_until(lambda: set(more) <= set(old.values()), 30, "not consumed after the downgrade")
    finally:
        for m in running:
            m.terminate()
        for m in running:
            m.wait_exit(20)
