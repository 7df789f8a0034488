"""Clients from before Kafka 0.11, as Kafka 3.9 still serves them: kafka-python pinned to old
api_versions (0.8.2: Produce/Fetch v0 and message format v0; 0.9: v1 and consumer groups;
0.10: Produce/Fetch v2 and message format v1; 0.11: the v2 format, for contrast) and kcat
(Debian's librdkafka 2.0.2) with ApiVersion requests off and an old broker.version.fallback.
Each produces and consumes every codec, reads what a modern client wrote and the other way round,
commits and resumes offsets, and asks ListOffsets v0 for a lag."""

from __future__ import annotations

import shutil
import subprocess
import time

import pytest

from compat_tests.clients import LOG_APPEND_TIME, Out, Window, batch_headers, consume, create_topic, end_offsets, \
    fetch_log, produce

CODECS = [None, "gzip", "snappy", "lz4"]
OLD_KAFKA_PYTHON = [(0, 8, 2), (0, 9), (0, 10), (0, 11)]
STORED_CODEC = {None: 0, "gzip": 1, "snappy": 2, "lz4": 3}


def ids(version: tuple) -> str:
    return ".".join(map(str, version))


def take(consumer, count: int, timeout_s: float = 30) -> list:
    """The next ``count`` records a kafka-python consumer polls (fewer only at the deadline)."""
    out: list = []
    deadline = time.monotonic() + timeout_s
    while len(out) < count and time.monotonic() < deadline:
        for records in consumer.poll(timeout_ms=200).values():
            out += records
    return out


@pytest.mark.parametrize("api_version", OLD_KAFKA_PYTHON, ids=ids)
def test_kafka_python_old_versions_every_codec_both_ways(bootstrap, topic_name, api_version):
    create_topic("confluent", bootstrap, topic_name, 2 * len(CODECS))
    has_timestamps = api_version >= (0, 10)
    window = Window()
    for p, codec in enumerate(CODECS):   # partition p: this old client's codec; p + 4: a modern client's
        sent = produce("kafka-python", bootstrap, topic_name,
                       [Out(b"k%d" % i, b"old-%s-%d" % (str(codec).encode(), i) * 20, partition=p) for i in range(3)],
                       api_version=api_version, compression_type=codec)
        assert [(d.partition, d.offset, d.error) for d in sent] == [(p, i, None) for i in range(3)]
        produce("confluent", bootstrap, topic_name,
                [Out(b"m%d" % i, b"new-%d" % i, headers=(("h", b"1"),), partition=p + len(CODECS))
                 for i in range(3)], **({"compression.type": codec} if codec else {}))
    window.close()
    for p, codec in enumerate(CODECS):   # stored as v2 batches in the producer's codec
        assert {h.compression for h in batch_headers(fetch_log(bootstrap, topic_name, p))} == {STORED_CODEC[codec]}

    old = consume("kafka-python", bootstrap, topic_name, list(range(2 * len(CODECS))), 24, api_version=api_version)
    by_partition = {p: [(r.offset, r.key, r.value) for r in old if r.partition == p] for p in range(8)}
    for p, codec in enumerate(CODECS):
        assert by_partition[p] == [(i, b"k%d" % i, b"old-%s-%d" % (str(codec).encode(), i) * 20) for i in range(3)]
        assert by_partition[p + 4] == [(i, b"m%d" % i, b"new-%d" % i) for i in range(3)]   # headers cannot go
    assert all((r.timestamp in window) if has_timestamps else r.timestamp in (None, -1) for r in old)

    modern = consume("confluent", bootstrap, topic_name, list(range(len(CODECS))), 12)
    assert sorted((r.partition, r.offset, r.value) for r in modern) == sorted(
        (p, i, b"old-%s-%d" % (str(c).encode(), i) * 20) for p, c in enumerate(CODECS) for i in range(3))
    # a v0 message has no timestamp: Kafka stores -1 and modern clients show it
    assert all((r.timestamp in window) if has_timestamps else r.timestamp == -1 for r in modern)


@pytest.mark.parametrize("api_version", [(0, 8, 1), (0, 8, 2), (0, 9), (0, 10)], ids=ids)
def test_kafka_python_old_offsets_commit_resume_and_lag(bootstrap, topic_name, api_version):
    """OffsetCommit v0-2 / OffsetFetch v0-1 (0.8.1 committed to ZooKeeper: here to the coordinator),
    and ListOffsets v0 for the ends, as lag monitors ask it."""
    from kafka import KafkaConsumer, TopicPartition
    from kafka.structs import OffsetAndMetadata

    create_topic("confluent", bootstrap, topic_name, 1)
    produce("confluent", bootstrap, topic_name, [Out(None, b"v%d" % i) for i in range(5)])
    tp = TopicPartition(topic_name, 0)
    group = f"{topic_name}-group"
    settings = {"bootstrap_servers": bootstrap, "group_id": group, "api_version": api_version,
                "enable_auto_commit": False, "request_timeout_ms": 10000}
    first = KafkaConsumer(**settings)
    try:
        first.assign([tp])
        assert (first.beginning_offsets([tp]), first.end_offsets([tp])) == ({tp: 0}, {tp: 5})
        first.commit({tp: OffsetAndMetadata(3, "meta", -1)})
        assert first.committed(tp) == 3
    finally:
        first.close()
    second = KafkaConsumer(**settings, fetch_max_wait_ms=100)
    try:
        second.assign([tp])
        assert [(m.offset, m.value) for m in take(second, 2)] == [(3, b"v3"), (4, b"v4")]
    finally:
        second.close()


