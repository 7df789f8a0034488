"""Transactions with each Python client, driven the same way so tests can mix them (a helper module).

* ``transactions(client, bootstrap, topic, transactional_id, plan)``: for each ``(commit, messages)``
  of the plan: begin, send the messages (flushed, so an aborted transaction's records are in the
  log), commit or abort.
* ``copy(client, bootstrap, source, target, group, partitions, transactional_id, per_transaction)``:
  consume-transform-produce: read ``source`` in ``group`` (read_committed, from its committed
  offsets), write each value upper-cased to the same partition of ``target`` and commit the
  consumed offsets in the same transaction (send_offsets_to_transaction), ``per_transaction``
  records at a time, until ``source`` is read to its end.
* ``fence(client, bootstrap, topic, transactional_id)``: a producer sends in a transaction, a
  second one with the same transactional id initialises, then the first one commits: the name
  of the error the first one gets.
* ``open_then_commit(client, bootstrap, topic, transactional_id, values, meanwhile)``: begin,
  send, flush, ``meanwhile()`` (a broker restart), commit.
* ``python -m compat_tests.txn_clients zombie CLIENT BOOTSTRAP TOPIC ID TIMEOUT_MS``: begin, send
  ``doomed-N``, flush, print "ready", sleep: a producer to SIGKILL mid-transaction.

Client names as in clients.py: ``"kafka-python"``, ``"confluent"``, ``"aiokafka"``.
"""

from __future__ import annotations

import asyncio
import sys
import time
from typing import Callable

from compat_tests.clients import Out

TIMEOUT_S = 30


def transactions(client: str, bootstrap: str, topic: str, transactional_id: str,
                 plan: list[tuple[bool, list[Out]]], timeout_ms: int = 10000) -> None:
    if client == "confluent":
        producer = _ck_producer(bootstrap, transactional_id, timeout_ms)
        for commit, messages in plan:
            producer.begin_transaction()
            for m in messages:
                producer.produce(topic, key=m.key, value=m.value, partition=m.partition if m.partition is not None
                                 else -1)
            assert producer.flush(TIMEOUT_S) == 0
            (producer.commit_transaction if commit else producer.abort_transaction)(TIMEOUT_S)
        return
    if client == "kafka-python":
        producer = _kp_producer(bootstrap, transactional_id, timeout_ms)
        try:
            for commit, messages in plan:
                producer.begin_transaction()
                for m in messages:
                    producer.send(topic, key=m.key, value=m.value, partition=m.partition)
                producer.flush(TIMEOUT_S)
                (producer.commit_transaction if commit else producer.abort_transaction)()
        finally:
            producer.close(timeout=10)
        return
    if client == "aiokafka":
        asyncio.run(_aio_transactions(bootstrap, topic, transactional_id, plan, timeout_ms))
        return
    raise ValueError(client)


async def _aio_transactions(bootstrap, topic, transactional_id, plan, timeout_ms):
    producer = await _aio_producer(bootstrap, transactional_id, timeout_ms)
    try:
        for commit, messages in plan:
            await producer.begin_transaction()
            futures = [await producer.send(topic, key=m.key, value=m.value, partition=m.partition) for m in messages]
            await asyncio.gather(*futures)
            await (producer.commit_transaction() if commit else producer.abort_transaction())
    finally:
        await producer.stop()


def _ck_producer(bootstrap, transactional_id, timeout_ms):
    from confluent_kafka import Producer
    producer = Producer({"bootstrap.servers": bootstrap, "transactional.id": transactional_id,
                         "transaction.timeout.ms": timeout_ms, "linger.ms": 5, "retry.backoff.ms": 20,
                         "reconnect.backoff.ms": 20, "reconnect.backoff.max.ms": 200})
    producer.init_transactions(TIMEOUT_S)
    return producer


def _kp_producer(bootstrap, transactional_id, timeout_ms):
    from kafka import KafkaProducer
    producer = KafkaProducer(bootstrap_servers=bootstrap, transactional_id=transactional_id,
                             transaction_timeout_ms=timeout_ms, linger_ms=5, retry_backoff_ms=20,
                             reconnect_backoff_ms=20, request_timeout_ms=10000)
    producer.init_transactions()
    return producer


async def _aio_producer(bootstrap, transactional_id, timeout_ms):
    from aiokafka import AIOKafkaProducer
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, transactional_id=transactional_id,
                                transaction_timeout_ms=timeout_ms, linger_ms=5, retry_backoff_ms=20,
                                request_timeout_ms=10000)
    await producer.start()
    return producer


# ----------------------------------------------------------------------------- consume-transform-produce


