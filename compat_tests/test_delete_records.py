"""DeleteRecords with real admin clients: each client's delete_records moves the log start, and
consumers from then on see only what is left; a consumer whose position fell below the start
resets as its auto.offset.reset says."""

from __future__ import annotations

import asyncio
import json
import shutil
import subprocess
from pathlib import Path

import pytest

from compat_tests.clients import Out, consume, create_topic, list_offsets, produce

EARLIEST = -2


@pytest.fixture
def topic(bootstrap, topic_name) -> str:
    """Three partitions of ten messages each (offsets 0-9), sent one message per batch."""
    create_topic("confluent", bootstrap, topic_name, 3)
    for partition in range(3):
        messages = [Out(b"k%d" % i, b"%d-%d" % (partition, i), partition=partition) for i in range(10)]
        produce("confluent", bootstrap, topic_name, messages, **{"linger.ms": 0})
    return topic_name


def confluent_delete(bootstrap: str, topic: str, offsets: dict[int, int]) -> dict[int, int | str]:
    from confluent_kafka import KafkaException, TopicPartition
    from confluent_kafka.admin import AdminClient
    admin = AdminClient({"bootstrap.servers": bootstrap})
    futures = admin.delete_records([TopicPartition(topic, p, o) for p, o in offsets.items()], request_timeout=15)
    out = {}
    for tp, future in futures.items():
        try:
            out[tp.partition] = future.result().low_watermark
        except KafkaException as exc:
            out[tp.partition] = exc.args[0].name()
    return out


def kafka_python_delete(bootstrap: str, topic: str, offsets: dict[int, int]) -> dict[int, int | str]:
    from kafka import TopicPartition
    from kafka.admin import KafkaAdminClient
    from kafka.errors import KafkaError
    admin = KafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=10000)
    try:
        answer = admin.delete_records({TopicPartition(topic, p): o for p, o in offsets.items()})
    except KafkaError as exc:
        return {p: type(exc).__name__ for p in offsets}
    finally:
        admin.close()
    return {tp.partition: result["low_watermark"] for tp, result in answer.items()}


def aiokafka_delete(bootstrap: str, topic: str, offsets: dict[int, int]) -> dict[int, int | str]:
    from aiokafka import TopicPartition
    from aiokafka.admin import AIOKafkaAdminClient, RecordsToDelete
    from aiokafka.errors import KafkaError

    async def run():
        admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=10000)
        await admin.start()
        try:
            answer = await admin.delete_records(
                {TopicPartition(topic, p): RecordsToDelete(before_offset=o) for p, o in offsets.items()})
        except KafkaError as exc:
            return {p: type(exc).__name__ for p in offsets}
        finally:
            await admin.close()
        return {tp.partition: low for tp, low in answer.items()}

    return asyncio.run(run())


KAFKAJS = Path(__file__).parent / "kafkajs"
NODE = shutil.which("node")


def kafkajs_delete(bootstrap: str, topic: str, offsets: dict[int, int]) -> dict[int, int | str]:
    """kafkajs's admin.deleteTopicRecords (kafkajs/delete_records.js). It answers no low
    watermark: each partition's "low" from fetchTopicOffsets stands in for it."""
    if NODE is None or not (KAFKAJS / "node_modules" / "kafkajs").is_dir():
        pytest.skip("kafkajs is not installed: run `npm ci --prefix compat_tests/kafkajs` (make test does)")
    partitions = [{"partition": p, "offset": str(o)} for p, o in offsets.items()]
    done = subprocess.run([NODE, str(KAFKAJS / "delete_records.js"),
                           json.dumps({"bootstrap": bootstrap, "topic": topic, "partitions": partitions})],
                          cwd=KAFKAJS, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr[-3000:]
    out = json.loads(done.stdout)
    if "error" in out:
        return {p: out["error"]["type"] for p in offsets}
    low = dict(out["low"])
    return {p: int(low[p]) for p in offsets}


DELETERS = {"confluent": confluent_delete, "kafka-python": kafka_python_delete, "aiokafka": aiokafka_delete,
            "kafkajs": kafkajs_delete}


@pytest.mark.parametrize("client", DELETERS)
def test_delete_records_moves_the_start_for_every_consumer(client, bootstrap, topic):
    assert DELETERS[client](bootstrap, topic, {0: 4, 1: -1, 2: 0}) == {0: 4, 1: 10, 2: 0}   # -1: the high watermark
    assert list_offsets(bootstrap, topic, 3, EARLIEST) == [4, 10, 0]
    reader = client if client != "kafkajs" else "confluent"
    got = consume(reader, bootstrap, topic, [0, 1, 2], 16)
    assert sorted((m.partition, m.offset) for m in got) == [(0, o) for o in range(4, 10)] + [(2, o) for o in range(10)]


@pytest.mark.parametrize("client,error", [
    ("confluent", "OFFSET_OUT_OF_RANGE"), ("kafka-python", "OffsetOutOfRangeError"),
    ("aiokafka", "OffsetOutOfRangeError"), ("kafkajs", "OFFSET_OUT_OF_RANGE")])
def test_an_offset_past_the_end_is_out_of_range(client, error, bootstrap, topic):
    assert DELETERS[client](bootstrap, topic, {0: 11}) == {0: error}
    assert list_offsets(bootstrap, topic, 3, EARLIEST) == [0, 0, 0]


@pytest.mark.parametrize("reset,first", [("earliest", 6), ("latest", None)])
def test_a_consumer_below_the_start_resets_as_configured(bootstrap, topic, reset, first):
    """confluent-kafka asked to start at offset 2, now deleted: OFFSET_OUT_OF_RANGE, then
    auto.offset.reset: the new start, or the end (nothing until new data)."""
    from confluent_kafka import Consumer, TopicPartition
    assert confluent_delete(bootstrap, topic, {0: 6}) == {0: 6}
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": "never-joined", "enable.auto.commit": False,
                         "auto.offset.reset": reset, "fetch.wait.max.ms": 100})
    try:
        consumer.assign([TopicPartition(topic, 0, 2)])
        seen = [m for m in consumer.consume(num_messages=100, timeout=3) if not m.error()]
        if first is None:
            assert seen == []
            produce("confluent", bootstrap, topic, [Out(b"k", b"new", partition=0)])
            seen = [m for m in consumer.consume(num_messages=100, timeout=5) if not m.error()]
            assert [(m.offset(), m.value()) for m in seen] == [(10, b"new")]
        else:
            assert [m.offset() for m in seen] == list(range(first, 10))
    finally:
        consumer.close()
