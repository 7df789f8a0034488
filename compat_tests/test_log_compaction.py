"""Compaction as real clients see it: a compacted topic keeps the newest value of each key (at its
original offset), tombstones go after delete.retention.ms, a record without a key is refused,
and a crash in the middle of a cleaning loses nothing.

One broker with a fast cleaner (log.cleaner.backoff.ms=100) serves the module; topics use
tiny segments, so every produced batch soon sits in a closed segment the cleaner may take.
"""

from __future__ import annotations

import os
import time

import pytest

from broker.testing import BrokerProcess
from compat_tests.clients import CLIENTS, Out, consume, create_topic, end_offsets, fetch_log, produce, records_of

FAST_CLEANER = {"log.cleaner.backoff.ms": "100", "log.retention.check.interval.ms": "100",
                "log.segment.delete.delay.ms": "0"}
COMPACTED = {"cleanup.policy": "compact", "segment.bytes": "1024", "min.cleanable.dirty.ratio": "0.01",
             "delete.retention.ms": "500"}
WAIT_S = 60


@pytest.fixture(scope="module")
def cleaning_broker(tmp_path_factory):
    root = tmp_path_factory.mktemp("compaction")
    process = BrokerProcess(root / "data", overrides=FAST_CLEANER, log_path=root / "broker.log").start()
    yield process
    assert process.stop() == 0, f"broker did not exit cleanly, see {root / 'broker.log'}"


def latest_per_key(records) -> dict:
    """key -> (offset, value) of its newest record."""
    latest = {}
    for r in records:
        latest[r.key] = (r.offset, r.value)
    return latest


def wait_for(condition, what: str, timeout_s: float = WAIT_S):
    deadline = time.monotonic() + timeout_s
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.2)


def one_record_per_key(bootstrap: str, topic: str) -> list | None:
    records = records_of(fetch_log(bootstrap, topic))
    keys = [r.key for r in records]
    return records if len(keys) == len(set(keys)) else None


def test_a_consumer_from_earliest_sees_one_value_per_live_key(cleaning_broker, topic_name):
    bootstrap = cleaning_broker.bootstrap
    create_topic("confluent", bootstrap, topic_name, 1, COMPACTED)
    keys = [b"key-%02d" % k for k in range(40)]
    updates = [Out(keys[i % 40], b"value-%04d" % i) for i in range(800)]
    deliveries = produce("confluent", bootstrap, topic_name, updates, **{"linger.ms": 50})
    assert {d.error for d in deliveries} == {None}
    tombstones = produce("kafka-python", bootstrap, topic_name, [Out(k, None) for k in keys[:10]])
    assert {d.error for d in tombstones} == {None}
    # a few writes more, so that the tombstones leave the active segment (which is never cleaned)
    produce("confluent", bootstrap, topic_name, [Out(b"filler-%d" % i, b"x" * 600) for i in range(4)],
            **{"linger.ms": 0})

    expected = {}   # key -> (offset, value) of its last write
    for message, delivery in zip(updates + [Out(k, None) for k in keys[:10]], deliveries + tombstones):
        expected[message.key] = (delivery.offset, message.value)

    # first the duplicates go (tombstones stay until delete.retention.ms after their first cleaning)
    records = wait_for(lambda: one_record_per_key(bootstrap, topic_name), "one record per key")
    seen = latest_per_key(records)
    assert {k: seen[k] for k in keys} == {k: expected[k] for k in keys}
    high_watermark = end_offsets(bootstrap, topic_name, 1)[0]
    assert high_watermark == 800 + 10 + 4   # offsets are never reassigned

    # then, after delete.retention.ms, a later cleaning (new writes make the log dirty again)
    # drops the tombstones
    def tombstones_gone():
        produce("confluent", bootstrap, topic_name, [Out(b"later", b"x" * 600)], **{"linger.ms": 0})
        records = records_of(fetch_log(bootstrap, topic_name))
        return records if not any(r.key in keys[:10] for r in records) else None

    records = wait_for(tombstones_gone, "the tombstones to go")
    live = {k: v for k, v in expected.items() if v[1] is not None}
    assert {r.key: (r.offset, r.value) for r in records if r.key in keys} == live

    # every client reads the compacted log from the beginning: offsets with gaps, empty batches
    # (once the cleaner is done with the last writes, so that every client reads the same log)
    def stable():
        before = fetch_log(bootstrap, topic_name)
        time.sleep(1)
        return before if fetch_log(bootstrap, topic_name) == before else None

    wanted = [(r.offset, r.key, r.value) for r in records_of(wait_for(stable, "the cleaner to rest"))]
    assert [w for w in wanted if w[1] in keys] == sorted((o, k, v) for k, (o, v) in live.items())
    for client in CLIENTS:
        got = consume(client, bootstrap, topic_name, 1, len(wanted))
        assert [(r.offset, r.key, r.value) for r in got] == wanted, client


