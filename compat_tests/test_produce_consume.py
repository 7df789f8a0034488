"""Each client end to end: admin-created topic, 10,000 keyed messages with headers, read back by assignment."""

from __future__ import annotations

from collections import defaultdict

import pytest

from compat_tests.clients import CLIENTS, CREATE_TIME, Out, Window, consume, create_topic, end_offsets, produce

PARTITIONS = 4
COUNT = 10_000
KEYS = 37


def keyed_messages(client: str) -> list[Out]:
    """COUNT messages over KEYS keys; each value carries its key and its sequence number within the key."""
    seq: dict[bytes, int] = defaultdict(int)
    out = []
    for i in range(COUNT):
        key = b"key-%02d" % (i % KEYS)
        n = seq[key]
        seq[key] += 1
        value = b"%s|%06d|%s" % (key, n, b"x" * (i % 50))
        headers = (("seq", str(i).encode()), ("client", client.encode()), ("dup", b"first"), ("dup", b"second"))
        out.append(Out(key, value, headers))
    return out


@pytest.mark.parametrize("client", CLIENTS)
def test_ten_thousand_keyed_messages_round_trip(client, bootstrap, topic_name):
    create_topic(client, bootstrap, topic_name, PARTITIONS, {"retention.ms": "-1"})   # old explicit timestamps
    fixed_ts = 1_600_000_000_123   # explicit CreateTime for the special messages
    specials = [
        Out(None, b"value-without-key", (("kind", b"null-key"),), timestamp=fixed_ts),
        Out(b"key-without-value", None, (("kind", b"null-value"),), timestamp=fixed_ts + 1),
        Out(b"", b"", (("kind", b"empty"),), timestamp=fixed_ts + 2),
    ]
    messages = keyed_messages(client) + specials
    window = Window()
    deliveries = produce(client, bootstrap, topic_name, messages)
    window.close()

    assert [d.error for d in deliveries] == [None] * len(messages)
    by_position = {(d.partition, d.offset): i for i, d in enumerate(deliveries)}
    assert len(by_position) == len(messages), "two messages were reported at the same partition and offset"
    ends = end_offsets(bootstrap, topic_name, PARTITIONS)
    assert sum(ends) == len(messages), f"the log holds {ends}, {len(messages)} were produced"
    for p in range(PARTITIONS):   # delivery reports name exactly offsets 0..end-1 of each partition
        assert sorted(o for (q, o) in by_position if q == p) == list(range(ends[p]))

    received = consume(client, bootstrap, topic_name, PARTITIONS, len(messages))
    assert len(received) == len(messages)
    assert len({(r.partition, r.offset) for r in received}) == len(messages)

    key_partitions: dict[bytes, set[int]] = defaultdict(set)
    key_sequences: dict[bytes, list[int]] = defaultdict(list)
    last_offset = defaultdict(lambda: -1)
    for r in received:
        assert r.topic == topic_name
        assert r.offset == last_offset[r.partition] + 1, "a partition's messages arrived out of offset order"
        last_offset[r.partition] = r.offset
        i = by_position[(r.partition, r.offset)]   # the message the producer was told went here
        sent = messages[i]
        assert (r.key, r.value, r.headers) == (sent.key, sent.value, sent.headers), f"message {i}"
        assert r.timestamp_type == CREATE_TIME
        if sent.timestamp is not None:
            assert r.timestamp == sent.timestamp
        else:
            assert r.timestamp in window
            # aiokafka 0.14 reports the batch's first timestamp for every message of a batch
            # (MessageBatch.done overwrites its loop variable), so its reports are not compared.
            if client != "aiokafka":
                assert r.timestamp == deliveries[i].timestamp
        if i < COUNT:
            key_partitions[r.key].add(r.partition)
            key_sequences[r.key].append(int(r.value.split(b"|")[1]))

    assert len(key_partitions) == KEYS
    assert {k: len(ps) for k, ps in key_partitions.items() if len(ps) != 1} == {}, "a key moved partition"
    assert len({next(iter(ps)) for ps in key_partitions.values()}) > 1, "the partitioner used one partition only"
    for key, seqs in key_sequences.items():
        assert seqs == list(range(len(seqs))), f"{key!r} out of order"

    null_key, null_value, empty = (received_at(received, deliveries[COUNT + j]) for j in range(3))
    assert (null_key.key, null_key.value) == (None, b"value-without-key")
    assert (null_value.key, null_value.value) == (b"key-without-value", None)
    assert (empty.key, empty.value) == (b"", b"")


def received_at(received, delivery):
    matches = [r for r in received if (r.partition, r.offset) == (delivery.partition, delivery.offset)]
    assert len(matches) == 1
    return matches[0]


@pytest.mark.parametrize("producer,codec", [("confluent", "gzip"), ("kafka-python", None), ("aiokafka", "lz4")])
def test_log_append_time_topic(producer, codec, bootstrap, topic_name):
    """On a LogAppendTime topic the broker's clock replaces the producer's timestamps (compressed or not)."""
    create_topic("confluent", bootstrap, topic_name, 1, {"message.timestamp.type": "LogAppendTime"})
    config = {} if codec is None else ({"compression.type": codec} if producer == "confluent"
                                       else {"compression_type": codec})
    window = Window()
    deliveries = produce(producer, bootstrap, topic_name,
                         [Out(b"k", b"v%d" % i, partition=0, timestamp=1_500_000_000_000 + i) for i in range(50)],
                         **config)
    window.close()
    assert [d.error for d in deliveries] == [None] * 50
    readers = ["confluent", "aiokafka"] + (["kafka-python"] if codec in (None, "gzip") else [])  # its codecs
    for reader in readers:
        received = consume(reader, bootstrap, topic_name, [0], 50)
        assert [r.value for r in received] == [b"v%d" % i for i in range(50)]
        assert {r.timestamp_type for r in received} == {1}, reader   # LogAppendTime
        assert all(r.timestamp in window for r in received), reader
        by_offset = {r.offset: r.timestamp for r in received}
        # the producer is told the append time (Produce response log_append_time_ms)
        if producer != "aiokafka":   # aiokafka reports per batch (see the test above)
            assert [d.timestamp for d in deliveries] == [by_offset[d.offset] for d in deliveries]
