"""Where a new topic's replicas go: Kafka's AdminUtils.assignReplicasToBrokers, rack-aware
when every broker has a ``broker.rack``. Pure; the start index and shift are random in
Kafka (spreading leaders of many topics), fixed here when a test gives them.

Without racks: partition ``p``'s first replica is broker ``(p + start) % n`` of the sorted
brokers, the others follow at a shift that grows every ``n`` partitions. With racks the
brokers are taken rack by rack in turn, and each further replica goes to a rack (then a
broker) the partition has no replica on yet, while there is one.
"""

from __future__ import annotations

import random


class AssignmentError(ValueError):
    """Kafka's InvalidReplicationFactorException: more replicas asked for than brokers."""


def _replica_index(first: int, shift: int, replica: int, brokers: int) -> int:
    return (first + 1 + (shift + replica) % (brokers - 1)) % brokers


def _rack_alternated(racks: dict[int, str]) -> list[int]:
    """Brokers one per rack in turn (racks and brokers in order), as Kafka's getRackAlternatedBrokerList."""
    by_rack: dict[str, list[int]] = {}
    for broker, rack in sorted(racks.items()):
        by_rack.setdefault(rack, []).append(broker)
    lists = [by_rack[rack] for rack in sorted(by_rack)]
    alternated = []
    for i in range(max(map(len, lists), default=0)):
        alternated += [brokers[i] for brokers in lists if i < len(brokers)]
    return alternated


def assign_replicas(brokers: dict[int, str | None], partitions: int, replication_factor: int, *,
                    start_partition: int = 0, start_index: int | None = None,
                    shift: int | None = None) -> dict[int, list[int]]:
    """Replicas for partitions ``start_partition .. start_partition + partitions - 1`` over
    ``brokers`` (id -> rack or None); AssignmentError if the factor exceeds the brokers."""
    if replication_factor <= 0:
        raise AssignmentError("Replication factor must be larger than 0.")
    if replication_factor > len(brokers):
        raise AssignmentError(f"Replication factor: {replication_factor} larger than available brokers: "
                              f"{len(brokers)}.")
    rack_aware = bool(brokers) and all(rack is not None for rack in brokers.values())
    ordered = _rack_alternated(brokers) if rack_aware else sorted(brokers)
    n = len(ordered)
    start = random.randrange(n) if start_index is None else start_index
    next_shift = random.randrange(n) if shift is None else shift
    racks = len(set(brokers.values())) if rack_aware else 1
    result = {}
    for partition in range(max(start_partition, 0), max(start_partition, 0) + partitions):
        if partition > 0 and partition % n == 0:
            next_shift += 1
        first = (partition + start) % n
        replicas = [ordered[first]]
        if not rack_aware:
            replicas += [ordered[_replica_index(first, next_shift, j, n)] for j in range(replication_factor - 1)]
        else:
            used_racks, k = {brokers[ordered[first]]}, 0
            for _ in range(replication_factor - 1):
                while True:
                    broker = ordered[_replica_index(first, next_shift * racks, k, n)]
                    k += 1
                    rack = brokers[broker]
                    if (rack not in used_racks or len(used_racks) == racks) and \
                            (broker not in replicas or len(replicas) == n):
                        replicas.append(broker)
                        used_racks.add(rack)
                        break
        result[partition] = replicas
    return result
