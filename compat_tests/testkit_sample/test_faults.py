"""Fault injection as a test uses it: errors a client retries, delays, disconnects; the request log."""

import socket

import pytest
from confluent_kafka import Consumer, KafkaError, Producer, TopicPartition


@pytest.mark.kafka_broker(topics={"payments": 1})
def test_a_retriable_produce_error_is_retried_by_the_producer(kafka_broker):
    kafka_broker.faults.error("Produce", "NOT_LEADER_OR_FOLLOWER", times=2)
    producer = Producer(kafka_broker.config(retry_backoff_ms=10))
    producer.produce("payments", b"paid")
    assert producer.flush(20) == 0
    assert [r.value for r in kafka_broker.records("payments")] == [b"paid"]
    produces = kafka_broker.requests.of("Produce")
    assert len(produces) == 3          # two answered with the error, the third stored
    assert all(r.client_id == "rdkafka" and r.topics == ("payments",) for r in produces)
    assert kafka_broker.faults.active == []


@pytest.mark.kafka_broker(topics={"payments": 1})
def test_a_fatal_produce_error_reaches_the_application(kafka_broker):
    kafka_broker.faults.error("Produce", 29, times=None, topic="payments")   # TOPIC_AUTHORIZATION_FAILED
    failures = []
    producer = Producer(kafka_broker.config(on_delivery=lambda err, msg: failures.append(err)))
    producer.produce("payments", b"denied")
    producer.flush(20)
    assert [e.code() for e in failures] == [KafkaError.TOPIC_AUTHORIZATION_FAILED]
    assert kafka_broker.records("payments") == []


@pytest.mark.kafka_broker(topics={"slow": 1})
def test_a_delayed_fetch_holds_the_consumer_while_others_are_served(kafka_broker):
    kafka_broker.faults.delay("Fetch", ms=1500, times=1)
    producer = Producer(kafka_broker.config())
    producer.produce("slow", b"late")
    assert producer.flush(10) == 0               # Produce is not held
    consumer = Consumer(kafka_broker.config(group_id="g", auto_offset_reset="earliest"))
    consumer.assign([TopicPartition("slow", 0, 0)])
    assert consumer.poll(0.5) is None            # its first fetch is held...
    other = Consumer(kafka_broker.config(group_id="g2", auto_offset_reset="earliest"))
    other.assign([TopicPartition("slow", 0, 0)])
    message = other.poll(10)                     # ...while another connection's fetch is answered
    assert message is not None and message.value() == b"late"
    message = consumer.poll(15)                  # then the held one is answered
    assert message is not None and message.value() == b"late"
    assert [f.applied for f in kafka_broker.faults.active] == []   # used up
    consumer.close()
    other.close()


@pytest.mark.kafka_broker(topics={"flaky": 1})
def test_a_disconnect_on_produce_is_retried_without_duplicates(kafka_broker):
    kafka_broker.faults.disconnect("Produce", times=1)
    producer = Producer(kafka_broker.config(enable_idempotence=True, retry_backoff_ms=10))
    producer.produce("flaky", b"once")
    assert producer.flush(20) == 0
    assert [r.value for r in kafka_broker.records("flaky")] == [b"once"]
    assert len(kafka_broker.requests.of("Produce")) == 2
    assert len({r.connection for r in kafka_broker.requests.of("Produce")}) == 2   # a new connection


def test_a_fault_naming_an_unknown_api_or_error_lists_the_valid_names(kafka_broker):
    with pytest.raises(ValueError, match="valid names: .*Produce"):
        kafka_broker.faults.error("Produse", "NOT_LEADER_OR_FOLLOWER")
    with pytest.raises(ValueError, match="valid names: .*NOT_LEADER_OR_FOLLOWER"):
        kafka_broker.faults.error("Produce", "NOT_A_LEADER")


@pytest.mark.kafka_broker(topics={"kept": 2})
def test_stop_refuses_connections_and_start_serves_the_same_data(kafka_broker):
    producer = Producer(kafka_broker.config())
    producer.produce("kept", b"before", partition=1)
    producer.flush(10)
    port = kafka_broker.port
    kafka_broker.stop()
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", port), timeout=5)
    kafka_broker.start()
    assert kafka_broker.port == port
    producer.produce("kept", b"after", partition=1)
    assert producer.flush(20) == 0
    consumer = Consumer(kafka_broker.config(group_id="g2", auto_offset_reset="earliest"))
    consumer.assign([TopicPartition("kept", 1, 0)])
    values = []
    while len(values) < 2:
        message = consumer.poll(10)
        assert message is not None
        values.append(message.value())
    consumer.close()
    assert values == [b"before", b"after"]


@pytest.mark.kafka_broker(config={"auto.create.topics.enable": "false"})
def test_the_marker_config_reaches_the_broker(kafka_broker):
    producer = Producer(kafka_broker.config(message_timeout_ms=300))
    errors = []
    producer.produce("nowhere", b"x", on_delivery=lambda err, msg: errors.append(err))
    producer.flush(10)
    assert errors and errors[0] is not None
    assert "nowhere" not in kafka_broker.topics()


@pytest.mark.kafka_broker(topics={"isolated": 1}, process=True)
def test_the_process_flavour_has_the_same_interface(kafka_broker):
    assert kafka_broker.process
    kafka_broker.faults.error("Produce", "REQUEST_TIMED_OUT", times=1)
    producer = Producer(kafka_broker.config(retry_backoff_ms=10))
    producer.produce("isolated", b"far", headers=[("h", None)])
    assert producer.flush(20) == 0
    [record] = kafka_broker.wait_for("isolated", 1)
    assert (record.value, record.headers) == (b"far", [("h", None)])
    assert [r.api for r in kafka_broker.requests.of("Produce")] == ["Produce", "Produce"]
    kafka_broker.restart()
    assert [r.value for r in kafka_broker.records("isolated")] == [b"far"]
