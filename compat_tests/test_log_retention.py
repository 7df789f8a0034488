"""Retention as real clients see it: segments past retention.ms or retention.bytes are deleted
(their files gone from the disk), the log start offset moves and ListOffsets earliest says so,
a consumer that fell behind resets as its auto.offset.reset says, and a crash while deleted
files wait for file.delete.delay.ms leaves none of them behind.

One broker checks retention every 100 ms and removes deleted files at once; the records carry
timestamps an hour old, so that retention.ms=60000 finds them expired at the next check.
"""

from __future__ import annotations

import os
import time

import pytest

from broker.testing import BrokerProcess
from compat_tests.clients import Out, consume, create_topic, end_offsets, list_offsets, produce

EARLIEST, LATEST = -2, -1
FAST_RETENTION = {"log.retention.check.interval.ms": "100", "log.segment.delete.delay.ms": "0"}
HOUR_MS = 3_600_000
WAIT_S = 30


@pytest.fixture(scope="module")
def retention_broker(tmp_path_factory):
    root = tmp_path_factory.mktemp("retention")
    process = BrokerProcess(root / "data", overrides=FAST_RETENTION, log_path=root / "broker.log").start()
    process.root = root
    yield process
    assert process.stop() == 0, f"broker did not exit cleanly, see {root / 'broker.log'}"


def messages(count: int, *, age_ms: int = 0, size: int = 200, start: int = 0) -> list[Out]:
    now = int(time.time() * 1000)
    return [Out(b"k%d" % i, b"%06d|" % i + b"v" * size, timestamp=now - age_ms) for i in range(start, start + count)]


def segment_files(data_dir, topic: str) -> list[str]:
    directory = os.path.join(data_dir, f"{topic}-0")
    return sorted(n for n in os.listdir(directory) if n.endswith((".log", ".deleted")))


def wait_for(condition, what: str, timeout_s: float = WAIT_S):
    deadline = time.monotonic() + timeout_s
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.1)


def test_retention_by_time_deletes_old_segments_and_their_files(retention_broker, topic_name):
    bootstrap = retention_broker.bootstrap
    data_dir = retention_broker.data_dir
    create_topic("confluent", bootstrap, topic_name, 1, {"retention.ms": "60000", "segment.bytes": "4096"})
    # fresh records first: retention must leave them (and every segment after them) alone
    old = produce("confluent", bootstrap, topic_name, messages(40, age_ms=HOUR_MS), **{"linger.ms": 0})
    fresh = produce("confluent", bootstrap, topic_name, messages(40, start=40), **{"linger.ms": 0})
    assert {d.error for d in old + fresh} == {None}
    first_fresh = fresh[0].offset

    def expired_gone():
        earliest = list_offsets(bootstrap, topic_name, 1, EARLIEST)[0]
        return earliest if earliest > 0 else None

    earliest = wait_for(expired_gone, "the old segments to go")
    assert earliest <= first_fresh   # whole segments only: the segment holding the first fresh record stays
    files = segment_files(data_dir, topic_name)
    assert files and all(n.endswith(".log") for n in files), files   # no .deleted left behind
    assert int(files[0][:20]) == earliest
    got = consume("kafka-python", bootstrap, topic_name, 1, 80 - earliest)
    assert [r.offset for r in got] == list(range(earliest, 80))


def test_an_idle_topic_ages_out_entirely(retention_broker, topic_name):
    """Every record expired, the active segment too: it is rolled and deleted, the log is empty
    and starts at its end offset."""
    bootstrap = retention_broker.bootstrap
    create_topic("confluent", bootstrap, topic_name, 1, {"retention.ms": "60000"})
    produce("confluent", bootstrap, topic_name, messages(30, age_ms=HOUR_MS))
    wait_for(lambda: list_offsets(bootstrap, topic_name, 1, EARLIEST) == [30], "the log to empty")
    assert end_offsets(bootstrap, topic_name, 1) == [30]
    assert segment_files(retention_broker.data_dir, topic_name) == [f"{30:020d}.log"]
    # the log goes on from there
    [delivery] = produce("confluent", bootstrap, topic_name, messages(1, start=30))
    assert delivery.offset == 30


