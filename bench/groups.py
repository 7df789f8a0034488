"""Consumer-group timings: K consumers subscribing at once until all are assigned, then a leave."""

from __future__ import annotations

import time
import uuid

from confluent_kafka import Consumer

from bench.workloads import create_topic


def group_assignment(broker, members: int) -> dict:
    """Time for ``members`` consumers subscribing at once until every partition is assigned,
    then, after one leaves, until the others own every partition again."""
    topic = create_topic(broker.bootstrap, partitions=max(members, 1))
    group = f"bench-group-{uuid.uuid4().hex[:6]}"
    assigned: list[set] = [set() for _ in range(members)]

    def tracker(index):
        def on_assign(consumer, partitions):
            assigned[index] = {p.partition for p in partitions}

        def on_revoke(consumer, partitions):
            assigned[index] = set()
        return on_assign, on_revoke

    consumers = [Consumer({"bootstrap.servers": broker.bootstrap, "group.id": group,
                           "session.timeout.ms": 10000, "heartbeat.interval.ms": 200,
                           "partition.assignment.strategy": "range"}) for _ in range(members)]
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
