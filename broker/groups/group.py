"""One classic group: its state, members and the bookkeeping of a rebalance.

Mirrors Kafka's ClassicGroup / ClassicGroupState. The group never reads a clock:
the coordinator passes ``now_ms`` where a timestamp is recorded. Parked requests
are tokens on the members; completing one appends ``(token, response)`` to the
caller's ``out`` list.
"""

from __future__ import annotations

from collections import Counter
from enum import Enum
from typing import Hashable

from kproto.errors import ErrorCode

from . import consumer_protocol
from .member import ClassicGroupMember, Protocols
from .responses import Completions, join_response, sync_response
from .snapshot import GroupSnapshot, MemberSnapshot


class GroupState(Enum):
    EMPTY = "Empty"
    PREPARING_REBALANCE = "PreparingRebalance"
    COMPLETING_REBALANCE = "CompletingRebalance"
    STABLE = "Stable"
    DEAD = "Dead"

    def __str__(self) -> str:
        return self.value


S = GroupState

# target state -> the states a group may be in to move there (Kafka's validPreviousStates).
VALID_PREVIOUS_STATES: dict[GroupState, frozenset[GroupState]] = {
    S.EMPTY: frozenset({S.PREPARING_REBALANCE}),
    S.PREPARING_REBALANCE: frozenset({S.STABLE, S.COMPLETING_REBALANCE, S.EMPTY}),
    S.COMPLETING_REBALANCE: frozenset({S.PREPARING_REBALANCE}),
    S.STABLE: frozenset({S.COMPLETING_REBALANCE}),
    S.DEAD: frozenset({S.STABLE, S.PREPARING_REBALANCE, S.COMPLETING_REBALANCE, S.EMPTY, S.DEAD}),
}


class IllegalStateTransition(RuntimeError):
    pass


