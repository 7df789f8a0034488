"""Durability knobs: with log.flush.interval.messages=1 every record is fsynced before it is
acknowledged, and a broker killed with SIGKILL in the middle of acks=all production comes back
with every acknowledged record, at its offset."""

from __future__ import annotations

from compat_tests.clients import create_topic, fetch_log, records_of


def test_every_acknowledged_record_survives_a_sigkill(own_broker, topic_name):
    from confluent_kafka import Producer
    own_broker.overrides.update({"log.flush.interval.messages": "1", "log.segment.bytes": "20000"})
    own_broker.start()
    create_topic("confluent", own_broker.bootstrap, topic_name, 2)
    acknowledged = []

    def delivered(error, message):
        if error is None:
            acknowledged.append((message.partition(), message.offset(), message.value()))

    producer = Producer({"bootstrap.servers": own_broker.bootstrap, "acks": "all", "linger.ms": 0,
                         "message.timeout.ms": 3000, "socket.timeout.ms": 3000})
    sent = 0
    while len(acknowledged) < 600:
        producer.produce(topic_name, value=b"record-%06d" % sent, partition=sent % 2, on_delivery=delivered)
        sent += 1
        producer.poll(0 if sent % 20 else 0.01)
    own_broker.kill()   # with requests in flight
    producer.flush(10)
    kept = list(acknowledged)

    own_broker.start()
    stored = {}
    for partition in (0, 1):
        for record in records_of(fetch_log(own_broker.bootstrap, topic_name, partition)):
            stored[(partition, record.offset)] = record.value
    assert len(kept) >= 600
    missing = [(p, o, v) for p, o, v in kept if stored.get((p, o)) != v]
    assert missing == []
    for partition in (0, 1):   # and nothing but whole, contiguous records
        offsets = sorted(o for p, o in stored if p == partition)
        assert offsets == list(range(len(offsets)))
