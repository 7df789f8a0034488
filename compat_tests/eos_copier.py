"""An exactly-once copier, as an application writes one with confluent-kafka (a helper program).

    python -m compat_tests.eos_copier BOOTSTRAP SOURCE TARGET GROUP TRANSACTIONAL_ID [WORK_MS]

It joins GROUP on SOURCE (read_committed) and, for each batch it polls, writes every record to the
same partition of TARGET and commits the offsets after those records in the same transaction
(send_offsets_to_transaction with the consumer's group metadata, KIP-447). Its transactional id
is its own and stable across restarts, so a restarted copier fences the one it replaces. A
rebalance or an abortable error aborts the open transaction and rewinds to the committed
offsets. Once a transaction's records and offsets are written it prints "open" and works WORK_MS
before committing (a real copier's processing): a test kills it then, mid-transaction.
SIGTERM stops it cleanly.

One guard is for the client, not the broker: librdkafka (2.16) was seen to hand a consumer
records it had prefetched for a partition during an earlier assignment (fetched while the
partition was being revoked), once the partition was assigned to it again, before, between or
after the fresh ones. The copier keeps, per partition, the next offset it expects (the committed
offset at assignment, then one past each record it copies) and copies a record only at that
offset: the fresh records come in order from there, and the source has no gaps (it is not
written in transactions).
"""

from __future__ import annotations

import signal
import sys
import time

from confluent_kafka import Consumer, KafkaException, Producer, TopicPartition

BATCH = 50


def main(bootstrap: str, source: str, target: str, group: str, transactional_id: str, work_ms: str = "0") -> int:
    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(True))
    producer = Producer({"bootstrap.servers": bootstrap, "transactional.id": transactional_id,
                         "transaction.timeout.ms": 2000, "linger.ms": 5, "retry.backoff.ms": 20})
    producer.init_transactions(30)
    in_transaction = []
    expected: dict[int, int] = {}   # partition -> the next offset to copy

    def abort():
        if in_transaction:
            producer.abort_transaction(30)
            in_transaction.clear()

    def on_assign(consumer, partitions):
        expected.clear()
        for tp in consumer.committed(partitions, timeout=30):
            expected[tp.partition] = max(tp.offset, 0)

    def on_revoke(consumer, partitions):
        abort()   # what was read from them is not committed: their next owner reads it again

    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": group, "isolation.level": "read_committed",
                         "enable.auto.commit": False, "auto.offset.reset": "earliest", "fetch.wait.max.ms": 50,
                         "session.timeout.ms": 1000, "heartbeat.interval.ms": 100,
                         "partition.assignment.strategy": "roundrobin"})
    consumer.subscribe([source], on_assign=on_assign, on_revoke=on_revoke)
    try:
        while not stop:
            polled = consumer.consume(BATCH, timeout=0.2)
            assigned = {tp.partition for tp in consumer.assignment()}   # after the poll: it may rebalance
            messages, offsets = [], {}   # the records to copy; the offsets after them, to commit
            for m in polled:
                p = m.partition()
                if m.error() is None and p in assigned and m.offset() == offsets.get(p, expected.get(p, 0)):
                    messages.append(m)
                    offsets[p] = m.offset() + 1
            if not messages:
                continue
            try:
                producer.begin_transaction()
                in_transaction.append(True)
                for m in messages:
                    producer.produce(target, key=m.key(), value=m.value(), partition=m.partition())
                producer.flush(30)
                producer.send_offsets_to_transaction([TopicPartition(source, p, o) for p, o in offsets.items()],
                                                     consumer.consumer_group_metadata(), 30)
                print("open", flush=True)
                time.sleep(int(work_ms) / 1000)
                producer.commit_transaction(30)
                in_transaction.clear()
                expected.update(offsets)
            except KafkaException as exc:
                if exc.args[0].fatal():
                    raise
                abort()
                expected.update(rewind(consumer))
    finally:
        consumer.close()
    return 0


def rewind(consumer: Consumer) -> dict[int, int]:
    """Back to the committed offsets of what this copier holds (the aborted batch is read again)."""
    committed = {}
    for tp in consumer.committed(consumer.assignment(), timeout=30):
        committed[tp.partition] = max(tp.offset, 0)
        consumer.seek(TopicPartition(tp.topic, tp.partition, committed[tp.partition]))
    return committed


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
