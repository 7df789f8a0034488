"""Restarts on the same data dir: a clean stop (SIGTERM) and a crash (SIGKILL) lose nothing acknowledged."""

from __future__ import annotations

import glob
import os

import pytest

from broker.testing import RawClient
from compat_tests.clients import Out, consume, create_topic, end_offsets, fetch_log, list_offsets, produce
from kproto.messages import INIT_PRODUCER_ID, METADATA, PRODUCE
from storage import Record, build_batch

PARTITIONS = 3
COUNT = 2_000
SMALL_SEGMENTS = {"log.segment.bytes": "16384"}   # several segments per partition, so recovery walks them
T = 1_700_000_000_000


def messages(count: int, start: int = 0) -> list[Out]:
    return [Out(b"key-%02d" % (i % 25), b"value-%06d-" % i + bytes(range(i % 40)),
                (("i", str(i).encode()), ("empty", b"")) if i % 3 else (), timestamp=T + i)
            for i in range(start, start + count)]


def snapshot(bootstrap: str, topic: str) -> tuple[list[bytes], list[tuple]]:
    """The raw bytes of every partition, and everything a consumer sees."""
    raw = [fetch_log(bootstrap, topic, p) for p in range(PARTITIONS)]
    total = sum(end_offsets(bootstrap, topic, PARTITIONS))
    seen = sorted((r.partition, r.offset, r.key, r.value, r.headers, r.timestamp, r.timestamp_type)
                  for r in consume("confluent", bootstrap, topic, PARTITIONS, total))
    assert len(seen) == total
    return raw, seen


def metadata(bootstrap: str, topic: str) -> dict:
    with RawClient(bootstrap) as raw:
        return raw.request(METADATA, 12, {"topics": [{"name": topic, "topic_id": bytes(16)}],
                                          "allow_auto_topic_creation": False,
                                          "include_topic_authorized_operations": False})


def test_clean_restart_keeps_everything_byte_identical(own_broker, topic_name):
    own_broker.overrides.update(SMALL_SEGMENTS)
    process = own_broker.start()
    bootstrap = process.bootstrap
    create_topic("kafka-python", bootstrap, topic_name, PARTITIONS, {"retention.ms": "-1"})
    sent = messages(COUNT)
    deliveries = produce("confluent", bootstrap, topic_name, sent, **{"compression.type": "lz4"})
    assert [d.error for d in deliveries] == [None] * COUNT
    produce("kafka-python", bootstrap, topic_name, messages(300, COUNT))   # uncompressed batches too
    before_raw, before = snapshot(bootstrap, topic_name)
    before_meta = metadata(bootstrap, topic_name)
    before_by_time = list_offsets(bootstrap, topic_name, PARTITIONS, T + 1000)
    assert 0 < sum(before_by_time) < COUNT
    assert len(before) == COUNT + 300
    assert sum(len(r) for r in before_raw) > 3 * 16384, "expected several segments"

    assert process.stop() == 0
    process.start()

    after_raw, after = snapshot(bootstrap, topic_name)
    assert after_raw == before_raw, "the log's bytes changed across a restart"
    assert after == before
    after_meta = metadata(bootstrap, topic_name)
    assert after_meta["cluster_id"] == before_meta["cluster_id"]
    assert after_meta["topics"] == before_meta["topics"]   # same topic id, same partitions
    assert list_offsets(bootstrap, topic_name, PARTITIONS, T + 1000) == before_by_time   # time index

    # the log goes on where it stopped
    ends = end_offsets(bootstrap, topic_name, PARTITIONS)
    more = produce("aiokafka", bootstrap, topic_name, [Out(b"after", b"restart", partition=p)
                                                       for p in range(PARTITIONS)])
    assert [(d.partition, d.offset) for d in more] == list(enumerate(ends))


def test_sigkill_keeps_every_acknowledged_message(own_broker, topic_name):
    own_broker.start()
    bootstrap = own_broker.bootstrap
    create_topic("confluent", bootstrap, topic_name, PARTITIONS, {"retention.ms": "-1"})
    acknowledged = []
    for round_ in range(4):   # several produce rounds: several flushes to the log
        batch = messages(500, 500 * round_)
        deliveries = produce("confluent", bootstrap, topic_name, batch, **{"acks": "all"})
        assert [d.error for d in deliveries] == [None] * len(batch)
        acknowledged += [(d.partition, d.offset, m.key, m.value, m.headers, m.timestamp)
                         for m, d in zip(batch, deliveries)]

    own_broker.kill()
    own_broker.start()

    assert sum(end_offsets(bootstrap, topic_name, PARTITIONS)) == len(acknowledged)
    received = consume("kafka-python", bootstrap, topic_name, PARTITIONS, len(acknowledged))
    assert sorted((r.partition, r.offset, r.key, r.value, r.headers, r.timestamp) for r in received) == \
        sorted(acknowledged)
    ends = end_offsets(bootstrap, topic_name, PARTITIONS)
    [after] = produce("kafka-python", bootstrap, topic_name, [Out(b"k", b"after-crash", partition=1)])
    assert (after.partition, after.offset) == (1, ends[1])