def copy(client: str, bootstrap: str, source: str, target: str, group: str, partitions: int,
         transactional_id: str, per_transaction: int, end_offsets: list[int]) -> None:
    """Copy ``source`` up to ``end_offsets`` into ``target``, exactly once (see the module docstring)."""
    if client == "confluent":
        _ck_copy(bootstrap, source, target, group, partitions, transactional_id, per_transaction, end_offsets)
    elif client == "kafka-python":
        _kp_copy(bootstrap, source, target, group, partitions, transactional_id, per_transaction, end_offsets)
    elif client == "aiokafka":
        asyncio.run(_aio_copy(bootstrap, source, target, group, partitions, transactional_id, per_transaction,
                              end_offsets))
    else:
        raise ValueError(client)


def _ck_copy(bootstrap, source, target, group, partitions, transactional_id, per_transaction, end_offsets):
    from confluent_kafka import Consumer, TopicPartition
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": group, "isolation.level": "read_committed",
                         "enable.auto.commit": False, "auto.offset.reset": "earliest", "fetch.wait.max.ms": 50})
    producer = _ck_producer(bootstrap, transactional_id, 10000)
    consumer.assign([TopicPartition(source, p) for p in range(partitions)])
    positions = dict.fromkeys(range(partitions), 0)
    deadline = time.monotonic() + 60
    while any(positions[p] < end_offsets[p] for p in positions) and time.monotonic() < deadline:
        messages = [m for m in consumer.consume(per_transaction, timeout=0.5) if m.error() is None]
        if not messages:
            continue
        producer.begin_transaction()
        for m in messages:
            producer.produce(target, key=m.key(), value=m.value().upper(), partition=m.partition())
            positions[m.partition()] = m.offset() + 1
        producer.send_offsets_to_transaction(
            [TopicPartition(source, p, offset) for p, offset in positions.items() if offset],
            consumer.consumer_group_metadata(), TIMEOUT_S)
        producer.commit_transaction(TIMEOUT_S)
    consumer.close()


def _kp_copy(bootstrap, source, target, group, partitions, transactional_id, per_transaction, end_offsets):
    from kafka import KafkaConsumer, OffsetAndMetadata, TopicPartition
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, group_id=group, isolation_level="read_committed",
                             enable_auto_commit=False, auto_offset_reset="earliest", fetch_max_wait_ms=50,
                             request_timeout_ms=10000)
    producer = _kp_producer(bootstrap, transactional_id, 10000)
    try:
        consumer.assign([TopicPartition(source, p) for p in range(partitions)])
        positions = dict.fromkeys(range(partitions), 0)
        deadline = time.monotonic() + 60
        while any(positions[p] < end_offsets[p] for p in positions) and time.monotonic() < deadline:
            batches = consumer.poll(timeout_ms=500, max_records=per_transaction)
            messages = [m for records in batches.values() for m in records]
            if not messages:
                continue
            producer.begin_transaction()
            for m in messages:
                producer.send(target, key=m.key, value=m.value.upper(), partition=m.partition)
                positions[m.partition] = m.offset + 1
            producer.send_offsets_to_transaction(
                {TopicPartition(source, p): OffsetAndMetadata(o, "", -1) for p, o in positions.items() if o},
                consumer.group_metadata())
            producer.commit_transaction()
    finally:
        producer.close(timeout=10)
        consumer.close()


async def _aio_copy(bootstrap, source, target, group, partitions, transactional_id, per_transaction, end_offsets):
    from aiokafka import AIOKafkaConsumer, TopicPartition
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=group, isolation_level="read_committed",
                                enable_auto_commit=False, auto_offset_reset="earliest", fetch_max_wait_ms=50,
                                request_timeout_ms=10000)
    await consumer.start()
    producer = await _aio_producer(bootstrap, transactional_id, 10000)
    try:
        consumer.assign([TopicPartition(source, p) for p in range(partitions)])
        positions = dict.fromkeys(range(partitions), 0)
        deadline = time.monotonic() + 60
        while any(positions[p] < end_offsets[p] for p in positions) and time.monotonic() < deadline:
            batches = await consumer.getmany(timeout_ms=500, max_records=per_transaction)
            messages = [m for records in batches.values() for m in records]
            if not messages:
                continue
            async with producer.transaction():
                futures = []
                for m in messages:
                    futures.append(await producer.send(target, key=m.key, value=m.value.upper(),
                                                       partition=m.partition))
                    positions[m.partition] = m.offset + 1
                await asyncio.gather(*futures)
                await producer.send_offsets_to_transaction(
                    {TopicPartition(source, p): o for p, o in positions.items() if o}, group)
    finally:
        await producer.stop()
        await consumer.stop()


# ----------------------------------------------------------------------------- fencing


