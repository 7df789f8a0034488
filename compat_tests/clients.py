"""Small helpers: produce and consume with each real client, and look at the log with raw frames.

Every client is driven through the same three calls so tests can mix them:

* ``create_topic(client, bootstrap, name, partitions, configs)`` through the client's admin API;
* ``produce(client, bootstrap, topic, messages, **config)`` -> one ``Delivery`` per message, in order;
* ``consume(client, bootstrap, topic, partitions, count, **config)`` -> the ``Received`` messages,
  by assigning the partitions from the beginning (no consumer group), until ``count`` or a deadline.

Client names: ``"kafka-python"``, ``"confluent"``, ``"aiokafka"``. Config keys are each client's own
(they differ in spelling); they are passed through unchanged.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field

from broker.testing import RawClient
from kproto.messages import FETCH, LIST_OFFSETS
from storage import decode_records, iter_batches, read_header

CLIENTS = ("kafka-python", "confluent", "aiokafka")
CONSUME_TIMEOUT_S = 60
CREATE_TIME, LOG_APPEND_TIME = 0, 1


@dataclass(frozen=True)
class Out:
    """A message to produce. partition/timestamp None: the client chooses."""
    key: bytes | None
    value: bytes | None
    headers: tuple[tuple[str, bytes], ...] = ()
    partition: int | None = None
    timestamp: int | None = None


@dataclass(frozen=True)
class Delivery:
    """What the producer's delivery report / future said (offset -1 when it cannot know, acks=0)."""
    partition: int
    offset: int
    timestamp: int | None
    error: str | None = None


@dataclass(frozen=True)
class Received:
    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    headers: tuple[tuple[str, bytes | None], ...]
    timestamp: int
    timestamp_type: int   # 0 CreateTime, 1 LogAppendTime


# ----------------------------------------------------------------------------- admin


def create_topic(client: str, bootstrap: str, name: str, partitions: int = 1,
                 configs: dict[str, str] | None = None) -> None:
    """Create a topic through the client's admin API; raise on any error."""
    configs = configs or {}
    if client == "kafka-python":
        from kafka.admin import KafkaAdminClient
        admin = KafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=10000)
        try:
            result = admin.create_topics({name: {"num_partitions": partitions, "replication_factor": 1,
                                                 "configs": configs}})
            assert [t["error_code"] for t in result["topics"]] == [0], result
        finally:
            admin.close()
    elif client == "confluent":
        from confluent_kafka.admin import AdminClient, NewTopic
        admin = AdminClient({"bootstrap.servers": bootstrap})
        futures = admin.create_topics([NewTopic(name, num_partitions=partitions, replication_factor=1,
                                                config=configs)], operation_timeout=10, request_timeout=15)
        futures[name].result(timeout=20)
    elif client == "aiokafka":
        asyncio.run(_aio_create_topic(bootstrap, name, partitions, configs))
    else:
        raise ValueError(client)


async def _aio_create_topic(bootstrap, name, partitions, configs):
    from aiokafka.admin import AIOKafkaAdminClient, NewTopic
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=10000)
    await admin.start()
    try:
        response = await admin.create_topics([NewTopic(name, partitions, 1, topic_configs=configs)])
        errors = [(t[0], t[1]) for t in response.topic_errors]
        assert errors == [(name, 0)], response
    finally:
        await admin.close()


# ----------------------------------------------------------------------------- produce


def produce(client: str, bootstrap: str, topic: str, messages: list[Out], **config) -> list[Delivery]:
    """Produce every message, wait for all of them; one Delivery per message, in order."""
    if client == "kafka-python":
        return _kp_produce(bootstrap, topic, messages, config)
    if client == "confluent":
        return _ck_produce(bootstrap, topic, messages, config)
    if client == "aiokafka":
        return asyncio.run(_aio_produce(bootstrap, topic, messages, config))
    raise ValueError(client)


def _kp_produce(bootstrap, topic, messages, config) -> list[Delivery]:
    from kafka import KafkaProducer
    producer = KafkaProducer(**{"bootstrap_servers": bootstrap, "linger_ms": 5, "request_timeout_ms": 10000,
                                **config})
    try:
        futures = [producer.send(topic, key=m.key, value=m.value, headers=list(m.headers), partition=m.partition,
                                 timestamp_ms=m.timestamp) for m in messages]
        producer.flush(timeout=60)
        out = []
        for f in futures:
            try:
                md = f.get(timeout=10)
            except Exception as exc:  # the error is what the test looks at
                out.append(Delivery(-1, -1, None, type(exc).__name__))
            else:
                out.append(Delivery(md.partition, md.offset, md.timestamp))
        return out
    finally:
        producer.close(timeout=10)


