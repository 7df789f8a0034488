"""The log's background work in a running broker: retention every log.retention.check.interval.ms
(segments and then their files go), and the cleaner compacting a topic in its worker process."""

from __future__ import annotations

import os
import time

from broker.tests.handlers.serving import TIMESTAMP, batch, create_topic, fetch_body, produce, values_of
from kproto.messages import FETCH, LIST_OFFSETS
from storage import Record, build_batch

FAST = {"log.retention.check.interval.ms": "50", "log.segment.delete.delay.ms": "100",
        "log.cleaner.backoff.ms": "50"}


def wait_for(condition, what: str, timeout_s: float = 30):
    deadline = time.monotonic() + timeout_s
    while not (value := condition()):
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)
    return value


def earliest(client, topic: str) -> int:
    response = client.request(LIST_OFFSETS, 7, {"replica_id": -1, "isolation_level": 0, "topics": [
        {"name": topic, "partitions": [{"partition_index": 0, "current_leader_epoch": -1, "timestamp": -2}]}]})
    return response["topics"][0]["partitions"][0]["offset"]


def test_retention_runs_on_its_own(own_broker, topic):
    with own_broker(log_properties=FAST) as served, served.client() as client:
        create_topic(client, topic, configs={"retention.ms": "3600000", "segment.bytes": "200"})
        for i in range(4):   # records of 2023: long past retention.ms; a segment each
            assert produce(client, topic, batch(b"x" * 150, timestamp=TIMESTAMP + i))["error_code"] == 0
        directory = served.broker.config.data_dir / f"{topic}-0"
        wait_for(lambda: earliest(client, topic) == 4, "retention to delete every segment")
        wait_for(lambda: not [n for n in os.listdir(directory) if n.endswith((".log", ".deleted")) and
                              not n.startswith(f"{4:020d}")], "the deleted files to go")
        assert produce(client, topic, batch(b"new"))["base_offset"] == 4


def test_the_cleaner_compacts_a_topic(own_broker, topic):
    with own_broker(log_properties=FAST) as served, served.client() as client:
        create_topic(client, topic, configs={"cleanup.policy": "compact", "segment.bytes": "300",
                                             "min.cleanable.dirty.ratio": "0.01"})
        for i in range(30):
            keyed = build_batch([Record(timestamp=TIMESTAMP + i, key=b"key-%d" % (i % 3), value=b"%d" % i)])
            assert produce(client, topic, keyed)["error_code"] == 0
        end = 30

        def compacted():
            [part] = client.request(FETCH, 12, fetch_body(topic, {0: 0}))["responses"][0]["partitions"]
            values = values_of(part["records"])
            active = served.call(lambda: served.broker.storage.partition(topic, 0).segments[-1].base_offset)
            cleaned = [offset for offset, _ in values if offset < active]
            return values if len(cleaned) <= 3 else None

        values = wait_for(compacted, "the cleaner to keep one record per key")
        newest = {int(v) % 3: (offset, v) for offset, v in values}   # key i % 3 holds value i
        assert newest == {i % 3: (i, b"%d" % i) for i in range(end - 3, end)}   # at their offsets
