"""Transaction workloads: transactional vs idempotent produce, the commit round trip, and
read_committed vs read_uncommitted consume of a log with aborted transactions."""

from __future__ import annotations

import socket
import statistics
import time
import uuid

from confluent_kafka import Producer

from bench.workloads import CpuMeter, consume, create_topic, send
from kproto.codec import decode_response, encode_request
from kproto.messages import ADD_PARTITIONS_TO_TXN, END_TXN, FIND_COORDINATOR, INIT_PRODUCER_ID, PRODUCE
from storage import Record, build_batch


def _transactional_producer(bootstrap: str, **conf) -> Producer:
    producer = Producer({"bootstrap.servers": bootstrap, "transactional.id": f"bench-{uuid.uuid4().hex[:8]}",
                         "acks": "all", **conf})
    producer.init_transactions(30)
    return producer


def _idempotent_run(producer: Producer, topic: str, count: int, value: bytes) -> float:
    start = time.perf_counter()
    for _ in range(count):
        send(producer, topic, value)
    if producer.flush(120):
        raise RuntimeError("idempotent produce did not finish")
    return time.perf_counter() - start


def _transactional_run(producer: Producer, topic: str, count: int, value: bytes, per_transaction: int) -> float:
    start = time.perf_counter()
    for first in range(0, count, per_transaction):
        producer.begin_transaction()
        for _ in range(min(per_transaction, count - first)):
            send(producer, topic, value)
        producer.commit_transaction(60)
    return time.perf_counter() - start


def txn_vs_idempotent(broker, count: int = 200_000, size: int = 100, per_transaction: int = 1000, **conf) -> dict:
    """``count`` values of ``size`` bytes, idempotent and in transactions of ``per_transaction``
    (acks=all and the same batching for both: librdkafka's default, or ``conf``), twice each,
    alternating, after a warm-up: msgs/s of each (the better of two) and their ratio."""
    value = b"x" * size
    topic = create_topic(broker.bootstrap)
    idempotent = Producer({"bootstrap.servers": broker.bootstrap, "enable.idempotence": True, "acks": "all", **conf})
    transactional = _transactional_producer(broker.bootstrap, **conf)
    _idempotent_run(idempotent, topic, count // 10, value)   # warm-up: connections, the first pages of the log
    idempotent_s, txn_s, cpu_s = [], [], 0.0
    for _ in range(2):
        idempotent_s.append(_idempotent_run(idempotent, topic, count, value))
        with CpuMeter(broker.pid) as cpu:
            txn_s.append(_transactional_run(transactional, topic, count, value, per_transaction))
        cpu_s += cpu.seconds
    return {"txn msgs/s": count / min(txn_s), "idempotent msgs/s": count / min(idempotent_s),
            "txn / idempotent": min(idempotent_s) / min(txn_s), "broker cores": cpu_s / sum(txn_s)}


def _request(sock: socket.socket, message, version: int, body: dict) -> dict:
    sock.sendall(encode_request(message, version, 1, body, "kbroker-bench"))
    size = int.from_bytes(sock.recv(4, socket.MSG_WAITALL), "big")
    return decode_response(sock.recv(size, socket.MSG_WAITALL), message, version)[1]


def commit_round_trip(broker, partitions: int = 10, transactions: int = 300) -> dict:
    """Raw frames: each transaction adds ``partitions`` partitions, writes one small batch to each
    (one Produce request), and commits; the EndTxn round trip is timed: p50 / p99 ms."""
    topic = create_topic(broker.bootstrap, partitions)
    transactional_id = f"bench-{uuid.uuid4().hex[:8]}"
    host, _, port = broker.bootstrap.rpartition(":")
    sock = socket.create_connection((host, int(port)))
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    _request(sock, FIND_COORDINATOR, 3, {"key": transactional_id, "key_type": 1})
    init = _request(sock, INIT_PRODUCER_ID, 4, {"transactional_id": transactional_id,
                                                 "transaction_timeout_ms": 60000, "producer_id": -1,
                                                 "producer_epoch": -1})
    producer_id, epoch = init["producer_id"], init["producer_epoch"]
    ids = {"producer_id": producer_id, "producer_epoch": epoch}
    add = {"v3_and_below_transactional_id": transactional_id, "v3_and_below_producer_id": producer_id,
           "v3_and_below_producer_epoch": epoch,
           "v3_and_below_topics": [{"name": topic, "partitions": list(range(partitions))}]}
    times = []
    with CpuMeter(broker.pid) as cpu:
        for n in range(transactions):
            _request(sock, ADD_PARTITIONS_TO_TXN, 3, add)
            data = [{"index": p, "records": build_batch([Record(timestamp=1, value=b"v" * 100)], base_sequence=n,
                                                       is_transactional=True, **ids)}
                    for p in range(partitions)]
            answer = _request(sock, PRODUCE, 9, {"transactional_id": transactional_id, "acks": -1, "timeout_ms": 5000,
                                                 "topic_data": [{"name": topic, "partition_data": data}]})
            assert all(p["error_code"] == 0 for p in answer["responses"][0]["partition_responses"]), answer
            start = time.perf_counter()
            code = _request(sock, END_TXN, 3, {"transactional_id": transactional_id, "committed": True, **ids})
            times.append(time.perf_counter() - start)
            assert code["error_code"] == 0, code
    sock.close()
    times.sort()
    return {"EndTxn p50 ms": statistics.median(times) * 1e3, "EndTxn p99 ms": times[int(len(times) * 0.99)] * 1e3,
            "broker µs/transaction": cpu.seconds / transactions * 1e6}


def read_committed_consume(broker, count: int = 200_000, size: int = 100, per_transaction: int = 1000,
                           abort_every: int = 10) -> dict:
    """A partition of ``count`` records written in transactions of ``per_transaction``, one in
    ``abort_every`` aborted; read whole from the start, read_uncommitted and read_committed, twice
    each, alternating: log records/s of each (the time to read the partition to its end; the better
    of two) and their ratio."""
    topic = create_topic(broker.bootstrap)
    value = b"x" * size
    producer = _transactional_producer(broker.bootstrap)
    for n, first in enumerate(range(0, count, per_transaction)):
        producer.begin_transaction()
        for _ in range(min(per_transaction, count - first)):
            send(producer, topic, value)
        if n % abort_every == abort_every - 1:
            producer.flush(60)
            producer.abort_transaction(60)
        else:
            producer.commit_transaction(60)
    committed = count - (count // per_transaction // abort_every) * per_transaction
    # librdkafka pauses fetching for fetch.queue.backoff.ms (1 s) when its queue is full, which the
    # reading loop here makes happen now and then: a short pause keeps the broker measured, not the pause
    conf = {"fetch.queue.backoff.ms": 10}
    uncommitted_s, committed_s, cpu_s = [], [], 0.0
    for _ in range(2):
        uncommitted_s.append(consume(broker.bootstrap, topic, count, **conf,
                                     **{"isolation.level": "read_uncommitted"})[1])
        with CpuMeter(broker.pid) as cpu:
            committed_s.append(consume(broker.bootstrap, topic, committed, **conf,
                                       **{"isolation.level": "read_committed"})[1])
        cpu_s += cpu.seconds
    return {"read_committed log msgs/s": count / min(committed_s), "read_uncommitted log msgs/s": count / min(uncommitted_s),
            "committed / uncommitted": min(uncommitted_s) / min(committed_s), "broker cores": cpu_s / sum(committed_s)}