def _ck_produce(bootstrap, topic, messages, config) -> list[Delivery]:
    from confluent_kafka import Producer
    producer = Producer({"bootstrap.servers": bootstrap, "linger.ms": 5, **config})
    reports: list[Delivery | None] = [None] * len(messages)

    def report(index):
        def on_delivery(err, msg):
            reports[index] = Delivery(msg.partition(), msg.offset(), msg.timestamp()[1],
                                      None if err is None else err.name())
        return on_delivery

    for i, m in enumerate(messages):
        kwargs = {}
        if m.partition is not None:
            kwargs["partition"] = m.partition
        if m.timestamp is not None:
            kwargs["timestamp"] = m.timestamp
        while True:
            try:
                producer.produce(topic, key=m.key, value=m.value, headers=list(m.headers) or None,
                                 on_delivery=report(i), **kwargs)
                break
            except BufferError:
                producer.poll(0.05)
        producer.poll(0)
    remaining = producer.flush(60)
    assert remaining == 0, f"{remaining} messages still undelivered"
    assert all(r is not None for r in reports)
    return reports


async def _aio_produce(bootstrap, topic, messages, config) -> list[Delivery]:
    from aiokafka import AIOKafkaProducer
    producer = AIOKafkaProducer(**{"bootstrap_servers": bootstrap, "linger_ms": 5, "request_timeout_ms": 10000,
                                   **config})
    await producer.start()
    try:
        futures = [await producer.send(topic, key=m.key, value=m.value, headers=list(m.headers) or None,
                                       partition=m.partition, timestamp_ms=m.timestamp) for m in messages]
        out = []
        for result in await asyncio.gather(*futures, return_exceptions=True):
            if isinstance(result, BaseException):
                out.append(Delivery(-1, -1, None, type(result).__name__))
            elif result is None:   # acks=0: aiokafka resolves the future with None
                out.append(Delivery(-1, -1, None))
            else:
                out.append(Delivery(result.partition, result.offset, result.timestamp))
        return out
    finally:
        await producer.stop()


# ----------------------------------------------------------------------------- consume


def consume(client: str, bootstrap: str, topic: str, partitions: list[int] | int, count: int,
            timeout_s: float = CONSUME_TIMEOUT_S, **config) -> list[Received]:
    """Assign the partitions from the beginning and read until ``count`` messages or the deadline."""
    if isinstance(partitions, int):
        partitions = list(range(partitions))
    if client == "kafka-python":
        return _kp_consume(bootstrap, topic, partitions, count, timeout_s, config)
    if client == "confluent":
        return _ck_consume(bootstrap, topic, partitions, count, timeout_s, config)
    if client == "aiokafka":
        return asyncio.run(_aio_consume(bootstrap, topic, partitions, count, timeout_s, config))
    raise ValueError(client)


def _headers(headers) -> tuple:
    return tuple((k, v) for k, v in (headers or ()))


def _kp_consume(bootstrap, topic, partitions, count, timeout_s, config) -> list[Received]:
    from kafka import KafkaConsumer, TopicPartition
    consumer = KafkaConsumer(**{"bootstrap_servers": bootstrap, "group_id": None, "enable_auto_commit": False,
                                "fetch_max_wait_ms": 100, "request_timeout_ms": 10000, **config})
    try:
        consumer.assign([TopicPartition(topic, p) for p in partitions])
        consumer.seek_to_beginning()
        out: list[Received] = []
        deadline = time.monotonic() + timeout_s
        while len(out) < count and time.monotonic() < deadline:
            for records in consumer.poll(timeout_ms=200).values():
                out.extend(Received(r.topic, r.partition, r.offset, r.key, r.value, _headers(r.headers),
                                    r.timestamp, r.timestamp_type) for r in records)
        return out
    finally:
        consumer.close()