def test_retention_by_size_keeps_the_newest_segments(retention_broker, topic_name):
    bootstrap = retention_broker.bootstrap
    data_dir = retention_broker.data_dir
    create_topic("confluent", bootstrap, topic_name, 1,
                 {"retention.bytes": "20000", "segment.bytes": "10000", "retention.ms": "-1"})
    for i in range(10):   # one batch of ~5 KB each: two batches to a segment
        produce("confluent", bootstrap, topic_name, messages(20, start=20 * i))

    def sizes():
        return [os.path.getsize(os.path.join(data_dir, f"{topic_name}-0", n)) for n in segment_files(data_dir, topic_name)]

    wait_for(lambda: sum(sizes()) < 5 * 9000, "retention.bytes to delete segments")
    time.sleep(0.3)   # a few more checks: they must not delete more
    remaining = sizes()
    # Kafka's rule: the oldest segments go while the log stays at least retention.bytes
    assert sum(remaining) >= 20000 > sum(remaining) - remaining[0]
    earliest = list_offsets(bootstrap, topic_name, 1, EARLIEST)[0]
    assert earliest == int(segment_files(data_dir, topic_name)[0][:20]) > 0
    got = consume("confluent", bootstrap, topic_name, 1, 200 - earliest)
    assert [r.offset for r in got] == list(range(earliest, 200))


@pytest.mark.parametrize("reset,expected", [("earliest", "log start"), ("latest", "log end")])
def test_a_consumer_that_fell_behind_resets_as_configured(retention_broker, topic_name, reset, expected):
    from confluent_kafka import Consumer, TopicPartition

    bootstrap = retention_broker.bootstrap
    create_topic("confluent", bootstrap, topic_name, 1, {"retention.ms": "60000", "segment.bytes": "4096"})
    group = f"{topic_name}-group"
    produce("confluent", bootstrap, topic_name, messages(40, age_ms=HOUR_MS), **{"linger.ms": 0})
    committer = Consumer({"bootstrap.servers": bootstrap, "group.id": group, "enable.auto.commit": False})
    committer.commit(offsets=[TopicPartition(topic_name, 0, 5)], asynchronous=False)
    committer.close()
    produce("confluent", bootstrap, topic_name, messages(20, start=40), **{"linger.ms": 0})
    start = wait_for(lambda: list_offsets(bootstrap, topic_name, 1, EARLIEST)[0] or None, "the old records to go")
    assert start > 5
    end = end_offsets(bootstrap, topic_name, 1)[0]

    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": group, "enable.auto.commit": False,
                         "auto.offset.reset": reset, "fetch.wait.max.ms": 100})
    try:
        consumer.subscribe([topic_name])
        first = None
        late = []
        deadline = time.monotonic() + WAIT_S
        while first is None and time.monotonic() < deadline:
            message = consumer.poll(0.2)
            if message is not None and not message.error():
                first = message.offset()
            elif expected == "log end" and consumer.assignment():
                # new records until one arrives: the reset to the end may come after some of them
                late += produce("confluent", bootstrap, topic_name, messages(1, start=100 + len(late)))
        if expected == "log start":
            assert first == start   # the committed offset 5 is gone: from the new start
        else:
            assert first in [d.offset for d in late]   # nothing old: it jumped to the end
            assert first >= end
    finally:
        consumer.close()


def test_a_crash_while_deleted_files_wait_leaves_none_behind(tmp_path, topic_name):
    """Deleted segments wait as .deleted files for file.delete.delay.ms; a SIGKILL then, and the
    restart removes them, with the log start offset where retention had moved it."""
    process = BrokerProcess(tmp_path / "data", log_path=tmp_path / "broker.log",
                            overrides={"log.retention.check.interval.ms": "100",
                                       "log.segment.delete.delay.ms": "600000"})
    process.start()
    try:
        bootstrap = process.bootstrap
        create_topic("confluent", bootstrap, topic_name, 1, {"retention.ms": "60000", "segment.bytes": "4096"})
        produce("confluent", bootstrap, topic_name, messages(40, age_ms=HOUR_MS), **{"linger.ms": 0})
        produce("confluent", bootstrap, topic_name, messages(20, start=40), **{"linger.ms": 0})
        start = wait_for(lambda: list_offsets(bootstrap, topic_name, 1, EARLIEST)[0] or None, "retention")
        deleted = [n for n in segment_files(tmp_path / "data", topic_name) if n.endswith(".deleted")]
        assert deleted, "the deleted segments wait for file.delete.delay.ms"
        process.kill()

        process.start()
        assert list_offsets(process.bootstrap, topic_name, 1, EARLIEST) == [start]
        assert all(n.endswith(".log") for n in segment_files(tmp_path / "data", topic_name))
        got = consume("confluent", process.bootstrap, topic_name, 1, 60 - start)
        assert [r.offset for r in got] == list(range(start, 60))
    finally:
        process.kill()
