"""Client quotas with confluent-kafka: a producer and a consumer over their byte rates (or their
request time) are told to wait (librdkafka's throttle callback fires with the broker's throttle
time) and still get every record, while a client without a quota is never throttled;
kafka-python's admin client is refused a topic over its controller mutation rate. The quotas are
set with AlterClientQuotas (raw frames: none of the Python clients has an admin call for them).

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


def test_request_time_and_topic_mutations_over_their_quotas(own_broker, topic_name):
    """request_percentage: librdkafka's throttle callback fires, and every record lands.
    controller_mutation_rate: kafka-python's CreateTopics (v7) gets THROTTLING_QUOTA_EXCEEDED for
    the topic over the quota (0.01 partitions a second over 2 samples: the first topic is taken
    whole, the next refused), as Kafka answers it."""
    from kafka.admin import KafkaAdminClient
    own_broker.overrides.update({"controller.quota.window.num": "2"})
    own_broker.start()
    with RawClient(own_broker.bootstrap) as raw:
        answer = raw.request(ALTER_CLIENT_QUOTAS, 1, {"entries": [
            {"entity": [{"entity_type": "client-id", "entity_name": name}],
             "ops": [{"key": key, "value": value, "remove": False}]}
            for name, key, value in (("busy", "request_percentage", 1e-9),
                                     ("admin", "controller_mutation_rate", 0.01))], "validate_only": False})
    assert [e["error_code"] for e in answer["entries"]] == [0, 0]
    admin = KafkaAdminClient(bootstrap_servers=own_broker.bootstrap, client_id="admin", request_timeout_ms=10000)
    try:
        result = admin.create_topics({topic_name: {"num_partitions": 2, "replication_factor": 1},
                                      f"{topic_name}-2": {"num_partitions": 1, "replication_factor": 1}},
                                     raise_errors=False)
    finally:
        admin.close()
    assert [(t["name"], t["error_code"], t["error_message"]) for t in result["topics"]] == [
        (topic_name, 0, None), (f"{topic_name}-2", 89, "The throttling quota has been exceeded.")]
    throttles, delivered = [], []
    producer = Producer({"bootstrap.servers": own_broker.bootstrap, "client.id": "busy", "linger.ms": 5,
                         "throttle_cb": lambda event: throttles.append(event.throttle_time)})
    for _ in range(5):
        producer.produce(topic_name, VALUE, partition=0, on_delivery=lambda err, msg: delivered.append(err is None))
    assert producer.flush(30) == 0
    producer.poll(0.5)
    assert delivered == [True] * 5
    assert throttles and max(throttles) > 0, "the broker never told the producer to wait"