def fence(client: str, bootstrap: str, topic: str, transactional_id: str) -> str:
    """The error class the fenced producer's commit raises (see the module docstring)."""
    if client == "confluent":
        zombie = _ck_producer(bootstrap, transactional_id, 10000)
        zombie.begin_transaction()
        zombie.produce(topic, value=b"zombie", partition=0)
        zombie.flush(TIMEOUT_S)
        fresh = _ck_producer(bootstrap, transactional_id, 10000)
        try:
            zombie.commit_transaction(TIMEOUT_S)
        except Exception as exc:
            error = exc.args[0]
            name = f"{type(exc).__name__}:{error.name()}:fatal={error.fatal()}"
        else:
            name = "no error"
        fresh.begin_transaction()
        fresh.produce(topic, value=b"fresh", partition=0)
        fresh.commit_transaction(TIMEOUT_S)
        return name
    if client == "kafka-python":
        zombie = _kp_producer(bootstrap, transactional_id, 10000)
        zombie.begin_transaction()
        zombie.send(topic, value=b"zombie", partition=0)
        zombie.flush(TIMEOUT_S)
        fresh = _kp_producer(bootstrap, transactional_id, 10000)
        try:
            zombie.commit_transaction()
        except Exception as exc:
            name = type(exc).__name__
        else:
            name = "no error"
        finally:
            zombie.close(timeout=5)
        fresh.begin_transaction()
        fresh.send(topic, value=b"fresh", partition=0)
        fresh.commit_transaction()
        fresh.close(timeout=10)
        return name
    if client == "aiokafka":
        return asyncio.run(_aio_fence(bootstrap, topic, transactional_id))
    raise ValueError(client)


async def _aio_fence(bootstrap, topic, transactional_id):
    zombie = await _aio_producer(bootstrap, transactional_id, 10000)
    await zombie.begin_transaction()
    await zombie.send_and_wait(topic, value=b"zombie", partition=0)
    fresh = await _aio_producer(bootstrap, transactional_id, 10000)
    try:
        await zombie.commit_transaction()
    except Exception as exc:
        name = type(exc).__name__
    else:
        name = "no error"
    try:
        await zombie.stop()
    except Exception:
        pass
    async with fresh.transaction():
        await fresh.send_and_wait(topic, value=b"fresh", partition=0)
    await fresh.stop()
    return name


# ----------------------------------------------------------------------------- a restart in the middle


def open_then_commit(client: str, bootstrap: str, topic: str, transactional_id: str, values: list[bytes],
                     meanwhile: Callable[[], None]) -> None:
    if client == "confluent":
        producer = _ck_producer(bootstrap, transactional_id, 30000)
        producer.begin_transaction()
        for v in values:
            producer.produce(topic, value=v, partition=0)
        assert producer.flush(TIMEOUT_S) == 0
        meanwhile()
        producer.commit_transaction(TIMEOUT_S)
    elif client == "kafka-python":
        producer = _kp_producer(bootstrap, transactional_id, 30000)
        producer.begin_transaction()
        for v in values:
            producer.send(topic, value=v, partition=0)
        producer.flush(TIMEOUT_S)
        meanwhile()
        producer.commit_transaction()
        producer.close(timeout=10)
    elif client == "aiokafka":
        async def run():
            producer = await _aio_producer(bootstrap, transactional_id, 30000)
            await producer.begin_transaction()
            for v in values:
                await producer.send_and_wait(topic, value=v, partition=0)
            await asyncio.get_running_loop().run_in_executor(None, meanwhile)
            await producer.commit_transaction()
            await producer.stop()
        asyncio.run(run())
    else:
        raise ValueError(client)


# ----------------------------------------------------------------------------- a producer to kill


def zombie(client: str, bootstrap: str, topic: str, transactional_id: str, timeout_ms: int) -> None:
    """Begin, send ``doomed-0..4`` to partition 0, flush, say "ready", and wait to be killed."""
    values = [b"doomed-%d" % i for i in range(5)]
    if client == "confluent":
        producer = _ck_producer(bootstrap, transactional_id, timeout_ms)
        producer.begin_transaction()
        for v in values:
            producer.produce(topic, value=v, partition=0)
        assert producer.flush(TIMEOUT_S) == 0
    elif client == "kafka-python":
        producer = _kp_producer(bootstrap, transactional_id, timeout_ms)
        producer.begin_transaction()
        for v in values:
            producer.send(topic, value=v, partition=0)
        producer.flush(TIMEOUT_S)
    elif client == "aiokafka":
        async def run():
            producer = await _aio_producer(bootstrap, transactional_id, timeout_ms)
            await producer.begin_transaction()
            for v in values:
                await producer.send_and_wait(topic, value=v, partition=0)
            print("ready", flush=True)
            await asyncio.sleep(600)
        asyncio.run(run())
    print("ready", flush=True)
    time.sleep(600)


if __name__ == "__main__":
    kind, client, bootstrap, topic, transactional_id, timeout_ms = sys.argv[1:]
    assert kind == "zombie"
    zombie(client, bootstrap, topic, transactional_id, int(timeout_ms))
