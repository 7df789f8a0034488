"""What Kafka persists of a classic group: the content of its GroupMetadata record.

The coordinator takes a ``GroupSnapshot`` whenever Kafka writes a GroupMetadata record
(GroupMetadataManager / GroupCoordinatorRecordHelpers.newGroupMetadataRecord): when
the leader's SyncGroup stores a generation's assignment, when a static member is
replaced in a Stable group without a rebalance, and when a rebalance leaves the
group Empty. A deleted group is a tombstone (``None``). At start the last snapshot of
each group is handed back to ``GroupCoordinator.load_group``, which rebuilds the
group as Kafka's ``replay(GroupMetadataKey, GroupMetadataValue)`` does.

Plain values only: encoding them as records is the offsets layer's business.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class MemberSnapshot:
    member_id: str
    group_instance_id: str | None
    client_id: str
    client_host: str
    # -1 in a GroupMetadataValue v0 (none recorded): the session timeout is used.
    rebalance_timeout_ms: int
    session_timeout_ms: int
    # The member's metadata for the group's selected protocol.
    subscription: bytes
    assignment: bytes


@dataclass(frozen=True, slots=True)
class GroupSnapshot:
    group_id: str
    # None for a group without one (written as "", as Kafka does).
    protocol_type: str | None
    generation_id: int
    protocol_name: str | None
    leader_id: str | None
    # When the group entered its current state; None when not recorded (v0/v1 values).
    state_timestamp_ms: int | None
    members: tuple[MemberSnapshot, ...] = ()


# (group id, its snapshot) or (group id, None): the group was deleted.
GroupChange = tuple[str, GroupSnapshot | None]


# -- a group moving between the classic and the KIP-848 coordinators (online migration) --

@dataclass(frozen=True, slots=True)
class MigratingMember:
    """One member as the other coordinator takes it over: all its JoinGroup protocols, and
    its assignment (upgrade: the classic ConsumerProtocolAssignment bytes; downgrade: its
    target partitions by topic name, encoded by the classic side for the selected protocol)."""
    member_id: str
    group_instance_id: str | None
    client_id: str
    client_host: str
    rebalance_timeout_ms: int
    session_timeout_ms: int
    protocols: tuple[tuple[str, bytes], ...]
    assignment: bytes = b""
    target: tuple[tuple[str, tuple[int, ...]], ...] = ()


@dataclass(frozen=True, slots=True)
class MigratingGroup:
    """A group handed from one coordinator to the other: its generation (a consumer
    group's epoch), its selected protocol (classic side) and members; a downgraded group
    rebalances unless a static member's new incarnation took its place with the same subscription."""
    group_id: str
    generation_id: int
    protocol_name: str | None
    members: tuple[MigratingMember, ...]
    rebalance: bool = True
