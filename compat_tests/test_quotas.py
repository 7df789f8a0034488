"""Client quotas with confluent-kafka: a producer and a consumer over their byte rates are told
to wait (librdkafka's throttle callback fires with the broker's throttle time) and still get
every record, while a client without a quota is never throttled. The quotas are set with
AlterClientQuotas (raw frames: none of the Python clients has an admin call for them).

The broker measures rates over 2 samples of 1 s (Kafka's default is 11), so a quota takes
effect within seconds and the waits stay short."""

from __future__ import annotations

import pytest
from confluent_kafka import Consumer, Producer, TopicPartition

from broker.testing import RawClient
from compat_tests.clients import create_topic
from kproto.messages import ALTER_CLIENT_QUOTAS

RATE = 50_000            # bytes a second
VALUE = b"q" * 1000
COUNT = 200              # 200 KB: four seconds' worth of the quota


@pytest.fixture
def quota_broker(own_broker):
    own_broker.overrides.update({"quota.window.num": "2", "quota.window.size.seconds": "1"})
    own_broker.start()
    with RawClient(own_broker.bootstrap) as raw:
        answer = raw.request(ALTER_CLIENT_QUOTAS, 1, {"entries": [
            {"entity": [{"entity_type": "client-id", "entity_name": "slow"}],
             "ops": [{"key": key, "value": float(RATE), "remove": False}
                     for key in ("producer_byte_rate", "consumer_byte_rate")]}], "validate_only": False})
    assert [e["error_code"] for e in answer["entries"]] == [0]
    return own_broker


def produce_all(bootstrap: str, topic: str, client_id: str, acks: int = 1) -> tuple[int, list[int]]:
    """Deliveries without error, and the throttle times librdkafka reported."""
    throttles, delivered = [], []
    producer = Producer({"bootstrap.servers": bootstrap, "client.id": client_id, "linger.ms": 5, "acks": acks,
                         "batch.size": 20_000, "throttle_cb": lambda event: throttles.append(event.throttle_time)})
    for i in range(COUNT):
        producer.produce(topic, VALUE, partition=0,
                         on_delivery=lambda err, msg: delivered.append(err is None))
        producer.poll(0)
    assert producer.flush(60) == 0
    producer.poll(0.5)   # throttle events come on poll
    return sum(delivered), throttles


def consume_all(bootstrap: str, topic: str, client_id: str) -> tuple[int, list[int]]:
    throttles = []
    consumer = Consumer({"bootstrap.servers": bootstrap, "client.id": client_id, "group.id": f"g-{client_id}",
                         "enable.auto.commit": False, "fetch.wait.max.ms": 50,
                         "throttle_cb": lambda event: throttles.append(event.throttle_time)})
    consumer.assign([TopicPartition(topic, 0, 0)])
    received = 0
    try:
        for _ in range(600):
            if received >= COUNT:
                break
            message = consumer.poll(0.1)
            if message is not None and message.error() is None:
                received += 1
        consumer.poll(0.2)
    finally:
        consumer.close()
    return received, throttles


def test_a_producer_over_its_quota_is_throttled_and_loses_nothing(quota_broker, topic_name):
    bootstrap = quota_broker.bootstrap
    create_topic("confluent", bootstrap, topic_name, 1)
    delivered, throttles = produce_all(bootstrap, topic_name, "fast")
    assert (delivered, throttles) == (COUNT, [])
    delivered, throttles = produce_all(bootstrap, topic_name, "slow")
    assert delivered == COUNT
    assert throttles and max(throttles) > 0, "the broker never told the producer to wait"


def test_a_consumer_over_its_quota_is_throttled_and_reads_everything(quota_broker, topic_name):
    bootstrap = quota_broker.bootstrap
    create_topic("confluent", bootstrap, topic_name, 1)
    assert produce_all(bootstrap, topic_name, "fast") == (COUNT, [])
    assert consume_all(bootstrap, topic_name, "fast") == (COUNT, [])
    received, throttles = consume_all(bootstrap, topic_name, "slow")
    assert received == COUNT
    assert throttles and max(throttles) > 0, "the broker never told the consumer to wait"


def test_an_acks_0_producer_over_its_quota_is_muted_and_its_records_land(quota_broker, topic_name):
    """No answer carries the throttle time: the broker stops reading the connection that long
    (as Kafka does), and what the client sent lands once it reads again. (As with Kafka, an
    acks=0 client that closes while muted may lose what its socket still holds.)"""
    import time
    from compat_tests.clients import end_offsets
    bootstrap = quota_broker.bootstrap
    create_topic("confluent", bootstrap, topic_name, 1)
    producer = Producer({"bootstrap.servers": bootstrap, "client.id": "slow", "linger.ms": 5, "acks": 0,
                         "batch.size": 20_000})
    for _ in range(COUNT):
        producer.produce(topic_name, VALUE, partition=0)
        producer.poll(0)
    assert producer.flush(60) == 0
    deadline = time.monotonic() + 60
    while end_offsets(bootstrap, topic_name, 1) != [COUNT]:
        assert time.monotonic() < deadline, f"stored {end_offsets(bootstrap, topic_name, 1)} of {COUNT}"
        time.sleep(0.2)
