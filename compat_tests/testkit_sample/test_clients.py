"""Real clients against the kafka_broker fixture: confluent-kafka, kafka-python, aiokafka."""

import pytest
from confluent_kafka import Consumer, Producer, TopicPartition


@pytest.mark.kafka_broker(topics={"orders": 3})
def test_confluent_kafka_produce_and_consume(kafka_broker):
    producer = Producer(kafka_broker.config(linger_ms=0))
    for i in range(3):
        producer.produce("orders", value=f"order-{i}".encode(), key=b"customer-1", headers=[("source", b"web")])
    assert producer.flush(10) == 0

    stored = kafka_broker.wait_for("orders", 3)
    assert [r.value for r in stored] == [b"order-0", b"order-1", b"order-2"]
    assert {r.partition for r in stored} == {stored[0].partition}     # one key, one partition
    assert stored[0].headers == [("source", b"web")] and stored[0].key == b"customer-1"

    consumer = Consumer(kafka_broker.config(group_id="billing", auto_offset_reset="earliest",
                                            enable_auto_commit=False))
    consumer.subscribe(["orders"])
    seen = []
    while len(seen) < 3:
        message = consumer.poll(10)
        assert message is not None, "no record within 10 s"
        assert message.error() is None, message.error()
        seen.append(message.value())
    consumer.commit(asynchronous=False)
    consumer.close()
    assert seen == [b"order-0", b"order-1", b"order-2"]
    assert kafka_broker.committed("billing") == {("orders", stored[0].partition): 3}


def test_kafka_python_against_the_address_alone(kafka_bootstrap_servers):
    from kafka import KafkaConsumer, KafkaProducer

    producer = KafkaProducer(bootstrap_servers=kafka_bootstrap_servers)
    producer.send("events", b"hello", partition=2).get(timeout=10)
    producer.close()
    consumer = KafkaConsumer(bootstrap_servers=kafka_bootstrap_servers, auto_offset_reset="earliest",
                             consumer_timeout_ms=10_000)
    from kafka import TopicPartition as KTopicPartition

    consumer.assign([KTopicPartition("events", 2)])
    assert next(consumer).value == b"hello"
    # the ini option's num.partitions=4 made the auto-created topic
    assert len(consumer.partitions_for_topic("events")) == 4
    consumer.close()


async def _aiokafka_round_trip(kb, topic):
    from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

    producer = AIOKafkaProducer(bootstrap_servers=kb.bootstrap_servers)
    await producer.start()
    try:
        await producer.send_and_wait(topic, b"async", partition=0)
    finally:
        await producer.stop()
    records = await kb.wait_for_async(topic, 1)
    assert records[0].value == b"async"
    consumer = AIOKafkaConsumer(topic, bootstrap_servers=kb.bootstrap_servers, group_id="async-group",
                                auto_offset_reset="earliest")
    await consumer.start()
    try:
        message = await consumer.getone()
        assert message.value == b"async"
        await consumer.commit()
    finally:
        await consumer.stop()
    assert kb.committed("async-group") == {(topic, 0): 1}


@pytest.fixture
def anyio_backend():
    return "asyncio"


@pytest.mark.anyio
@pytest.mark.kafka_broker(topics={"async-anyio": 1})
async def test_aiokafka_with_anyio(kafka_broker):
    await _aiokafka_round_trip(kafka_broker, "async-anyio")


@pytest.mark.asyncio
@pytest.mark.kafka_broker(topics={"async-pytest-asyncio": 1})
async def test_aiokafka_with_pytest_asyncio(kafka_broker):
    await _aiokafka_round_trip(kafka_broker, "async-pytest-asyncio")


def test_records_are_read_from_the_log_partition_by_partition(kafka_broker):
    kafka_broker.create_topic("ledger", partitions=2, config={"message.timestamp.type": "LogAppendTime"})
    producer = Producer(kafka_broker.config())
    producer.produce("ledger", b"a", partition=1)
    producer.produce("ledger", b"b", partition=0)
    producer.produce("ledger", b"c", partition=1, key=None)
    producer.flush(10)
    kafka_broker.wait_for("ledger", 3)
    assert [(r.partition, r.offset, r.value) for r in kafka_broker.records("ledger")] == [
        (0, 0, b"b"), (1, 0, b"a"), (1, 1, b"c")]
    assert [r.value for r in kafka_broker.records("ledger", partition=1)] == [b"a", b"c"]
    assert all(r.timestamp > 0 for r in kafka_broker.records("ledger"))
    kafka_broker.delete_topic("ledger")
    assert "ledger" not in kafka_broker.topics()


def test_factory_makes_independent_brokers(kafka_broker_factory):
    first = kafka_broker_factory(topics={"t": 1})
    second = kafka_broker_factory(topics=["t"], config={"auto.create.topics.enable": "false"})
    assert first.bootstrap_servers != second.bootstrap_servers
    producer = Producer(first.config())
    producer.produce("t", b"only-in-first")
    producer.flush(10)
    assert [r.value for r in first.wait_for("t", 1)] == [b"only-in-first"]
    assert second.records("t") == []
