"""What pytest shows: a failing test's broker log, a leaked broker. Two of these fail or warn on purpose."""

import pytest
from confluent_kafka import Producer

from broker.testing import KafkaBroker


def test_fails_on_purpose_and_shows_the_broker_log(kafka_broker):
    kafka_broker.faults.error("Produce", "NOT_ENOUGH_REPLICAS", times=1)
    producer = Producer(kafka_broker.config(retry_backoff_ms=10))
    producer.produce("shown", b"x")
    producer.flush(20)
    assert kafka_broker.records("shown") == [], "failing on purpose"


def test_leaks_a_broker_on_purpose():
    KafkaBroker(topics={"leaked": 1}).start()


@pytest.mark.kafka_broker(process=True)
def test_fails_on_purpose_in_a_broker_process(kafka_broker):
    kafka_broker.faults.error("Metadata", "LEADER_NOT_AVAILABLE", times=1, topic="elsewhere")
    producer = Producer(kafka_broker.config(retry_backoff_ms=10))
    producer.produce("elsewhere", b"x")
    producer.flush(20)
    assert kafka_broker.records("elsewhere") == [], "failing on purpose"
