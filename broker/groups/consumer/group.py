"""One KIP-848 consumer group (Kafka's ConsumerGroup): epochs, members, the target assignment.

``group_epoch`` moves when membership or subscriptions (or the subscribed topics'
partitions) change; ``assignment_epoch`` is the epoch the target assignment was computed
for. ``partition_epochs`` says which member epoch owns each partition (assigned or
pending revocation): a partition another member still owns is not handed out.
"""

from __future__ import annotations

import uuid
from enum import Enum

from .assignors import Assignment
from .member import ConsumerGroupMember, MemberState


class ConsumerGroupState(Enum):
    EMPTY = "Empty"
    ASSIGNING = "Assigning"
    RECONCILING = "Reconciling"
    STABLE = "Stable"
    DEAD = "Dead"

    def __str__(self) -> str:
        return self.value


class ConsumerGroup:
    def __init__(self, group_id: str, now_ms: int) -> None:
        self.group_id = group_id
        self.group_epoch = 0
        self.assignment_epoch = 0
        self.members: dict[str, ConsumerGroupMember] = {}
        self.static_members: dict[str, str] = {}            # instance id -> member id
        self.target: dict[str, Assignment] = {}             # member id -> target assignment
        self.partition_epochs: dict[tuple[uuid.UUID, int], int] = {}
        # (topic name, topic id, partitions) of the subscribed topics the target was made for
        self.subscription_metadata: tuple = ()
        # regex -> the topics it resolved to when last refreshed in a member's heartbeat, as
        # that member may see them (DESCRIBE): what timers use between heartbeats
        self.resolved_regex: dict[str, frozenset[str]] = {}
        self.created_ms = now_ms

    # -- views -------------------------------------------------------------------

    @property
    def state(self) -> ConsumerGroupState:
        if not self.members:
            return ConsumerGroupState.EMPTY
        if self.group_epoch != self.assignment_epoch:
            return ConsumerGroupState.ASSIGNING
        for m in self.members.values():
            if m.member_epoch != self.assignment_epoch or m.state is not MemberState.STABLE:
                return ConsumerGroupState.RECONCILING
        return ConsumerGroupState.STABLE

    def partition_epoch(self, topic_id: uuid.UUID, partition: int) -> int:
        return self.partition_epochs.get((topic_id, partition), -1)

    def target_of(self, member_id: str) -> Assignment:
        return self.target.get(member_id, {})

    # -- membership --------------------------------------------------------------

    def put(self, member: ConsumerGroupMember) -> None:
        """Add or update a member, keeping the partition epochs and static ids in step."""
        old = self.members.get(member.member_id)
        if old is not None:
            self._release(old)
        self.members[member.member_id] = member
        if member.instance_id is not None:
            self.static_members[member.instance_id] = member.member_id
        for t, parts in member.owned_partitions().items():
            for p in parts:
                self.partition_epochs[(t, p)] = member.member_epoch

    def remove(self, member_id: str) -> ConsumerGroupMember | None:
        member = self.members.pop(member_id, None)
        if member is not None:
            self._release(member)
            if member.instance_id is not None and self.static_members.get(member.instance_id) == member_id:
                del self.static_members[member.instance_id]
        self.target.pop(member_id, None)
        return member

    def _release(self, member: ConsumerGroupMember) -> None:
        for t, parts in member.owned_partitions().items():
            for p in parts:
                if self.partition_epochs.get((t, p)) == member.member_epoch:
                    del self.partition_epochs[(t, p)]

    def subscribed_topic_names(self, resolve_regex) -> set[str]:
        names: set[str] = set()
        for m in self.members.values():
            names.update(m.subscribed_topic_names)
            if m.subscribed_topic_regex:
                names.update(resolve_regex(m.subscribed_topic_regex))
        return names
