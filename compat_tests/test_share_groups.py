"""Share groups (KIP-932) with confluent-kafka's ShareConsumer: several consumers share one
partition and each record goes to one of them; RELEASE redelivers, REJECT never; an
acquisition lock that runs out redelivers to another consumer; the delivery count limit
ends a record's deliveries; acknowledged state survives a broker restart."""

from __future__ import annotations

import time

import pytest
from confluent_kafka import AcknowledgeType, Producer, ShareConsumer

from broker.testing import BrokerProcess
from compat_tests.clients import create_topic

LOCK_MS = 2000
SETTINGS = {"group.share.record.lock.duration.ms": str(LOCK_MS), "group.share.delivery.count.limit": "3",
            "group.share.heartbeat.interval.ms": "300"}


@pytest.fixture(scope="module")
def share_broker(tmp_path_factory):
    root = tmp_path_factory.mktemp("share")
    process = BrokerProcess(root / "data", log_path=root / "broker.log", overrides=SETTINGS).start()
    yield process
    assert process.stop() == 0, f"broker did not exit cleanly, see {root / 'broker.log'}"


def consumer(bootstrap, group, topic, *, explicit=False) -> ShareConsumer:
    config = {"bootstrap.servers": bootstrap, "group.id": group}
    if explicit:
        config["share.acknowledgement.mode"] = "explicit"
    c = ShareConsumer(config)
    c.subscribe([topic])
    return c


def joined(consumers, seconds=1.5):
    """Poll until every consumer has joined (records produced later are theirs: reset is latest)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        for c in consumers:
            assert not list(c.poll(0.05))


def produce(bootstrap, topic, values, *, batch=1):
    p = Producer({"bootstrap.servers": bootstrap, "linger.ms": 0, "batch.num.messages": batch})
    for v in values:
        p.produce(topic, v.encode(), partition=0)
        if batch == 1:
            p.flush()
    p.flush()


def poll_until(consumers, want, timeout_s=20, on_message=None) -> dict[int, list]:
    got: dict[int, list] = {i: [] for i in range(len(consumers))}
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline and sum(len(v) for v in got.values()) < want:
        for i, c in enumerate(consumers):
            for m in c.poll(0.1):
                assert m.error() is None, m.error()
                got[i].append(m)
                if on_message:
                    on_message(c, m)
    return got


def test_consumers_share_one_partition_and_each_record_goes_to_one(share_broker, topic_name):
    create_topic("confluent", share_broker.bootstrap, topic_name, 1)
    consumers = [consumer(share_broker.bootstrap, f"g-{topic_name}", topic_name) for _ in range(3)]
    try:
        joined(consumers)
        values = [f"v{i:03d}" for i in range(90)]
        produce(share_broker.bootstrap, topic_name, values)
        got = poll_until(consumers, len(values))
        delivered = [m.value().decode() for ms in got.values() for m in ms]
        assert sorted(delivered) == values                      # every record, once
        assert sum(1 for ms in got.values() if ms) >= 2, {i: len(ms) for i, ms in got.items()}
        assert {m.delivery_count() for ms in got.values() for m in ms} == {1}
    finally:
        for c in consumers:
            c.close()


def test_release_redelivers_and_reject_does_not(share_broker, topic_name):
    create_topic("confluent", share_broker.bootstrap, topic_name, 1)
    group = f"g-{topic_name}"
    a = consumer(share_broker.bootstrap, group, topic_name, explicit=True)
    try:
        joined([a])
        produce(share_broker.bootstrap, topic_name, [f"r{i}" for i in range(6)], batch=100)
        kinds = {0: AcknowledgeType.ACCEPT, 1: AcknowledgeType.RELEASE, 2: AcknowledgeType.REJECT}
        first = poll_until([a], 6, on_message=lambda c, m: c.acknowledge(m, kinds[m.offset() % 3]))[0]
        assert [m.offset() for m in first] == list(range(6))
        a.commit_sync()
        again = poll_until([a], 2, timeout_s=10, on_message=lambda c, m: c.acknowledge(m))[0]
        assert sorted((m.offset(), m.delivery_count()) for m in again) == [(1, 2), (4, 2)]
        a.commit_sync()
        assert poll_until([a], 1, timeout_s=1.5)[0] == []      # rejected and accepted ones are done
    finally:
        a.close()


def test_an_expired_lock_redelivers_until_the_delivery_limit(share_broker, topic_name):
    create_topic("confluent", share_broker.bootstrap, topic_name, 1)
    group = f"g-{topic_name}"
    holders = [consumer(share_broker.bootstrap, group, topic_name, explicit=True) for _ in range(3)]
    try:
        joined(holders)
        produce(share_broker.bootstrap, topic_name, ["lost"])
        counts = []
        for _ in range(3):   # each holder takes it and never acknowledges: the lock runs out
            got = poll_until(holders, 1, timeout_s=LOCK_MS / 1000 + 10)
            [(i, [m])] = [(i, ms) for i, ms in got.items() if ms]
            counts.append(m.delivery_count())
            holders[i].close()                  # closing would release it early: acknowledge nothing, drop it
            holders[i] = consumer(share_broker.bootstrap, group, topic_name, explicit=True)
        assert counts == [1, 2, 3]
        assert poll_until(holders, 1, timeout_s=LOCK_MS / 1000 + 1.5) == {0: [], 1: [], 2: []}   # archived at 3
    finally:
        for c in holders:
            c.close()


def test_acknowledged_state_survives_a_broker_restart(tmp_path, topic_name):
    process = BrokerProcess(tmp_path / "data", log_path=tmp_path / "broker.log", overrides=SETTINGS).start()
    try:
        create_topic("confluent", process.bootstrap, topic_name, 1)
        group = f"g-{topic_name}"
        a = consumer(process.bootstrap, group, topic_name)
        joined([a])
        produce(process.bootstrap, topic_name, [f"x{i}" for i in range(10)], batch=100)
        assert len(poll_until([a], 10)[0]) == 10
        a.commit_sync()                         # implicit mode: what the last poll gave is accepted
        a.close()
        process.restart()
        produce(process.bootstrap, topic_name, ["after"])
        b = consumer(process.bootstrap, group, topic_name)
        try:
            got = poll_until([b], 1, timeout_s=15)[0]
            assert [m.value() for m in got] == [b"after"]
        finally:
            b.close()
    finally:
        process.stop()