def _ck_consume(bootstrap, topic, partitions, count, timeout_s, config) -> list[Received]:
    from confluent_kafka import OFFSET_BEGINNING, TIMESTAMP_LOG_APPEND_TIME, Consumer, TopicPartition
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": "compat-tests-never-joined",
                         "enable.auto.commit": False, "fetch.wait.max.ms": 100, **config})
    try:
        consumer.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in partitions])
        out: list[Received] = []
        deadline = time.monotonic() + timeout_s
        while len(out) < count and time.monotonic() < deadline:
            for m in consumer.consume(num_messages=1000, timeout=0.2):
                if m.error():
                    raise AssertionError(f"consumer error: {m.error()}")
                ts_type, ts = m.timestamp()
                out.append(Received(m.topic(), m.partition(), m.offset(), m.key(), m.value(), _headers(m.headers()),
                                    ts, LOG_APPEND_TIME if ts_type == TIMESTAMP_LOG_APPEND_TIME else CREATE_TIME))
        return out
    finally:
        consumer.close()


async def _aio_consume(bootstrap, topic, partitions, count, timeout_s, config) -> list[Received]:
    from aiokafka import AIOKafkaConsumer, TopicPartition
    consumer = AIOKafkaConsumer(**{"bootstrap_servers": bootstrap, "enable_auto_commit": False,
                                   "fetch_max_wait_ms": 100, "request_timeout_ms": 10000, **config})
    await consumer.start()
    try:
        consumer.assign([TopicPartition(topic, p) for p in partitions])
        await consumer.seek_to_beginning()
        out: list[Received] = []
        deadline = time.monotonic() + timeout_s
        while len(out) < count and time.monotonic() < deadline:
            for records in (await consumer.getmany(timeout_ms=200)).values():
                out.extend(Received(r.topic, r.partition, r.offset, r.key, r.value, _headers(r.headers),
                                    r.timestamp, r.timestamp_type) for r in records)
        return out
    finally:
        await consumer.stop()


# ----------------------------------------------------------------------------- raw look at the log


def end_offsets(bootstrap: str, topic: str, partitions: int) -> list[int]:
    """Each partition's high watermark, by a raw ListOffsets (latest): independent of the clients."""
    return list_offsets(bootstrap, topic, partitions, -1)


def list_offsets(bootstrap: str, topic: str, partitions: int, timestamp: int) -> list[int]:
    with RawClient(bootstrap) as raw:
        response = raw.request(LIST_OFFSETS, 7, {"replica_id": -1, "isolation_level": 0, "topics": [
            {"name": topic, "partitions": [{"partition_index": p, "timestamp": timestamp}
                                           for p in range(partitions)]}]})
    parts = sorted(response["topics"][0]["partitions"], key=lambda p: p["partition_index"])
    assert [p["error_code"] for p in parts] == [0] * partitions, parts
    return [p["offset"] for p in parts]


def fetch_log(bootstrap: str, topic: str, partition: int = 0, offset: int = 0,
              max_bytes: int = 64 << 20) -> bytes:
    """Every batch of a partition from ``offset``, exactly as the broker serves them (raw Fetch v11)."""
    chunks = []
    with RawClient(bootstrap) as raw:
        while True:
            response = raw.request(FETCH, 11, {
                "max_wait_ms": 0, "min_bytes": 0, "max_bytes": max_bytes, "isolation_level": 0, "session_id": 0,
                "topics": [{"topic": topic, "partitions": [{"partition": partition, "fetch_offset": offset,
                                                            "partition_max_bytes": max_bytes}]}],
                "forgotten_topics_data": [], "rack_id": ""})
            part = response["responses"][0]["partitions"][0]
            assert part["error_code"] == 0, part
            data = bytes(part["records"] or b"")
            batches = list(iter_batches(data))
            if not batches:
                return b"".join(chunks)
            chunks.append(data)
            offset = read_header(batches[-1]).last_offset + 1
            if offset >= part["high_watermark"]:
                return b"".join(chunks)


def batch_headers(data: bytes) -> list:
    return [read_header(b) for b in iter_batches(data)]


def records_of(data: bytes) -> list:
    """Every record of the batches in ``data`` (decompressed, CRC checked)."""
    return [r for b in iter_batches(data) for r in decode_records(b, verify_crc=True)]


@dataclass
class Window:
    """A test's time window in epoch milliseconds, for CreateTime checks."""
    start: int = field(default_factory=lambda: time.time_ns() // 1_000_000 - 1)
    end: int | None = None

    def close(self) -> "Window":
        self.end = time.time_ns() // 1_000_000 + 1
        return self

    def __contains__(self, ms: int) -> bool:
        assert self.end is not None, "close the window first"
        return self.start <= ms <= self.end
