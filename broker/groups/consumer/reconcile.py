"""Reconciliation: how a member moves towards the group's target assignment (Kafka's
CurrentAssignmentBuilder), revoking before it assigns.

A member in STABLE whose epoch is behind the target computes its next assignment: it
keeps the target's partitions it owns, must revoke the others (UNREVOKED_PARTITIONS,
same epoch, until a heartbeat reports them gone), and only then moves to the target
epoch and gets the new partitions that no other member still owns; the ones still owned
elsewhere come later (UNRELEASED_PARTITIONS).
"""

from __future__ import annotations

import uuid
from typing import Callable, Iterable

from .assignors import Assignment
from .member import ConsumerGroupMember, MemberState

PartitionEpoch = Callable[[uuid.UUID, int], int]   # -1 when no member owns the partition


def owns_any(owned: dict[uuid.UUID, list[int]] | None, partitions: Assignment) -> bool:
    """Does the member still report any of ``partitions``? Unknown (None) means yes."""
    if owned is None:
        return True
    return any(p in partitions.get(t, ()) for t, parts in owned.items() for p in parts)


def reconcile(member: ConsumerGroupMember, target_epoch: int, target: Assignment,
              partition_epoch: PartitionEpoch, owned: dict[uuid.UUID, list[int]] | None) -> ConsumerGroupMember:
    """The member after a heartbeat reporting ``owned`` (None: not reported)."""
    state = member.state
    if state is MemberState.STABLE:
        if member.member_epoch == target_epoch:
            return member
        return _next(member, member.member_epoch, target_epoch, target, partition_epoch, owned)
    if state is MemberState.UNREVOKED_PARTITIONS:
        if owns_any(owned, member.pending_revocation):
            return member
        return _next(member, member.member_epoch + 1, target_epoch, target, partition_epoch, owned)
    if state is MemberState.UNRELEASED_PARTITIONS:
        return _next(member, member.member_epoch, target_epoch, target, partition_epoch, owned)
    return _next(member, target_epoch, target_epoch, target, partition_epoch, owned)


def _next(member: ConsumerGroupMember, epoch: int, target_epoch: int, target: Assignment,
          partition_epoch: PartitionEpoch, owned: dict[uuid.UUID, list[int]] | None) -> ConsumerGroupMember:
    assigned: dict[uuid.UUID, frozenset[int]] = {}
    revoking: dict[uuid.UUID, frozenset[int]] = {}
    pending: dict[uuid.UUID, frozenset[int]] = {}
    unreleased = False
    for t in set(target) | set(member.assigned):
        wanted = target.get(t, frozenset())
        current = member.assigned.get(t, frozenset())
        keep = current & wanted
        if keep:
            assigned[t] = keep
        if current - keep:
            revoking[t] = current - keep
        free = frozenset(p for p in wanted - keep if partition_epoch(t, p) == -1)
        if len(free) != len(wanted - keep):
            unreleased = True
        if free:
            pending[t] = free
    if revoking and owns_any(owned, revoking):
        return member.with_(state=MemberState.UNREVOKED_PARTITIONS, assigned=assigned,
                            pending_revocation=revoking).with_epoch(epoch)
    for t, parts in pending.items():
        assigned[t] = assigned.get(t, frozenset()) | parts
    state = MemberState.UNRELEASED_PARTITIONS if unreleased else MemberState.STABLE
    return member.with_(state=state, assigned=assigned, pending_revocation={}).with_epoch(target_epoch)


def as_assignment(topic_partitions: Iterable[dict] | None) -> dict[uuid.UUID, list[int]] | None:
    """A heartbeat's ``topic_partitions`` as {topic id: partitions}; None stays None."""
    if topic_partitions is None:
        return None
    return {uuid.UUID(bytes=bytes(tp["topic_id"])): list(tp["partitions"]) for tp in topic_partitions}