def test_a_record_without_a_key_is_refused_by_a_compacted_topic(cleaning_broker, topic_name):
    bootstrap = cleaning_broker.bootstrap
    create_topic("confluent", bootstrap, topic_name, 1, COMPACTED)
    [refused] = produce("confluent", bootstrap, topic_name, [Out(None, b"no key")], **{"retries": 0})
    assert refused.error == "INVALID_RECORD"
    [refused] = produce("kafka-python", bootstrap, topic_name, [Out(None, b"no key")], retries=0)
    assert refused.error is not None
    [accepted] = produce("confluent", bootstrap, topic_name, [Out(b"k", b"with a key")])
    assert (accepted.error, accepted.offset) == (None, 0)
    assert end_offsets(bootstrap, topic_name, 1) == [1]


@pytest.mark.parametrize("moment", [".cleaned", ".swap"])
def test_a_crash_while_cleaning_loses_no_newest_value(tmp_path, topic_name, moment):
    """SIGKILL as soon as the cleaner's files appear (while it writes them, or swaps them in):
    after a restart every key still has its newest value at its offset, and the log reads whole."""
    process = BrokerProcess(tmp_path / "data", log_path=tmp_path / "broker.log",
                            overrides={**FAST_CLEANER, "log.segment.delete.delay.ms": "60000"})
    process.start()
    try:
        bootstrap = process.bootstrap
        # every record has the same timestamp, and min.compaction.lag.ms holds them all back until
        # the production is over: then one round takes the whole log
        lag_ms = 8000
        create_topic("confluent", bootstrap, topic_name, 1,
                     {**COMPACTED, "segment.bytes": str(256 << 10), "min.compaction.lag.ms": str(lag_ms)})
        now = int(time.time() * 1000)
        keys = [b"key-%04d" % k for k in range(5000)]
        updates = [Out(keys[i % len(keys)], b"value-%06d-" % i + b"v" * 200, timestamp=now)
                   for i in range(100_000)]
        deliveries = produce("confluent", bootstrap, topic_name, updates, **{"linger.ms": 20})
        assert {d.error for d in deliveries} == {None}
        expected = {m.key: (d.offset, m.value) for m, d in zip(updates, deliveries)}
        for i in range(2):   # out of the active segment, which is never cleaned
            produce("confluent", bootstrap, topic_name, [Out(b"filler-%d" % i, b"x" * (200 << 10), timestamp=now)])
        directory = tmp_path / "data" / f"{topic_name}-0"

        def cleaner_files(suffix):
            return [n for n in os.listdir(directory) if n.endswith(suffix)]

        assert not cleaner_files(".cleaned") and not cleaner_files(".deleted"), "cleaned too early"
        deadline = time.monotonic() + WAIT_S
        while not cleaner_files(".cleaned"):
            assert time.monotonic() < deadline, "the cleaner wrote no .cleaned file"
            time.sleep(0.001)
        if moment == ".swap":   # until the .cleaned files become .swap, or are swapped in already
            while cleaner_files(".cleaned") and not cleaner_files(".swap"):
                assert time.monotonic() < deadline, "the cleaned files were not swapped in"
                time.sleep(0.0005)
        process.kill()

        process.overrides["log.cleaner.enable"] = "false"   # the log as recovery left it
        process.start()
        bootstrap = process.bootstrap
        assert end_offsets(bootstrap, topic_name, 1) == [len(updates) + 2]
        records = records_of(fetch_log(bootstrap, topic_name))
        offsets = [r.offset for r in records]
        assert offsets == sorted(set(offsets))
        assert {k: v for k, v in latest_per_key(records).items() if k in expected} == expected
        assert not [n for n in os.listdir(directory) if n.endswith((".cleaned", ".swap", ".deleted"))]
        # the cleaner carries on after a restart
        process.stop()
        process.overrides["log.cleaner.enable"] = "true"
        process.start()
        bootstrap = process.bootstrap
        wait_for(lambda: one_record_per_key(bootstrap, topic_name), "the cleaning to finish")
        after = latest_per_key(records_of(fetch_log(bootstrap, topic_name)))
        assert {k: v for k, v in after.items() if k in expected} == expected
    finally:
        process.kill()