class ClassicGroup:
    def __init__(self, group_id: str, now_ms: int) -> None:
        self.group_id = group_id
        self.state = S.EMPTY
        self.previous_state = S.DEAD
        # None only for a group loaded from a record that has no state timestamp.
        self.state_timestamp_ms: int | None = now_ms
        self.protocol_type: str | None = None
        self.protocol_name: str | None = None
        self.generation_id = 0
        self.leader_id: str | None = None
        # Insertion ordered: "the first member" is the earliest still present.
        self.members: dict[str, ClassicGroupMember] = {}
        self.static_members: dict[str, str] = {}  # group_instance_id -> member_id
        self.pending_join_members: set[str] = set()
        self.pending_sync_members: set[str] = set()
        # Members with a parked join (Kafka's numMembersAwaitingJoinResponse); every
        # change of a member's join_token goes through this class to keep it exact.
        self._num_awaiting_join = 0
        self.supported_protocols: Counter[str] = Counter()
        self.subscribed_topics: frozenset[str] | None = None
        # Set when a member joins during the initial (delayed) rebalance.
        self.new_member_added = False

    # -- state -------------------------------------------------------------

    def is_in(self, *states: GroupState) -> bool:
        return self.state in states

    def transition_to(self, target: GroupState, now_ms: int) -> None:
        if self.state not in VALID_PREVIOUS_STATES[target]:
            raise IllegalStateTransition(
                f"group {self.group_id!r} cannot move from {self.state} to {target}")
        self.previous_state = self.state
        self.state = target
        self.state_timestamp_ms = now_ms

    def can_rebalance(self) -> bool:
        return self.state in VALID_PREVIOUS_STATES[S.PREPARING_REBALANCE]

    # -- membership --------------------------------------------------------

    def is_leader(self, member_id: str) -> bool:
        return self.leader_id is not None and self.leader_id == member_id

    def add(self, member: ClassicGroupMember, join_token: Hashable | None = None) -> None:
        if member.group_instance_id in self.static_members:
            raise ValueError(f"static member {member.group_instance_id!r} already in group")
        if self.members and self.protocol_type != member.protocol_type:
            raise ValueError("the group and member's protocol type must be the same")
        if not self.supports_protocols(member.protocol_type, member.protocol_names()):
            raise ValueError("none of the member's protocols can be supported")
        if member.group_instance_id is not None:
            self.static_members[member.group_instance_id] = member.member_id
        if not self.members:
            self.protocol_type = member.protocol_type
        if self.leader_id is None:
            self.leader_id = member.member_id
        self.members[member.member_id] = member
        self.supported_protocols.update(set(member.protocol_names()))
        member.join_token = join_token
        if join_token is not None:
            self._num_awaiting_join += 1
        self.pending_join_members.discard(member.member_id)

    def remove(self, member_id: str, out: Completions) -> None:
        """Remove a member (or pending member).

        Kafka answers the parked join of a removed member (UNKNOWN_MEMBER_ID) in the
        paths that can have one; any token still parked here would otherwise never be
        answered, so it is answered the same way.
        """
        member = self.members.pop(member_id, None)
        if member is not None:
            self.supported_protocols.subtract(set(member.protocol_names()))
            self.supported_protocols += Counter()  # drop zero counts
            if member.group_instance_id is not None:
                self.static_members.pop(member.group_instance_id, None)
            self.complete_join(member, join_response(
                error_code=ErrorCode.UNKNOWN_MEMBER_ID), out)
            self.complete_sync(member, sync_response(
                error_code=ErrorCode.UNKNOWN_MEMBER_ID), out)
        if self.is_leader(member_id):
            self.leader_id = next(iter(self.members), None)
        self.pending_join_members.discard(member_id)
        self.pending_sync_members.discard(member_id)

    def maybe_elect_new_joined_leader(self) -> bool:
        """Keep the leader if it rejoined, else pick the first member that did.

        False when there is no leader (the group is empty) or nobody rejoined.
        """
        if self.leader_id is None:
            return False
        if self.members[self.leader_id].is_awaiting_join:
            return True
        for member in self.members.values():
            if member.is_awaiting_join:
                self.leader_id = member.member_id
                return True
        return False

    def replace_static_member(self, group_instance_id: str, old_member_id: str,
                              new_member_id: str, out: Completions) -> ClassicGroupMember:
        """Give a static member a new member id; the old id's parked requests are fenced."""
        old = self.members.pop(old_member_id)
        self.complete_join(old, join_response(
            error_code=ErrorCode.FENCED_INSTANCE_ID, member_id=old_member_id), out)
        self.complete_sync(old, sync_response(error_code=ErrorCode.FENCED_INSTANCE_ID), out)
        new = ClassicGroupMember(
            member_id=new_member_id, group_instance_id=old.group_instance_id,
            client_id=old.client_id, client_host=old.client_host,
            rebalance_timeout_ms=old.rebalance_timeout_ms,
            session_timeout_ms=old.session_timeout_ms, protocol_type=old.protocol_type,
            protocols=old.protocols, assignment=old.assignment)
        self.members[new_member_id] = new
        if old_member_id in self.pending_sync_members:
            # The new id owes the SyncGroup the old one did. Kafka leaves the old id in its
            # pending set, so the group rebalances when the sync timer runs out even if the
            # new id has synced; we move it, and only a member that never syncs is expired.
            self.pending_sync_members.discard(old_member_id)
            self.pending_sync_members.add(new_member_id)
        if self.is_leader(old_member_id):
            self.leader_id = new_member_id
        self.static_members[group_instance_id] = new_member_id
        return new

    def update_member(self, member: ClassicGroupMember, protocols: Protocols,
                      rebalance_timeout_ms: int, session_timeout_ms: int,
                      join_token: Hashable | None, out: Completions) -> None:
        self.supported_protocols.subtract(set(member.protocol_names()))
        member.protocols = tuple(protocols)
        self.supported_protocols.update(set(member.protocol_names()))
        self.supported_protocols += Counter()
        member.rebalance_timeout_ms = rebalance_timeout_ms
        member.session_timeout_ms = session_timeout_ms
        if member.join_token is not None and join_token is not None:
            # Kafka overwrites the parked future and never answers the first request;
            # we answer it so that no token is left waiting forever.
            out.append((member.join_token, join_response(
                error_code=ErrorCode.REBALANCE_IN_PROGRESS, member_id=member.member_id)))
        self._num_awaiting_join += (join_token is not None) - (member.join_token is not None)
        member.join_token = join_token

    def park_sync(self, member: ClassicGroupMember, token: Hashable, out: Completions) -> None:
        if member.sync_token is not None:
            # Same as update_member: answer a superseded request rather than drop it.
            out.append((member.sync_token, sync_response(
                error_code=ErrorCode.REBALANCE_IN_PROGRESS)))
        member.sync_token = token

    def is_pending_member(self, member_id: str) -> bool:
        return member_id in self.pending_join_members

    def add_pending_member(self, member_id: str) -> None:
        if member_id in self.members:
            raise ValueError(f"{member_id!r} is already a member")
        self.pending_join_members.add(member_id)

    def static_member_id(self, group_instance_id: str) -> str | None:
        return self.static_members.get(group_instance_id)

    def num_awaiting_join(self) -> int:
        return self._num_awaiting_join

    def has_all_members_joined(self) -> bool:
        return (len(self.members) == self.num_awaiting_join()
                and not self.pending_join_members)

    def not_yet_rejoined_members(self) -> list[ClassicGroupMember]:
        return [m for m in self.members.values() if not m.is_awaiting_join]

    def rebalance_timeout_ms(self) -> int:
        return max((m.rebalance_timeout_ms for m in self.members.values()), default=0)

    # -- completing parked requests ----------------------------------------

    def complete_join(self, member: ClassicGroupMember, response: dict, out: Completions) -> bool:
        if member.join_token is None:
            return False
        out.append((member.join_token, response))
        member.join_token = None
        self._num_awaiting_join -= 1
        return True

    def complete_sync(self, member: ClassicGroupMember, response: dict, out: Completions) -> bool:
        if member.sync_token is None:
            return False
        out.append((member.sync_token, response))
        member.sync_token = None
        return True

    # -- protocols and generations -----------------------------------------

    def candidate_protocols(self) -> set[str]:
        n = len(self.members)
        return {name for name, count in self.supported_protocols.items() if count == n}

    def supports_protocols(self, protocol_type: str, protocol_names: list[str]) -> bool:
        """Can a member with these protocols join? In Empty anything non-empty goes;
        otherwise the type must match and one protocol must be supported by all members."""
        if self.state is S.EMPTY:
            return bool(protocol_type) and bool(protocol_names)
        n = len(self.members)
        return (self.protocol_type is not None and self.protocol_type == protocol_type
                and any(self.supported_protocols.get(name, 0) == n for name in protocol_names))

    def select_protocol(self) -> str:
        """Each member votes for its most preferred candidate; most votes wins.

        Kafka breaks ties by hash-map order; here the protocol voted first (members in
        join order) wins a tie.
        """
        if not self.members:
            raise ValueError("cannot select a protocol for an empty group")
        candidates = self.candidate_protocols()
        votes: Counter[str] = Counter(m.vote(candidates) for m in self.members.values())
        best = max(votes.values())
        return next(name for name, count in votes.items() if count == best)

    def init_next_generation(self, now_ms: int) -> None:
        self.generation_id += 1
        if self.members:
            self.protocol_name = self.select_protocol()
            self.subscribed_topics = self.compute_subscribed_topics()
            self.transition_to(S.COMPLETING_REBALANCE, now_ms)
        else:
            self.protocol_name = None
            self.subscribed_topics = self.compute_subscribed_topics()
            self.transition_to(S.EMPTY, now_ms)
        self.pending_sync_members.clear()

    def compute_subscribed_topics(self) -> frozenset[str] | None:
        if self.protocol_type != consumer_protocol.PROTOCOL_TYPE:
            return None
        if not self.members:
            return frozenset()
        if self.protocol_name is None:
            return None
        topics: set[str] = set()
        try:
            for member in self.members.values():
                topics.update(consumer_protocol.subscribed_topics(
                    member.metadata(self.protocol_name)))
        except consumer_protocol.SubscriptionParseError:
            return None
        return frozenset(topics)

    def uses_consumer_group_protocol(self) -> bool:
        return self.protocol_type == consumer_protocol.PROTOCOL_TYPE

    def join_members(self) -> list[dict]:
        """All members as the leader's JoinGroup response lists them."""
        if self.state in (S.DEAD, S.PREPARING_REBALANCE):
            raise ValueError(f"no member metadata for group {self.group_id!r} in {self.state}")
        return [{"member_id": m.member_id, "group_instance_id": m.group_instance_id,
                 "metadata": m.metadata(self.protocol_name)} for m in self.members.values()]

    # -- validation --------------------------------------------------------

    def validate_member(self, member_id: str, group_instance_id: str | None) -> ErrorCode:
        if group_instance_id is not None:
            existing = self.static_members.get(group_instance_id)
            if existing is None:
                return ErrorCode.UNKNOWN_MEMBER_ID
            if existing != member_id:
                return ErrorCode.FENCED_INSTANCE_ID
        if member_id not in self.members:
            return ErrorCode.UNKNOWN_MEMBER_ID
        return ErrorCode.NONE

    def validate_generation(self, member_id: str, group_instance_id: str | None,
                            generation_id: int) -> ErrorCode:
        """The checks Heartbeat and SyncGroup share, in Kafka's order: a live group, a
        known member (not fenced), the current generation."""
        if self.state is S.DEAD:
            return ErrorCode.COORDINATOR_NOT_AVAILABLE
        error = self.validate_member(member_id, group_instance_id)
        if error:
            return error
        if generation_id != self.generation_id:
            return ErrorCode.ILLEGAL_GENERATION
        return ErrorCode.NONE

    def validate_offset_commit(self, member_id: str, group_instance_id: str | None,
                               generation_id: int, transactional: bool) -> ErrorCode:
        """Kafka's ClassicGroup.validateOffsetCommit."""
        if self.state is S.DEAD:
            return ErrorCode.COORDINATOR_NOT_AVAILABLE
        if generation_id < 0 and self.state is S.EMPTY:
            return ErrorCode.NONE  # admin client or a consumer without group management
        if generation_id >= 0 or member_id or group_instance_id is not None:
            error = self.validate_member(member_id, group_instance_id)
            if error:
                return error
            if generation_id != self.generation_id:
                return ErrorCode.ILLEGAL_GENERATION
        elif not transactional and self.state is not S.EMPTY:
            return ErrorCode.UNKNOWN_MEMBER_ID
        if not transactional and self.state is S.COMPLETING_REBALANCE:
            return ErrorCode.REBALANCE_IN_PROGRESS
        return ErrorCode.NONE

    def validate_delete(self) -> ErrorCode:
        if self.state is S.DEAD:
            return ErrorCode.GROUP_ID_NOT_FOUND
        if self.state is S.EMPTY:
            return ErrorCode.NONE
        return ErrorCode.NON_EMPTY_GROUP

    # -- persistence ---------------------------------------------------------

    def snapshot(self) -> GroupSnapshot:
        """What Kafka's GroupMetadata record holds of the group now (newGroupMetadataRecord):
        each member's metadata for the selected protocol and its current assignment."""
        if self.members and self.protocol_name is None:
            raise ValueError(f"group {self.group_id!r} has members but no selected protocol")
        return GroupSnapshot(
            group_id=self.group_id, protocol_type=self.protocol_type,
            generation_id=self.generation_id, protocol_name=self.protocol_name,
            leader_id=self.leader_id, state_timestamp_ms=self.state_timestamp_ms,
            members=tuple(MemberSnapshot(
                member_id=m.member_id, group_instance_id=m.group_instance_id,
                client_id=m.client_id, client_host=m.client_host,
                rebalance_timeout_ms=m.rebalance_timeout_ms,
                session_timeout_ms=m.session_timeout_ms,
                subscription=m.metadata(self.protocol_name), assignment=m.assignment)
                for m in self.members.values()))

    @classmethod
    def restore(cls, snapshot: GroupSnapshot, now_ms: int) -> "ClassicGroup":
        """The group a GroupMetadata record describes, as Kafka's replay rebuilds it:
        Stable with its members if it has any, else Empty; generation, protocol type and
        name, leader and state timestamp as recorded. Each member supports just the
        selected protocol, with its recorded subscription as metadata. Raises ValueError
        for a record Kafka could not have written."""
        members = snapshot.members
        if members:
            if not snapshot.protocol_type or snapshot.protocol_name is None:
                raise ValueError(f"group {snapshot.group_id!r}: members without a protocol")
            if snapshot.leader_id not in {m.member_id for m in members}:
                raise ValueError(f"group {snapshot.group_id!r}: leader {snapshot.leader_id!r} "
                                 "is not a member")
            if len({m.member_id for m in members}) != len(members):
                raise ValueError(f"group {snapshot.group_id!r}: a member id appears twice")
        group = cls(snapshot.group_id, now_ms)
        group.state = S.STABLE if members else S.EMPTY
        group.state_timestamp_ms = snapshot.state_timestamp_ms
        group.generation_id = snapshot.generation_id
        group.protocol_type = snapshot.protocol_type or None
        group.protocol_name = snapshot.protocol_name
        group.leader_id = snapshot.leader_id if members else None
        for m in members:
            group.add(ClassicGroupMember(
                member_id=m.member_id, group_instance_id=m.group_instance_id,
                client_id=m.client_id, client_host=m.client_host,
                # A v0 record has no rebalance timeout: Kafka takes the session timeout.
                rebalance_timeout_ms=(m.session_timeout_ms if m.rebalance_timeout_ms == -1
                                      else m.rebalance_timeout_ms),
                session_timeout_ms=m.session_timeout_ms, protocol_type=snapshot.protocol_type,
                protocols=((snapshot.protocol_name, m.subscription),),
                assignment=m.assignment))
        group.subscribed_topics = group.compute_subscribed_topics()
        return group

    # -- views -------------------------------------------------------------

    def describe(self) -> dict:
        stable = self.state is S.STABLE
        return {
            "error_code": ErrorCode.NONE,
            "group_id": self.group_id,
            "group_state": str(self.state),
            "protocol_type": self.protocol_type or "",
            "protocol_data": (self.protocol_name or "") if stable else "",
            "members": [{
                "member_id": m.member_id,
                "group_instance_id": m.group_instance_id,
                "client_id": m.client_id,
                "client_host": m.client_host,
                "member_metadata": m.metadata(self.protocol_name) if stable else b"",
                "member_assignment": m.assignment,
            } for m in self.members.values()],
        }

    def listed(self) -> dict:
        return {"group_id": self.group_id, "protocol_type": self.protocol_type or "",
                "group_state": str(self.state), "group_type": "classic"}