@pytest.mark.parametrize("api_version", [(0, 9), (0, 10)], ids=ids)
def test_kafka_python_old_consumer_group(bootstrap, topic_name, api_version):
    from kafka import KafkaConsumer, TopicPartition

    create_topic("confluent", bootstrap, topic_name, 2)
    produce("confluent", bootstrap, topic_name, [Out(None, b"v%d" % i, partition=i % 2) for i in range(6)])
    consumer = KafkaConsumer(topic_name, bootstrap_servers=bootstrap, group_id=f"{topic_name}-g",
                             api_version=api_version, auto_offset_reset="earliest", fetch_max_wait_ms=100)
    try:
        assert sorted(m.value for m in take(consumer, 6)) == [b"v%d" % i for i in range(6)]
        consumer.commit()
        assert [consumer.committed(TopicPartition(topic_name, p)) for p in (0, 1)] == [3, 3]
    finally:
        consumer.close()


def test_kafka_python_v1_reads_log_append_time(bootstrap, topic_name):
    create_topic("confluent", bootstrap, topic_name, 1, {"message.timestamp.type": "LogAppendTime"})
    window = Window()
    produce("kafka-python", bootstrap, topic_name, [Out(None, b"a", timestamp=5), Out(None, b"b", timestamp=6)],
            api_version=(0, 10), compression_type="gzip")
    window.close()
    got = consume("kafka-python", bootstrap, topic_name, [0], 2, api_version=(0, 10))
    assert [(r.value, r.timestamp_type) for r in got] == [(b"a", LOG_APPEND_TIME), (b"b", LOG_APPEND_TIME)]
    assert got[0].timestamp == got[1].timestamp and got[0].timestamp in window


# ----------------------------------------------------------------------------- kcat


def kcat(bootstrap: str, fallback: str, *args: str, stdin: str | None = None) -> str:
    done = subprocess.run(["kcat", "-b", bootstrap, "-X", "socket.timeout.ms=10000", "-X", "api.version.request=false",
                           "-X", f"broker.version.fallback={fallback}", *args], input=stdin, capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 0, f"kcat {' '.join(args)} exited {done.returncode}: {done.stderr}"
    return done.stdout


@pytest.mark.skipif(shutil.which("kcat") is None, reason="kcat is not installed")
@pytest.mark.parametrize("fallback", ["0.8.2", "0.9.0"])   # Produce/Fetch v0 and v1, ListOffsets v0, Metadata v0
def test_kcat_old_protocol_every_codec_both_ways(bootstrap, topic_name, fallback):
    create_topic("confluent", bootstrap, topic_name, 2 * len(CODECS))
    for p, codec in enumerate(CODECS):
        kcat(bootstrap, fallback, "-P", "-t", topic_name, "-p", str(p), "-z", codec or "none", "-K:",
             stdin="".join(f"k{i}:kcat-{codec}-{i}\n" for i in range(3)))
        modern = [Out(b"m%d" % i, b"new-%d" % i, partition=p + len(CODECS)) for i in range(3)]
        produce("confluent", bootstrap, topic_name, modern, **({"compression.type": codec} if codec else {}))
    lines = kcat(bootstrap, fallback, "-C", "-t", topic_name, "-o", "beginning", "-e", "-f", "%p|%o|%k|%s\n")
    assert sorted(lines.splitlines()) == sorted(
        [f"{p}|{i}|k{i}|kcat-{codec}-{i}" for p, codec in enumerate(CODECS) for i in range(3)]
        + [f"{p + len(CODECS)}|{i}|m{i}|new-{i}" for p in range(len(CODECS)) for i in range(3)])
    got = consume("confluent", bootstrap, topic_name, list(range(len(CODECS))), 12)
    assert sorted((r.partition, r.offset, r.key, r.value) for r in got) == sorted(
        (p, i, b"k%d" % i, b"kcat-%s-%d" % (str(c).encode(), i)) for p, c in enumerate(CODECS) for i in range(3))
    assert end_offsets(bootstrap, topic_name, 8) == [3] * 8