def test_sigkill_right_after_create_topic(own_broker, topic_name):
    own_broker.start()
    create_topic("confluent", own_broker.bootstrap, topic_name, 5, {"retention.ms": "-1"})
    own_broker.kill()
    own_broker.start()
    topics = metadata(own_broker.bootstrap, topic_name)["topics"]
    assert [(t["error_code"], len(t["partitions"])) for t in topics] == [(0, 5)]


@pytest.mark.parametrize("how", ["stop", "kill"])
def test_idempotent_producer_state_survives(how, own_broker, topic_name):
    """A batch resent after a restart is still recognised as a duplicate, and the sequence goes on."""
    own_broker.start()
    bootstrap = own_broker.bootstrap
    create_topic("confluent", bootstrap, topic_name, 1)

    def send(raw, batch):
        response = raw.request(PRODUCE, 9, {"transactional_id": None, "acks": -1, "timeout_ms": 5000,
                                            "topic_data": [{"name": topic_name, "partition_data": [
                                                {"index": 0, "records": batch}]}]})
        part = response["responses"][0]["partition_responses"][0]
        return part["error_code"], part["base_offset"]

    with RawClient(bootstrap) as raw:
        init = raw.request(INIT_PRODUCER_ID, 4, {"transactional_id": None, "transaction_timeout_ms": 60000})
        pid = init["producer_id"]
        batches = [build_batch([Record(timestamp=T + s + i, value=b"s%d" % (s + i)) for i in range(4)],
                               producer_id=pid, producer_epoch=0, base_sequence=s) for s in (0, 4, 8)]
        assert send(raw, batches[0]) == (0, 0)
        assert send(raw, batches[1]) == (0, 4)

    if how == "stop":
        assert own_broker.stop() == 0
    else:
        own_broker.kill()
    own_broker.start()

    with RawClient(bootstrap) as raw:
        assert send(raw, batches[1]) == (0, 4), "the retried batch was stored twice or refused"
        assert send(raw, batches[2]) == (0, 8)
        init = raw.request(INIT_PRODUCER_ID, 4, {"transactional_id": None, "transaction_timeout_ms": 60000})
        assert init["producer_id"] > pid, "producer ids must not be reused after a restart"
    assert end_offsets(bootstrap, topic_name, 1) == [12]


def test_torn_write_after_a_crash_is_cut_off(own_broker, topic_name):
    """A crash in the middle of writing a batch leaves a partial batch at the end of the active segment:
    the restarted broker drops it, serves everything before it, and appends after it."""
    own_broker.overrides.update(SMALL_SEGMENTS)
    process = own_broker.start()
    bootstrap = process.bootstrap
    create_topic("confluent", bootstrap, topic_name, 1, {"retention.ms": "-1"})
    sent = [Out(b"k", b"v%05d" % i + b"." * 100, partition=0, timestamp=T + 10 * i) for i in range(800)]
    deliveries = produce("confluent", bootstrap, topic_name, sent, **{"batch.num.messages": 10})
    assert [d.error for d in deliveries] == [None] * len(sent)
    by_time = list_offsets(bootstrap, topic_name, 1, T + 4005)
    assert by_time == [401]
    process.kill()
    segments = sorted(glob.glob(os.path.join(own_broker.data_dir, f"{topic_name}-0", "*.log")))
    assert len(segments) > 2
    with open(segments[-1], "ab") as f:   # a batch header that promises 4096 bytes, then 30 of them
        f.write((800).to_bytes(8, "big") + (4096).to_bytes(4, "big") + b"\x01" * 30)
    process.start()
    assert end_offsets(bootstrap, topic_name, 1) == [800]
    assert list_offsets(bootstrap, topic_name, 1, T + 4005) == by_time
    [after] = produce("kafka-python", bootstrap, topic_name, [Out(b"k", b"after", partition=0)])
    assert after.offset == 800
    received = consume("aiokafka", bootstrap, topic_name, [0], 801)
    assert [r.value for r in received] == [m.value for m in sent] + [b"after"]


def test_memory_broker_serves_and_forgets(own_broker, topic_name):
    own_broker.data_dir = None   # --memory
    process = own_broker.start()
    create_topic("kafka-python", process.bootstrap, topic_name, 2)
    deliveries = produce("confluent", process.bootstrap, topic_name, messages(200))
    assert [d.error for d in deliveries] == [None] * 200
    received = consume("aiokafka", process.bootstrap, topic_name, 2, 200)
    assert sorted((r.partition, r.offset) for r in received) == sorted((d.partition, d.offset) for d in deliveries)
    assert process.stop() == 0
    process.start()
    assert metadata(process.bootstrap, topic_name)["topics"][0]["error_code"] == 3   # gone: nothing on disk
