"""The server-side assignors of KIP-848 consumer groups: ``uniform`` and ``range``.

An assignor maps each member to the partitions it should own (the group's target
assignment), given each member's subscribed topic ids, the partition count of every
subscribed topic, and the current target assignment (so that it can be sticky).
Assignments are ``{topic_id: frozenset(partitions)}``; topic ids are ``uuid.UUID``.

``uniform`` (Kafka's default, UniformAssignor): every partition goes to one subscribed
member, members get as equal a share as their subscriptions allow, and a partition
stays with its current owner while that owner is within its share. ``range``
(RangeAssignor): per topic, the subscribed members in member-id order take contiguous
ranges, the first ``partitions % members`` one more each, as the classic range assignor.
"""

from __future__ import annotations

import uuid
from typing import Callable, Mapping

Assignment = dict[uuid.UUID, frozenset[int]]
Subscriptions = Mapping[str, frozenset[uuid.UUID]]       # member id -> subscribed topic ids
TopicPartitions = Mapping[uuid.UUID, int]                # topic id -> partition count
Assignor = Callable[[Subscriptions, TopicPartitions, Mapping[str, Assignment]], dict[str, Assignment]]


def _freeze(owned: dict[str, dict[uuid.UUID, set[int]]]) -> dict[str, Assignment]:
    return {member: {t: frozenset(p) for t, p in topics.items() if p} for member, topics in owned.items()}


def uniform(subscriptions: Subscriptions, topics: TopicPartitions,
            current: Mapping[str, Assignment]) -> dict[str, Assignment]:
    """Balanced and sticky: each partition to one of its subscribers, owners kept within share."""
    members = sorted(subscriptions)
    owned: dict[str, dict[uuid.UUID, set[int]]] = {m: {} for m in members}
    if not members:
        return {}
    partitions = [(t, p) for t in sorted(topics, key=str) for p in range(topics[t])
                  if any(t in subscriptions[m] for m in members)]
    # A member's share: the partitions it can take, spread evenly over the members that
    # could take each one (exact for equal subscriptions, a fair bound for unequal ones).
    share = {m: 0.0 for m in members}
    subscribers: dict[uuid.UUID, list[str]] = {t: [m for m in members if t in subscriptions[m]] for t in topics}
    for t, _ in partitions:
        for m in subscribers[t]:
            share[m] += 1 / len(subscribers[t])
    quota = {m: int(share[m]) + (1 if share[m] % 1 > 1e-9 else 0) for m in members}
    floor = {m: int(share[m] + 1e-9) for m in members}
    count = {m: 0 for m in members}
    unassigned = []
    previous = {}
    for m, assignment in current.items():
        for t, parts in assignment.items():
            for p in parts:
                previous[(t, p)] = m
    for t, p in partitions:
        owner = previous.get((t, p))
        if owner in owned and t in subscriptions[owner] and count[owner] < floor[owner]:
            owned[owner].setdefault(t, set()).add(p)
            count[owner] += 1
        else:
            unassigned.append((t, p))
    leftover = []
    for t, p in unassigned:   # owners may keep one more, up to their quota
        owner = previous.get((t, p))
        if owner in owned and t in subscriptions[owner] and count[owner] < quota[owner] and \
                sum(1 for m in members if count[m] < floor[m]) == 0:
            owned[owner].setdefault(t, set()).add(p)
            count[owner] += 1
        else:
            leftover.append((t, p))
    for t, p in leftover:
        candidates = subscribers[t]
        m = min(candidates, key=lambda m: (count[m] - floor[m] >= 0, count[m], m))
        owned[m].setdefault(t, set()).add(p)
        count[m] += 1
    return _freeze(owned)


def range_(subscriptions: Subscriptions, topics: TopicPartitions,
           current: Mapping[str, Assignment]) -> dict[str, Assignment]:
    """Per topic, contiguous ranges to the subscribed members in member-id order."""
    owned: dict[str, dict[uuid.UUID, set[int]]] = {m: {} for m in subscriptions}
    for t, count in topics.items():
        members = sorted(m for m in subscriptions if t in subscriptions[m])
        if not members:
            continue
        each, extra = divmod(count, len(members))
        start = 0
        for i, m in enumerate(members):
            n = each + (1 if i < extra else 0)
            if n:
                owned[m][t] = set(range(start, start + n))
            start += n
    return _freeze(owned)


ASSIGNORS: dict[str, Assignor] = {"uniform": uniform, "range": range_}
