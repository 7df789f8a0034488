"""The rebalance machinery of the classic group protocol: join, sync and their timers.

A faithful re-telling of the classic-group part of Kafka's GroupMetadataManager
(group-coordinator module): classicGroupJoin* / prepareRebalance /
completeClassicGroupJoin / classicGroupSync / the heartbeat, join and sync
expirations. ``GroupCoordinator`` (coordinator.py) inherits this and adds the public
API; everything here runs at ``self._now_ms`` and appends answered tokens to
``self._out``.

Timer keys (one live timer per key, as in Kafka):
  ("heartbeat", group_id, member_id)  session / new-member / pending-member expiry
  ("join", group_id)                  end of the join phase (or the initial delay)
  ("sync", group_id)                  members that joined but never synced
A timer's payload is ``(TimerKind, *arguments)``; ``_timer_actions`` maps each kind to
the method that acts when it fires, called with the group and those arguments.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import Callable, Hashable

from kproto.errors import ErrorCode

from .config import GroupConfig
from .group import ClassicGroup, GroupState
from .member import ClassicGroupMember, Protocols
from .responses import Completions, join_response, sync_response
from .snapshot import GroupChange
from .timers import TimerQueue

S = GroupState


class TimerKind(Enum):
    """What a timer does when its deadline passes (Kafka's delayed operations)."""
    EXPIRE_HEARTBEAT = "expire heartbeat"   # (member_id): its session, or a new/pending member's wait
    COMPLETE_JOIN = "complete join"         # (): the rebalance timeout ends the join phase
    INITIAL_JOIN = "initial join"           # (delay_ms, remaining_ms): group.initial.rebalance.delay.ms
    EXPIRE_SYNC = "expire sync"             # (generation_id): members that joined but never synced


@dataclass(frozen=True)
class JoinRequest:
    group_id: str | None
    member_id: str
    group_instance_id: str | None
    client_id: str
    client_host: str
    session_timeout_ms: int
    rebalance_timeout_ms: int
    protocol_type: str
    protocols: Protocols
    require_known_member_id: bool
    supports_skip_assignment: bool


class Rebalancer:
    _config: GroupConfig
    _groups: dict[str, ClassicGroup]
    _timers: TimerQueue
    _now_ms: int
    _out: Completions
    _new_member_id: Callable[[str], str]
    _group_changes: list[GroupChange]
    _on_timer: dict[TimerKind, Callable[..., None]]

    # -- persistence -----------------------------------------------------------

    def _store_group(self, group: ClassicGroup) -> None:
        """Kafka appends a GroupMetadata record here (storeGroup); the caller of the
        public API takes it with ``take_group_changes`` and writes it before it answers."""
        self._group_changes.append((group.group_id, group.snapshot()))

    # -- timers ------------------------------------------------------------

    def _schedule_heartbeat(self, group: ClassicGroup, member_id: str, timeout_ms: int) -> None:
        self._timers.schedule(("heartbeat", group.group_id, member_id),
                              self._now_ms + timeout_ms, (TimerKind.EXPIRE_HEARTBEAT, member_id))

    def _reschedule_heartbeat(self, group: ClassicGroup, member: ClassicGroupMember) -> None:
        self._schedule_heartbeat(group, member.member_id, member.session_timeout_ms)

    def _cancel_heartbeat(self, group: ClassicGroup, member_id: str) -> None:
        self._timers.cancel(("heartbeat", group.group_id, member_id))

    def _timer_actions(self) -> dict[TimerKind, Callable[..., None]]:
        """The table ``_fire`` dispatches on: each kind of timer and what it does,
        as ``action(group, *arguments)``; built once per coordinator."""
        return {
            TimerKind.EXPIRE_HEARTBEAT: self._expire_heartbeat,
            TimerKind.COMPLETE_JOIN: self._complete_join,
            TimerKind.INITIAL_JOIN: self._try_complete_initial_rebalance,
            TimerKind.EXPIRE_SYNC: self._expire_pending_sync,
        }

    def _fire(self, key: tuple, payload: tuple) -> None:
        group = self._groups.get(key[1])
        if group is None:
            return
        kind, *arguments = payload
        self._on_timer[kind](group, *arguments)

    # -- join --------------------------------------------------------------

    def _join(self, token: Hashable, req: JoinRequest) -> None:
        is_unknown_member = req.member_id == ""
        group = self._groups.get(req.group_id)
        if group is None:
            if not is_unknown_member:
                self._out.append((token, join_response(
                    error_code=ErrorCode.UNKNOWN_MEMBER_ID, member_id=req.member_id)))
                return
            group = self._groups[req.group_id] = ClassicGroup(req.group_id, self._now_ms)

        if not self._accept_joining_member(group, req.member_id):
            if req.member_id:
                self._cancel_heartbeat(group, req.member_id)
            group.remove(req.member_id, self._out)
            self._out.append((token, join_response(error_code=ErrorCode.GROUP_MAX_SIZE_REACHED)))
        elif is_unknown_member:
            self._join_new_member(token, group, req)
        else:
            self._join_existing_member(token, group, req)

    def _accept_joining_member(self, group: ClassicGroup, member_id: str) -> bool:
        max_size = self._config.group_max_size
        if group.is_in(S.EMPTY, S.DEAD):
            return True
        if group.is_in(S.PREPARING_REBALANCE):
            # Counting awaiting members lets a shrunk max size kick the last rejoiners out.
            member = group.members.get(member_id)
            return (member is not None and member.is_awaiting_join) or \
                group.num_awaiting_join() < max_size
        return member_id in group.members or len(group.members) < max_size

    def _join_new_member(self, token: Hashable, group: ClassicGroup, req: JoinRequest) -> None:
        if group.is_in(S.DEAD):
            self._out.append((token, join_response(error_code=ErrorCode.COORDINATOR_NOT_AVAILABLE)))
            return
        if not group.supports_protocols(req.protocol_type, [n for n, _ in req.protocols]):
            self._out.append((token, join_response(error_code=ErrorCode.INCONSISTENT_GROUP_PROTOCOL)))
            return
        new_member_id = self._new_member_id(
            req.group_instance_id if req.group_instance_id is not None else req.client_id)
        if req.group_instance_id is not None:
            existing = group.static_member_id(req.group_instance_id)
            if existing is not None:
                self._update_static_member(token, group, req, existing, new_member_id)
            else:
                self._add_member(token, group, req, new_member_id)
        elif req.require_known_member_id:
            # JoinGroup v4+: hand out an id and wait for the member to come back with it.
            group.add_pending_member(new_member_id)
            self._schedule_heartbeat(group, new_member_id, req.session_timeout_ms)
            self._out.append((token, join_response(
                error_code=ErrorCode.MEMBER_ID_REQUIRED, member_id=new_member_id)))
        else:
            self._add_member(token, group, req, new_member_id)

    def _join_existing_member(self, token: Hashable, group: ClassicGroup, req: JoinRequest) -> None:
        member_id = req.member_id
        if group.is_in(S.DEAD):
            self._out.append((token, join_response(
                error_code=ErrorCode.COORDINATOR_NOT_AVAILABLE, member_id=member_id)))
            return
        if not group.supports_protocols(req.protocol_type, [n for n, _ in req.protocols]):
            self._out.append((token, join_response(
                error_code=ErrorCode.INCONSISTENT_GROUP_PROTOCOL, member_id=member_id)))
            return
        if group.is_pending_member(member_id):
            if req.group_instance_id is not None:
                # Kafka throws IllegalStateException here (a pending member is never static).
                self._out.append((token, join_response(
                    error_code=ErrorCode.UNKNOWN_SERVER_ERROR, member_id=member_id)))
                return
            self._add_member(token, group, req, member_id)
            return
        error = group.validate_member(member_id, req.group_instance_id)
        if error:
            self._out.append((token, join_response(error_code=error, member_id=member_id)))
            return

        member = group.members[member_id]
        if group.is_in(S.PREPARING_REBALANCE):
            self._update_member(token, group, member, req)
        elif group.is_in(S.COMPLETING_REBALANCE):
            if member.matches(req.protocols):
                # The member probably missed its join response: send it again.
                self._out.append((token, self._current_join_response(
                    group, member_id, with_members=group.is_leader(member_id))))
            else:
                self._update_member(token, group, member, req)
        elif group.is_in(S.STABLE):
            if group.is_leader(member_id) or not member.matches(req.protocols):
                # A leader's join forces a rebalance (e.g. topic metadata changed).
                self._update_member(token, group, member, req)
            else:
                self._out.append((token, self._current_join_response(
                    group, member_id, with_members=False)))
        else:
            self._out.append((token, join_response(
                error_code=ErrorCode.UNKNOWN_MEMBER_ID, member_id=member_id)))

    def _current_join_response(self, group: ClassicGroup, member_id: str, *,
                               with_members: bool, leader: str | None = None,
                               skip_assignment: bool = False) -> dict:
        return join_response(
            member_id=member_id, generation_id=group.generation_id,
            protocol_type=group.protocol_type, protocol_name=group.protocol_name,
            leader=(leader if leader is not None else group.leader_id) or "",
            skip_assignment=skip_assignment,
            members=group.join_members() if with_members else [])

    def _update_member(self, token: Hashable, group: ClassicGroup,
                       member: ClassicGroupMember, req: JoinRequest) -> None:
        group.update_member(member, req.protocols, req.rebalance_timeout_ms,
                            req.session_timeout_ms, token, self._out)
        self._maybe_prepare_rebalance_or_complete_join(group)

    def _add_member(self, token: Hashable, group: ClassicGroup, req: JoinRequest,
                    member_id: str) -> None:
        member = ClassicGroupMember(
            member_id=member_id, group_instance_id=req.group_instance_id,
            client_id=req.client_id, client_host=req.client_host,
            rebalance_timeout_ms=req.rebalance_timeout_ms,
            session_timeout_ms=req.session_timeout_ms, protocol_type=req.protocol_type,
            protocols=tuple(req.protocols), is_new=True)
        if group.is_in(S.PREPARING_REBALANCE) and group.previous_state is S.EMPTY:
            group.new_member_added = True  # extends the initial rebalance delay
        group.add(member, token)
        # A new member cannot heartbeat while its join is parked, so Kafka bounds the
        # wait by a fixed new-member timeout instead of the session timeout.
        self._schedule_heartbeat(group, member_id, self._config.group_new_member_join_timeout_ms)
        self._maybe_prepare_rebalance_or_complete_join(group)

    def _update_static_member(self, token: Hashable, group: ClassicGroup, req: JoinRequest,
                              old_member_id: str, new_member_id: str) -> None:
        current_leader = group.leader_id
        self._cancel_heartbeat(group, old_member_id)
        member = group.replace_static_member(req.group_instance_id, old_member_id,
                                             new_member_id, self._out)
        self._reschedule_heartbeat(group, member)
        group.update_member(member, req.protocols, req.rebalance_timeout_ms,
                            req.session_timeout_ms, token, self._out)
        if group.is_in(S.STABLE):
            if group.protocol_name == group.select_protocol():
                # Same protocol next generation: no rebalance, the member keeps its
                # assignment; Kafka stores the group with the new member id. From
                # JoinGroup v9 a static leader is told it leads but may skip the
                # assignment; before v9 it is told the old leader id, so that it acts
                # as a follower and does not reassign.
                if req.supports_skip_assignment:
                    is_leader = group.is_leader(new_member_id)
                    response = self._current_join_response(
                        group, new_member_id, with_members=is_leader, skip_assignment=is_leader)
                else:
                    response = self._current_join_response(
                        group, new_member_id, with_members=False, leader=current_leader)
                self._store_group(group)
                group.complete_join(member, response, self._out)
            else:
                self._maybe_prepare_rebalance_or_complete_join(group)
        elif group.is_in(S.COMPLETING_REBALANCE):
            # The leader may already be assigning for the old member id: rebalance again.
            self._prepare_rebalance(group)
        else:
            self._maybe_complete_join_phase(group)

    # -- rebalance ---------------------------------------------------------

    def _maybe_prepare_rebalance_or_complete_join(self, group: ClassicGroup) -> None:
        if group.can_rebalance():
            self._prepare_rebalance(group)
        else:
            self._maybe_complete_join_phase(group)

    def _maybe_complete_join_phase(self, group: ClassicGroup) -> None:
        if (group.is_in(S.PREPARING_REBALANCE)
                and group.previous_state is not S.EMPTY  # the initial rebalance waits its delay
                and group.has_all_members_joined()):
            self._complete_join(group)

    def _prepare_rebalance(self, group: ClassicGroup) -> None:
        if group.is_in(S.COMPLETING_REBALANCE):
            # Members parked in sync must rejoin.
            for member in group.members.values():
                member.assignment = b""
            self._propagate_assignment(group, ErrorCode.REBALANCE_IN_PROGRESS)
        group.pending_sync_members.clear()
        self._timers.cancel(("sync", group.group_id))

        is_initial = group.is_in(S.EMPTY)
        if is_initial:
            # A new group: wait group.initial.rebalance.delay.ms for more members.
            delay_ms = self._config.group_initial_rebalance_delay_ms
            remaining_ms = max(group.rebalance_timeout_ms() - delay_ms, 0)
            self._timers.schedule(("join", group.group_id), self._now_ms + delay_ms,
                                  (TimerKind.INITIAL_JOIN, delay_ms, remaining_ms))
        group.transition_to(S.PREPARING_REBALANCE, self._now_ms)
        if not is_initial:
            if group.has_all_members_joined():
                self._complete_join(group)
            else:
                self._timers.schedule(("join", group.group_id),
                                      self._now_ms + group.rebalance_timeout_ms(),
                                      (TimerKind.COMPLETE_JOIN,))

    def _try_complete_initial_rebalance(self, group: ClassicGroup, delay_ms: int,
                                        remaining_ms: int) -> None:
        """Kafka's InitialDelayedJoin: each new member extends the wait by the delay,
        never beyond the rebalance timeout taken when the rebalance began."""
        if group.new_member_added and remaining_ms != 0:
            group.new_member_added = False
            new_delay_ms = min(self._config.group_initial_rebalance_delay_ms, remaining_ms)
            new_remaining_ms = max(remaining_ms - delay_ms, 0)
            self._timers.schedule(("join", group.group_id), self._now_ms + new_delay_ms,
                                  (TimerKind.INITIAL_JOIN, new_delay_ms, new_remaining_ms))
        else:
            self._complete_join(group)

    def _complete_join(self, group: ClassicGroup) -> None:
        """End the join phase: drop dynamic members that did not rejoin, bump the
        generation, answer every parked join (the leader gets the member list)."""
        self._timers.cancel(("join", group.group_id))
        for member in group.not_yet_rejoined_members():
            if not member.is_static:
                group.remove(member.member_id, self._out)
                self._cancel_heartbeat(group, member.member_id)

        if group.is_in(S.DEAD):
            return
        if not group.maybe_elect_new_joined_leader() and group.members:
            # Nobody rejoined (only static members remain): wait another rebalance
            # timeout for session expiry to clear them out.
            self._timers.schedule(("join", group.group_id),
                                  self._now_ms + group.rebalance_timeout_ms(),
                                  (TimerKind.COMPLETE_JOIN,))
            return
        group.init_next_generation(self._now_ms)
        if group.is_in(S.EMPTY):
            self._store_group(group)  # the empty generation: no members, protocol type kept
            return
        for member in group.members.values():
            response = self._current_join_response(
                group, member.member_id, with_members=group.is_leader(member.member_id))
            group.complete_join(member, response, self._out)
            self._reschedule_heartbeat(group, member)
            member.is_new = False
            group.pending_sync_members.add(member.member_id)
        self._timers.schedule(("sync", group.group_id),
                              self._now_ms + group.rebalance_timeout_ms(),
                              (TimerKind.EXPIRE_SYNC, group.generation_id))

    # -- expirations -------------------------------------------------------

    def _expire_heartbeat(self, group: ClassicGroup, member_id: str) -> None:
        if group.is_in(S.DEAD):
            return
        if group.is_pending_member(member_id):
            group.remove(member_id, self._out)
            if group.is_in(S.PREPARING_REBALANCE) and group.has_all_members_joined():
                self._complete_join(group)
            return
        member = group.members.get(member_id)
        if member is None or member.has_satisfied_heartbeat():
            # A member parked in join/sync is not expired; it is rescheduled once answered.
            return
        self._remove_member_and_update_group(group, member)

    def _remove_member_and_update_group(self, group: ClassicGroup,
                                        member: ClassicGroupMember) -> None:
        group.complete_join(member, join_response(error_code=ErrorCode.UNKNOWN_MEMBER_ID),
                            self._out)
        group.remove(member.member_id, self._out)
        self._cancel_heartbeat(group, member.member_id)
        if group.is_in(S.STABLE, S.COMPLETING_REBALANCE):
            self._maybe_prepare_rebalance_or_complete_join(group)
        elif group.is_in(S.PREPARING_REBALANCE) and group.has_all_members_joined():
            self._complete_join(group)

    def _expire_pending_sync(self, group: ClassicGroup, generation_id: int) -> None:
        if generation_id != group.generation_id:
            return
        if group.is_in(S.COMPLETING_REBALANCE, S.STABLE) and group.pending_sync_members:
            for member_id in sorted(group.pending_sync_members, key=list(group.members).index):
                group.remove(member_id, self._out)
                self._cancel_heartbeat(group, member_id)
            self._prepare_rebalance(group)

    # -- sync --------------------------------------------------------------

    def _sync(self, token: Hashable, group: ClassicGroup, generation_id: int, member_id: str,
              group_instance_id: str | None, protocol_type: str | None,
              protocol_name: str | None, assignments: list[tuple[str, bytes]]) -> None:
        error = self._validate_sync(group, generation_id, member_id, group_instance_id,
                                    protocol_type, protocol_name)
        if error:
            self._out.append((token, sync_response(error_code=error)))
        elif group.is_in(S.PREPARING_REBALANCE):
            self._out.append((token, sync_response(error_code=ErrorCode.REBALANCE_IN_PROGRESS)))
        elif group.is_in(S.COMPLETING_REBALANCE):
            group.park_sync(group.members[member_id], token, self._out)
            self._remove_pending_sync_member(group, member_id)
            if group.is_leader(member_id):
                # Members the leader left out get an empty assignment.
                by_member = dict(assignments)
                for member in group.members.values():
                    member.assignment = by_member.get(member.member_id, b"")
                # Kafka writes the record (state timestamp still CompletingRebalance's)
                # and, once it is appended, propagates the assignment and goes Stable.
                self._store_group(group)
                self._propagate_assignment(group, ErrorCode.NONE)
                group.transition_to(S.STABLE, self._now_ms)
        elif group.is_in(S.STABLE):
            self._remove_pending_sync_member(group, member_id)
            self._out.append((token, sync_response(
                protocol_type=group.protocol_type, protocol_name=group.protocol_name,
                assignment=group.members[member_id].assignment)))

    @staticmethod
    def _validate_sync(group: ClassicGroup, generation_id: int, member_id: str,
                       group_instance_id: str | None, protocol_type: str | None,
                       protocol_name: str | None) -> ErrorCode:
        error = group.validate_generation(member_id, group_instance_id, generation_id)
        if error:
            return error
        # A null type/name in the request (SyncGroup < v5) is not checked.
        for asked, actual in ((protocol_type, group.protocol_type),
                              (protocol_name, group.protocol_name)):
            if asked is not None and actual is not None and asked != actual:
                return ErrorCode.INCONSISTENT_GROUP_PROTOCOL
        return ErrorCode.NONE

    def _remove_pending_sync_member(self, group: ClassicGroup, member_id: str) -> None:
        group.pending_sync_members.discard(member_id)
        if not group.is_in(S.COMPLETING_REBALANCE, S.STABLE) or not group.pending_sync_members:
            self._timers.cancel(("sync", group.group_id))

    def _propagate_assignment(self, group: ClassicGroup, error: ErrorCode) -> None:
        ok = error == ErrorCode.NONE
        for member in group.members.values():
            response = sync_response(
                error_code=error,
                protocol_type=group.protocol_type if ok else None,
                protocol_name=group.protocol_name if ok else None,
                assignment=member.assignment)
            if group.complete_sync(member, response, self._out):
                # A session may have lapsed while the member was parked: restart it.
                self._reschedule_heartbeat(group, member)
