"""One member of a KIP-848 consumer group (Kafka's ConsumerGroupMember) and its states.

A member owns ``assigned`` partitions and may still hold ``pending_revocation`` ones it
must give up before it moves to the next epoch. ``member_epoch`` is the epoch of the
assignment it has; ``previous_member_epoch`` lets a member that missed a heartbeat
answer retry with the epoch before. A classic member (one that joined with JoinGroup,
KIP-848's upgrade path) keeps its session timeout and protocols in ``classic``.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field, replace
from enum import IntEnum

from .assignors import Assignment


class MemberState(IntEnum):
    """Kafka's MemberState values, as ConsumerGroupCurrentMemberAssignment records hold them."""
    STABLE = 0
    UNREVOKED_PARTITIONS = 1
    UNRELEASED_PARTITIONS = 2
    UNKNOWN = 127


LEAVE_GROUP_MEMBER_EPOCH = -1
LEAVE_GROUP_STATIC_MEMBER_EPOCH = -2


@dataclass(frozen=True, slots=True)
class ClassicMetadata:
    """What a member that joined with JoinGroup keeps: its session timeout and protocols."""
    session_timeout_ms: int
    protocols: tuple[tuple[str, bytes], ...]


@dataclass(frozen=True, slots=True)
class ConsumerGroupMember:
    member_id: str
    instance_id: str | None = None
    rack_id: str | None = None
    client_id: str = ""
    client_host: str = ""
    subscribed_topic_names: tuple[str, ...] = ()
    subscribed_topic_regex: str | None = None
    rebalance_timeout_ms: int = -1
    server_assignor: str | None = None
    member_epoch: int = 0
    previous_member_epoch: int = 0
    state: MemberState = MemberState.STABLE
    assigned: Assignment = field(default_factory=dict)
    pending_revocation: Assignment = field(default_factory=dict)
    classic: ClassicMetadata | None = None

    def with_(self, **changes) -> "ConsumerGroupMember":
        return replace(self, **changes)

    def with_epoch(self, epoch: int) -> "ConsumerGroupMember":
        """Kafka's updateMemberEpoch: the old epoch becomes the previous one."""
        return replace(self, previous_member_epoch=self.member_epoch, member_epoch=epoch)

    @property
    def is_classic(self) -> bool:
        return self.classic is not None

    def owned_partitions(self) -> dict[uuid.UUID, frozenset[int]]:
        """Assigned and pending revocation: what the member may still hold."""
        out = dict(self.assigned)
        for t, parts in self.pending_revocation.items():
            out[t] = out.get(t, frozenset()) | parts
        return out
