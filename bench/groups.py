"""Consumer-group timings: K consumers subscribing at once until all are assigned, then a leave;
with the classic protocol or KIP-848's (``group.protocol=consumer``). And share-group
throughput: several share consumers draining one partition."""

from __future__ import annotations

import time
import uuid

from confluent_kafka import Consumer

from bench.workloads import CpuMeter, create_topic


def group_assignment(broker, members: int, protocol: str = "classic") -> dict:
    """Time for ``members`` consumers subscribing at once until every partition is assigned,
    then, after one leaves, until the others own every partition again."""
    topic = create_topic(broker.bootstrap, partitions=max(members, 1))
    group = f"bench-group-{uuid.uuid4().hex[:6]}"
    assigned: list[set] = [set() for _ in range(members)]

    incremental = protocol == "consumer"   # KIP-848 callbacks name only what changes

    def tracker(index):
        def on_assign(consumer, partitions):
            parts = {p.partition for p in partitions}
            assigned[index] = assigned[index] | parts if incremental else parts

        def on_revoke(consumer, partitions):
            assigned[index] = assigned[index] - {p.partition for p in partitions} if incremental else set()
        return on_assign, on_revoke

    if protocol == "consumer":
        config = {"group.protocol": "consumer"}
    else:
        config = {"session.timeout.ms": 10000, "heartbeat.interval.ms": 200, "partition.assignment.strategy": "range"}
    consumers = [Consumer({"bootstrap.servers": broker.bootstrap, "group.id": group, **config})
                 for _ in range(members)]
    start = time.perf_counter()
    for index, consumer in enumerate(consumers):
        on_assign, on_revoke = tracker(index)
        consumer.subscribe([topic], on_assign=on_assign, on_revoke=on_revoke)

    def wait_all_assigned(active: list[int], deadline_s: float = 60) -> float:
        begin = time.perf_counter()
        while True:
            for index in active:
                consumers[index].poll(0.005)
            owned = [p for index in active for p in assigned[index]]
            if (all(assigned[index] for index in active) and len(owned) == members
                    and len(set(owned)) == members):
                return time.perf_counter()
            if time.perf_counter() - begin > deadline_s:
                raise RuntimeError(f"partitions never all assigned: {assigned}")

    joined = wait_all_assigned(list(range(members))) - start
    result = {"join s": joined}
    if members > 1:
        leaving = consumers[-1]
        left_at = time.perf_counter()
        leaving.close()
        assigned[-1] = set()
        result["rebalance s"] = wait_all_assigned(list(range(members - 1))) - left_at
    for consumer in consumers[:-1] if members > 1 else consumers:
        consumer.close()
    return result


def share_throughput(broker, consumers: int = 4, count: int = 200_000, size: int = 100) -> dict:
    """``consumers`` share consumers of one group draining ``count`` records of one partition
    (implicit acknowledgement: each poll accepts the previous one): records per second."""
    import threading

    from confluent_kafka import Producer, ShareConsumer

    topic = create_topic(broker.bootstrap, partitions=1)
    group = f"bench-share-{uuid.uuid4().hex[:6]}"
    members = [ShareConsumer({"bootstrap.servers": broker.bootstrap, "group.id": group}) for _ in range(consumers)]
    for member in members:
        member.subscribe([topic])
    joined_until = time.perf_counter() + 2   # join and open share sessions before anything is produced
    while time.perf_counter() < joined_until:
        for member in members:
            member.poll(0.05)
    producer = Producer({"bootstrap.servers": broker.bootstrap, "linger.ms": 5, "batch.num.messages": 500})
    payload = b"x" * size
    for _ in range(count):
        while True:
            try:
                producer.produce(topic, payload)
                break
            except BufferError:
                producer.poll(0.01)
    producer.flush()
    received = [0] * consumers
    stop = threading.Event()

    def drain(index: int) -> None:
        member = members[index]
        while not stop.is_set():
            received[index] += len(member.poll(0.1))
        member.commit_sync()

    threads = [threading.Thread(target=drain, args=(i,)) for i in range(consumers)]
    cpu = CpuMeter(broker.pid).__enter__()
    start = time.perf_counter()
    for thread in threads:
        thread.start()
    deadline = start + 120
    while sum(received) < count and time.perf_counter() < deadline:
        time.sleep(0.01)
    elapsed = time.perf_counter() - start
    cpu.__exit__()
    stop.set()
    for thread in threads:
        thread.join()
    for member in members:
        member.close()
    if sum(received) < count:
        raise RuntimeError(f"only {sum(received)} of {count} records delivered")
    return {"msgs/s": count / elapsed, "busiest share": max(received) / count,
            "broker µs/msg": cpu.seconds / count * 1e6}
