"""Every codec produced by one client and read by another; the broker keeps the producer's compressed batches."""

from __future__ import annotations

import pytest

from compat_tests.clients import CLIENTS, Out, batch_headers, consume, create_topic, fetch_log, produce, records_of

CODECS = {"gzip": 1, "snappy": 2, "lz4": 3, "zstd": 4}
COUNT = 2_000
PARTITIONS = 2


def kafka_python_has(codec: str) -> bool:
    """kafka-python needs optional packages (python-snappy, lz4, zstandard) for all codecs but gzip."""
    import kafka.codec as kc
    return {"gzip": kc.has_gzip, "snappy": kc.has_snappy, "lz4": kc.has_lz4, "zstd": kc.has_zstd}[codec]()


def supports(client: str, codec: str) -> bool:
    return client != "kafka-python" or kafka_python_has(codec)


def compression_config(client: str, codec: str) -> dict:
    if client == "confluent":
        return {"compression.type": codec, "linger.ms": 20}
    return {"compression_type": codec, "linger_ms": 20}


def reader_for(producer: str, codec: str) -> str:
    """The next client after the producer (in CLIENTS order) that can decode the codec."""
    start = CLIENTS.index(producer)
    for step in range(1, len(CLIENTS)):
        candidate = CLIENTS[(start + step) % len(CLIENTS)]
        if supports(candidate, codec):
            return candidate
    raise AssertionError("no reader")


@pytest.mark.parametrize("producer", CLIENTS)
@pytest.mark.parametrize("codec", list(CODECS))
def test_codec_across_clients(codec, producer, bootstrap, topic_name):
    if not supports(producer, codec):
        pytest.skip(f"kafka-python cannot write {codec} without its optional codec package")
    reader = reader_for(producer, codec)
    create_topic("confluent", bootstrap, topic_name, PARTITIONS)
    messages = [Out(b"k%03d" % (i % 100), (b"compressible %s value %d " % (codec.encode(), i)) * 8,
                    (("i", str(i).encode()),)) for i in range(COUNT)]
    deliveries = produce(producer, bootstrap, topic_name, messages, **compression_config(producer, codec))
    assert [d.error for d in deliveries] == [None] * COUNT

    # The broker stored what the producer sent: compressed batches with the codec's attribute bits.
    stored = [fetch_log(bootstrap, topic_name, p) for p in range(PARTITIONS)]
    headers = [h for data in stored for h in batch_headers(data)]
    assert {h.attributes & 0x07 for h in headers} == {CODECS[codec]}
    assert sum(h.records_count for h in headers) == COUNT
    assert max(h.records_count for h in headers) > 1, "expected batches of several records"
    assert sorted(r.value for data in stored for r in records_of(data)) == sorted(m.value for m in messages)

    received = consume(reader, bootstrap, topic_name, PARTITIONS, COUNT)
    assert len(received) == COUNT
    got = {(r.partition, r.offset): (r.key, r.value, r.headers) for r in received}
    expected = {(d.partition, d.offset): (m.key, m.value, m.headers) for m, d in zip(messages, deliveries)}
    assert got == expected
