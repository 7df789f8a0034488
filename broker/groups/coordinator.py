"""The classic group coordinator: registry of groups and its public, synchronous API.

Pure state machine: no I/O, no asyncio, no wall clock. Every mutating method takes
``now_ms``; it first fires the timers due by then (session expiry, rebalance and
initial-delay timeouts, pending-sync expiry), each at its own deadline, then handles
the request, then fires timers that became due at ``now_ms`` (a zero delay). Time
never goes backwards: an earlier ``now_ms`` than already seen is taken as the
latest seen.

JoinGroup and SyncGroup may have to wait. They take an opaque ``token`` chosen by
the caller. Every mutating method returns the *completions* it produced: a list of
``(token, response)`` for parked requests answered now, which includes the call's
own token when it is answered at once. A token that is not in the returned list
stays parked until a later call (often ``tick``) answers it. The async shell calls
``tick(now_ms)`` when ``next_deadline_ms()`` is reached.

Tokens must be unique among parked requests; each is answered exactly once. As in
Kafka, a client that disconnects while parked stays a member (its session or the
rebalance timeout deals with it): the shell just drops completions for dead
connections.

Persistence stays outside: where Kafka appends a GroupMetadata record (a generation's
assignment stored by the leader's SyncGroup, a static member replaced without a
rebalance, the group becoming Empty) or its tombstone (the group deleted), the
coordinator queues a ``GroupChange`` (snapshot.py). The shell takes them with
``take_group_changes`` after each call and writes them before it delivers the call's
completions, as Kafka answers only once the record is appended. Heartbeats queue
nothing unless a timer they fire changes a group. At start the last snapshot of each
group goes back in with ``load_group``.

Return shapes:
  join / sync / tick                   -> Completions
  heartbeat / validate_commit          -> (ErrorCode, Completions)
  leave                                -> (LeaveGroup response dict, Completions)
  delete_groups                        -> (list of {group_id, error_code}, Completions)
  maybe_delete_group                   -> (bool, Completions)
  load_group                           -> Completions (empty: nothing is parked at load)
  take_group_changes                   -> list of (group_id, GroupSnapshot | None)
  describe / list_groups / group_* / offset_expiration / is_subscribed_to_topic
                                       -> plain values, no side effects
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Callable, Hashable, Iterable, Sequence, TypeVar

from kproto.errors import ErrorCode

from .config import GroupConfig
from .group import ClassicGroup, GroupState
from .rebalance import JoinRequest, Rebalancer
from .responses import Completions, join_response, sync_response
from . import consumer_protocol
from .member import ClassicGroupMember
from .snapshot import GroupChange, GroupSnapshot, MigratingGroup, MigratingMember
from .timers import TimerQueue

S = GroupState
R = TypeVar("R")


def _default_member_id(prefix: str) -> str:
    # Kafka: clientId (or groupInstanceId for static members) + "-" + UUID.
    return f"{prefix}-{uuid.uuid4()}"


@dataclass(frozen=True)
class OffsetExpiration:
    """How offsets of a group age (Kafka's ClassicGroup.offsetExpirationCondition).

    ``empty_since_ms`` set: the group is Empty (with a protocol type); an offset
    expires ``offsets.retention.ms`` after this time. ``empty_since_ms`` None: each
    offset expires ``offsets.retention.ms`` after its own commit timestamp; this
    applies to simple groups (no protocol type, offsets committed without group
    management), to Stable "consumer" groups for topics they are not subscribed
    to (check ``is_subscribed_to_topic``), and to Empty groups loaded from a record
    without a state timestamp (GroupMetadataValue v0/v1). An offset with an explicit expire
    timestamp (OffsetCommit v2-4 retention) uses that instead.
    """
    empty_since_ms: int | None


def legacy_leave_error(response: dict) -> ErrorCode:
    """The single error LeaveGroup v0-2 carries (Kafka's LeaveGroupResponse.getError)."""
    if response["error_code"] != ErrorCode.NONE:
        return ErrorCode(response["error_code"])
    for member in response["members"]:
        if member["error_code"] != ErrorCode.NONE:
            return ErrorCode(member["error_code"])
    return ErrorCode.NONE


class GroupCoordinator(Rebalancer):
    def __init__(self, config: GroupConfig | None = None, *,
                 member_id_factory: Callable[[str], str] | None = None) -> None:
        self._config = config or GroupConfig()
        self._groups: dict[str, ClassicGroup] = {}
        self._timers = TimerQueue()
        self._now_ms = 0
        self._out: Completions = []
        self._new_member_id = member_id_factory or _default_member_id
        self._group_deleted_listeners: list[Callable[[str], None]] = []
        self._group_changes: list[GroupChange] = []
        self._in_call = False
        self._on_timer = self._timer_actions()

    @property
    def config(self) -> GroupConfig:
        return self._config

    # -- clock -------------------------------------------------------------

    def _run(self, now_ms: int, handler: Callable[[], R]) -> tuple[R, Completions]:
        """Fire the timers due by ``now_ms``, run ``handler``, fire timers that became
        due (a zero delay), and hand back the handler's result and the completions."""
        if self._in_call:
            raise RuntimeError("GroupCoordinator called re-entrantly (from a listener?)")
        self._in_call = True
        self._out = []
        try:
            self._run_due_timers(max(now_ms, self._now_ms))
            result = handler()
            self._run_due_timers(self._now_ms)
            return result, self._out
        finally:
            self._out = []
            self._in_call = False

    def _run_due_timers(self, now_ms: int) -> None:
        while (timer := self._timers.pop_due(now_ms)) is not None:
            # A timer acts at its own deadline, however late the call that runs it.
            self._now_ms = max(self._now_ms, timer.deadline_ms)
            self._fire(timer.key, timer.payload)
        self._now_ms = now_ms

    def tick(self, now_ms: int) -> Completions:
        """Fire every timer due by ``now_ms``."""
        return self._run(now_ms, lambda: None)[1]

    def next_deadline_ms(self) -> int | None:
        """The earliest time at which ``tick`` has something to do, or None."""
        return self._timers.next_deadline_ms()

    # -- JoinGroup / SyncGroup / Heartbeat / LeaveGroup --------------------

    def join(self, now_ms: int, token: Hashable, group_id: str | None, member_id: str,
             group_instance_id: str | None, client_id: str, client_host: str,
             session_timeout_ms: int, rebalance_timeout_ms: int, protocol_type: str,
             protocols: Sequence[tuple[str, bytes]], require_known_member_id: bool,
             reason: str | None = None, *, supports_skip_assignment: bool = False,
             ) -> Completions:
        """JoinGroup. ``require_known_member_id``: request version >= 4;
        ``supports_skip_assignment``: version >= 9. For v0 pass the session timeout
        as ``rebalance_timeout_ms`` (Kafka's JoinGroupRequest does). ``reason`` is
        informational only."""
        request = JoinRequest(
            group_id=group_id, member_id=member_id, group_instance_id=group_instance_id,
            client_id=client_id, client_host=client_host,
            session_timeout_ms=session_timeout_ms, rebalance_timeout_ms=rebalance_timeout_ms,
            protocol_type=protocol_type, protocols=tuple(protocols),
            require_known_member_id=require_known_member_id,
            supports_skip_assignment=supports_skip_assignment)
        return self._run(now_ms, lambda: self._join_request(token, request))[1]

    def _join_request(self, token: Hashable, request: JoinRequest) -> None:
        group_id, member_id = request.group_id, request.member_id
        session_timeout_ms = request.session_timeout_ms
        if not group_id:
            self._out.append((token, join_response(
                error_code=ErrorCode.INVALID_GROUP_ID, member_id=member_id)))
        elif not (self._config.group_min_session_timeout_ms <= session_timeout_ms
                  <= self._config.group_max_session_timeout_ms):
            self._out.append((token, join_response(
                error_code=ErrorCode.INVALID_SESSION_TIMEOUT, member_id=member_id)))
        else:
            self._join(token, request)

    def sync(self, now_ms: int, token: Hashable, group_id: str | None, generation_id: int,
             member_id: str, group_instance_id: str | None, protocol_type: str | None,
             protocol_name: str | None, assignments: Iterable[tuple[str, bytes]]) -> Completions:
        """SyncGroup. ``protocol_type`` / ``protocol_name`` None for versions < 5."""
        assignments = list(assignments)
        return self._run(now_ms, lambda: self._sync_request(
            token, group_id, generation_id, member_id, group_instance_id, protocol_type,
            protocol_name, assignments))[1]

    def _sync_request(self, token: Hashable, group_id: str | None, generation_id: int,
                      member_id: str, group_instance_id: str | None, protocol_type: str | None,
                      protocol_name: str | None, assignments: list[tuple[str, bytes]]) -> None:
        group = self._groups.get(group_id) if group_id else None
        if not group_id:
            self._out.append((token, sync_response(error_code=ErrorCode.INVALID_GROUP_ID)))
        elif group is None or group.is_in(S.EMPTY):
            self._out.append((token, sync_response(error_code=ErrorCode.UNKNOWN_MEMBER_ID)))
        else:
            self._sync(token, group, generation_id, member_id, group_instance_id,
                       protocol_type, protocol_name, assignments)

    def heartbeat(self, now_ms: int, group_id: str | None, generation_id: int, member_id: str,
                  group_instance_id: str | None) -> tuple[ErrorCode, Completions]:
        return self._run(now_ms, lambda: self._heartbeat(
            group_id, generation_id, member_id, group_instance_id))

    def _heartbeat(self, group_id: str | None, generation_id: int, member_id: str,
                   group_instance_id: str | None) -> ErrorCode:
        if not group_id:
            return ErrorCode.INVALID_GROUP_ID
        group = self._groups.get(group_id)
        if group is None:
            return ErrorCode.UNKNOWN_MEMBER_ID
        error = group.validate_generation(member_id, group_instance_id, generation_id)
        if error:
            return error
        if group.is_in(S.EMPTY):
            return ErrorCode.UNKNOWN_MEMBER_ID
        self._reschedule_heartbeat(group, group.members[member_id])
        if group.is_in(S.PREPARING_REBALANCE):
            return ErrorCode.REBALANCE_IN_PROGRESS
        # CompletingRebalance too: members may heartbeat between join and sync.
        return ErrorCode.NONE

    def leave(self, now_ms: int, group_id: str | None,
              members: Sequence[tuple[str, str | None]]) -> tuple[dict, Completions]:
        """LeaveGroup v3+: ``members`` are (member_id, group_instance_id); member_id ""
        removes a static member by instance id. Returns
        ``{"error_code", "members": [{"member_id", "group_instance_id", "error_code"}]}``.
        For v0-2 pass one (member_id, None) and answer ``legacy_leave_error(response)``."""
        return self._run(now_ms, lambda: self._leave(group_id, members))

    def _leave(self, group_id: str | None, members: Sequence[tuple[str, str | None]]) -> dict:
        def answer(member_id: str, instance_id: str | None, error: ErrorCode) -> dict:
            return {"member_id": member_id, "group_instance_id": instance_id, "error_code": error}

        if not group_id:
            return {"error_code": ErrorCode.INVALID_GROUP_ID, "members": []}
        group = self._groups.get(group_id)
        if group is None:
            return {"error_code": ErrorCode.NONE, "members": [
                answer(m, i, ErrorCode.UNKNOWN_MEMBER_ID) for m, i in members]}
        if group.is_in(S.DEAD):
            return {"error_code": ErrorCode.COORDINATOR_NOT_AVAILABLE, "members": []}

        responses = []
        for member_id, instance_id in members:
            if member_id == "":
                # Administrative removal of a static member by group instance id.
                if instance_id is not None and instance_id in group.static_members:
                    self._remove_leaving_member(group, group.static_members[instance_id])
                    responses.append(answer(member_id, instance_id, ErrorCode.NONE))
                else:
                    responses.append(answer(member_id, instance_id, ErrorCode.UNKNOWN_MEMBER_ID))
            elif group.is_pending_member(member_id):
                group.remove(member_id, self._out)
                self._cancel_heartbeat(group, member_id)
                responses.append(answer(member_id, instance_id, ErrorCode.NONE))
            else:
                error = group.validate_member(member_id, instance_id)
                if not error:
                    self._remove_leaving_member(group, member_id)
                responses.append(answer(member_id, instance_id, error))

        if any(r["error_code"] == ErrorCode.NONE for r in responses):
            if group.is_in(S.STABLE, S.COMPLETING_REBALANCE):
                self._maybe_prepare_rebalance_or_complete_join(group)
            elif group.is_in(S.PREPARING_REBALANCE):
                self._maybe_complete_join_phase(group)
        return {"error_code": ErrorCode.NONE, "members": responses}

    def _remove_leaving_member(self, group: ClassicGroup, member_id: str) -> None:
        self._cancel_heartbeat(group, member_id)
        group.complete_join(group.members[member_id],
                            join_response(error_code=ErrorCode.UNKNOWN_MEMBER_ID), self._out)
        group.remove(member_id, self._out)

    # -- OffsetCommit / OffsetFetch checks ---------------------------------

    def validate_commit(self, now_ms: int, group_id: str, generation_id: int, member_id: str,
                        group_instance_id: str | None, api_version: int, *,
                        transactional: bool = False) -> tuple[ErrorCode, Completions]:
        """May this OffsetCommit (or TxnOffsetCommit, ``transactional``) proceed?

        A commit with generation < 0 to an unknown group creates a simple (Empty,
        protocol-less) group, as Kafka does. A valid non-transactional commit counts
        as a heartbeat while the group is Stable or PreparingRebalance. ``group_id``
        "" is legal here (Kafka keeps it for old clients); None is INVALID_GROUP_ID.
        """
        return self._run(now_ms, lambda: self._validate_commit(
            group_id, generation_id, member_id, group_instance_id, api_version, transactional))

    def _validate_commit(self, group_id: str | None, generation_id: int, member_id: str,
                         group_instance_id: str | None, api_version: int,
                         transactional: bool) -> ErrorCode:
        if group_id is None:
            return ErrorCode.INVALID_GROUP_ID
        group = self._groups.get(group_id)
        if group is None:
            if generation_id < 0:
                self._groups[group_id] = ClassicGroup(group_id, self._now_ms)
                return ErrorCode.NONE
            if not transactional and api_version >= 9:
                return ErrorCode.GROUP_ID_NOT_FOUND
            return ErrorCode.ILLEGAL_GENERATION
        error = group.validate_offset_commit(member_id, group_instance_id, generation_id,
                                             transactional)
        if not error and not transactional and group.is_in(S.STABLE, S.PREPARING_REBALANCE):
            self._reschedule_heartbeat(group, group.members[member_id])
        return error

    def validate_offset_fetch(self, group_id: str | None) -> ErrorCode:
        """Kafka checks nothing for classic groups beyond a null id (v9's member id and
        epoch apply to KIP-848 consumer groups); an unknown group has no offsets."""
        return ErrorCode.INVALID_GROUP_ID if group_id is None else ErrorCode.NONE

    # -- DescribeGroups / ListGroups / DeleteGroups ------------------------

    def describe(self, group_ids: Iterable[str | None]) -> list[dict]:
        """DescribeGroups. An unknown group is described as Dead with no error."""
        result = []
        for group_id in group_ids:
            group = self._groups.get(group_id) if group_id is not None else None
            if group_id is None:
                result.append({"error_code": ErrorCode.INVALID_GROUP_ID, "group_id": None,
                               "group_state": "", "protocol_type": "", "protocol_data": "",
                               "members": []})
            elif group is None:
                result.append({"error_code": ErrorCode.NONE, "group_id": group_id,
                               "group_state": str(S.DEAD), "protocol_type": "",
                               "protocol_data": "", "members": []})
            else:
                result.append(group.describe())
        return result

    def list_groups(self, states_filter: Iterable[str] = (),
                    types_filter: Iterable[str] = ()) -> list[dict]:
        """ListGroups: filters are case-insensitive; empty means all; an unknown type
        matches nothing. Each entry: {group_id, protocol_type, group_state, group_type}."""
        states = {s.strip().lower() for s in states_filter}
        types = {t.lower() for t in types_filter}
        return [group.listed() for group in self._groups.values()
                if (not states or str(group.state).lower() in states)
                and (not types or "classic" in types)]

    def delete_groups(self, now_ms: int, group_ids: Iterable[str | None],
                      ) -> tuple[list[dict], Completions]:
        """DeleteGroups: only Empty groups; NON_EMPTY_GROUP while members remain,
        GROUP_ID_NOT_FOUND for unknown ids ("" included), INVALID_GROUP_ID for None.
        Listeners learn of each deleted group."""
        group_ids = list(group_ids)
        return self._run(now_ms, lambda: self._delete_groups(group_ids))

    def _delete_groups(self, group_ids: list[str | None]) -> list[dict]:
        results = []
        for group_id in group_ids:
            group = self._groups.get(group_id) if group_id is not None else None
            if group_id is None:
                error = ErrorCode.INVALID_GROUP_ID
            elif group is None:
                error = ErrorCode.GROUP_ID_NOT_FOUND
            else:
                error = group.validate_delete()
                if not error:
                    self._delete(group)
            results.append({"group_id": group_id, "error_code": error})
        return results

    def load_group(self, now_ms: int, group: str | GroupSnapshot) -> Completions:
        """Restore a group at start (after a restart).

        A snapshot (the group's last GroupMetadata record) rebuilds the group as Kafka's
        replay and onLoaded do: Stable with its members (each member's session timer
        starts now), or Empty with its protocol type; generation, protocol, leader and
        state timestamp as recorded. A group over ``group_max_size`` starts rebalancing
        (Kafka's onLoaded). ValueError if the group exists or the snapshot is
        inconsistent. A group id alone is a group known only from its committed offsets:
        Empty, with no protocol type, as Kafka creates a simple group when it replays
        offsets of a group without metadata; nothing happens if the group exists.
        """
        if isinstance(group, str):
            if group not in self._groups:
                self._groups[group] = ClassicGroup(group, max(now_ms, self._now_ms))
            return []
        return self._run(now_ms, lambda: self._load(group))[1]

    def _load(self, snapshot: GroupSnapshot) -> None:
        if snapshot.group_id in self._groups:
            raise ValueError(f"group {snapshot.group_id!r} is already loaded")
        group = ClassicGroup.restore(snapshot, self._now_ms)
        self._groups[group.group_id] = group
        for member in group.members.values():
            self._reschedule_heartbeat(group, member)
        if len(group.members) > self._config.group_max_size:
            # The max size may have shrunk since: rebalance to let members commit first.
            self._prepare_rebalance(group)

    def take_group_changes(self) -> list[GroupChange]:
        """The GroupMetadata records (snapshots) and tombstones (None) due since the last
        call, oldest first; the queue is emptied. Only the last of a group matters."""
        if not self._group_changes:
            return []
        changes, self._group_changes = self._group_changes, []
        return changes

    def validate_offset_delete(self, group_id: str) -> ErrorCode:
        """OffsetDelete on a group: Kafka's ClassicGroup.validateOffsetDelete. A live
        group that is not a "consumer" group cannot have offsets deleted; for a consumer
        group the check is per topic (``is_subscribed_to_topic``)."""
        group = self._groups.get(group_id)
        if group is None or group.is_in(S.DEAD):
            return ErrorCode.GROUP_ID_NOT_FOUND
        if (group.is_in(S.STABLE, S.PREPARING_REBALANCE, S.COMPLETING_REBALANCE)
                and not group.uses_consumer_group_protocol()):
            return ErrorCode.NON_EMPTY_GROUP
        return ErrorCode.NONE

    def maybe_delete_group(self, now_ms: int, group_id: str) -> tuple[bool, Completions]:
        """Delete the group if it exists and is Empty (the offsets layer calls this once
        all of a group's offsets have expired, as Kafka's cleanupGroupMetadata does)."""
        return self._run(now_ms, lambda: self._maybe_delete_group(group_id))

    def _maybe_delete_group(self, group_id: str) -> bool:
        group = self._groups.get(group_id)
        if group is None or not group.is_in(S.EMPTY):
            return False
        self._delete(group)
        return True

    def take_over_empty(self, now_ms: int, group_id: str) -> tuple[bool, Completions]:
        """Give up an Empty group so that a KIP-848 consumer group takes its id (Kafka's
        conversion): its GroupMetadata tombstone is queued; deleted-group listeners are not
        told, so its committed offsets stay. False while the group has members."""
        return self._run(now_ms, lambda: self._take_over_empty(group_id))

    def _take_over_empty(self, group_id: str) -> bool:
        group = self._groups.get(group_id)
        if group is None or not group.is_in(S.EMPTY):
            return False
        group.transition_to(S.DEAD, self._now_ms)
        del self._groups[group_id]
        self._timers.cancel_where(lambda key: key[1] == group_id)
        self._group_changes.append((group_id, None))
        return True

    # -- KIP-848's online migration (see consumer/classic.py) ----------------

    def migration_view(self, group_id: str) -> MigratingGroup | None:
        """The group with members as a consumer group would take it over (nothing changes);
        None when there is none. ``protocol_name`` is None when the group does not use the
        "consumer" embedded protocol or has not selected a protocol yet."""
        group = self._groups.get(group_id)
        if group is None or not group.members:
            return None
        protocol_name = group.protocol_name if group.uses_consumer_group_protocol() else None
        return MigratingGroup(group_id, group.generation_id, protocol_name, tuple(MigratingMember(
            member_id=m.member_id, group_instance_id=m.group_instance_id, client_id=m.client_id,
            client_host=m.client_host, rebalance_timeout_ms=m.rebalance_timeout_ms,
            session_timeout_ms=m.session_timeout_ms, protocols=m.protocols, assignment=m.assignment)
            for m in group.members.values()))

    def hand_over(self, now_ms: int, group_id: str) -> Completions:
        """Give the group up to the consumer coordinator (Kafka's convertToConsumerGroup):
        parked joins and syncs are answered REBALANCE_IN_PROGRESS, its GroupMetadata
        tombstone is queued; its committed offsets stay (listeners are not told)."""
        return self._run(now_ms, lambda: self._hand_over(group_id))[1]

    def _hand_over(self, group_id: str) -> None:
        group = self._groups.pop(group_id)
        for member in group.members.values():
            group.complete_join(member, join_response(
                error_code=ErrorCode.REBALANCE_IN_PROGRESS, member_id=member.member_id), self._out)
            group.complete_sync(member, sync_response(error_code=ErrorCode.REBALANCE_IN_PROGRESS), self._out)
        self._timers.cancel_where(lambda key: key[1] == group_id)
        self._group_changes.append((group_id, None))

    def adopt(self, now_ms: int, handed: MigratingGroup) -> Completions:
        """Take a consumer group whose members all use the classic protocol (Kafka's
        ClassicGroup.fromConsumerGroup): Stable at the consumer group's epoch, each member
        assigned its target partitions, then (``handed.rebalance``) a rebalance."""
        return self._run(now_ms, lambda: self._adopt(handed))[1]

    def _adopt(self, handed: MigratingGroup) -> None:
        group = ClassicGroup(handed.group_id, self._now_ms)
        group.generation_id = handed.generation_id
        for m in handed.members:
            group.add(ClassicGroupMember(
                member_id=m.member_id, group_instance_id=m.group_instance_id, client_id=m.client_id,
                client_host=m.client_host, rebalance_timeout_ms=m.rebalance_timeout_ms,
                session_timeout_ms=m.session_timeout_ms, protocol_type=consumer_protocol.PROTOCOL_TYPE,
                protocols=m.protocols))
        group.state = S.STABLE   # made Stable, as Kafka's fromConsumerGroup (and restore) make it
        group.protocol_name = group.select_protocol()
        group.subscribed_topics = group.compute_subscribed_topics()
        for m in handed.members:
            member = group.members[m.member_id]
            try:
                version = consumer_protocol.metadata_version(member.metadata(group.protocol_name))
            except consumer_protocol.SubscriptionParseError:
                version = 0
            member.assignment = consumer_protocol.encode_assignment(
                version, [(t, list(p)) for t, p in m.target])
        self._groups[group.group_id] = group
        self._group_changes.append((group.group_id, group.snapshot()))
        for member in group.members.values():
            self._reschedule_heartbeat(group, member)
        if handed.rebalance:
            self._prepare_rebalance(group)

    def _delete(self, group: ClassicGroup) -> None:
        group.transition_to(S.DEAD, self._now_ms)
        del self._groups[group.group_id]
        group_id = group.group_id
        self._timers.cancel_where(lambda key: key[1] == group_id)
        self._group_changes.append((group_id, None))  # the GroupMetadata tombstone
        for listener in list(self._group_deleted_listeners):
            listener(group_id)

    def add_group_deleted_listener(self, listener: Callable[[str], None]) -> None:
        """``listener(group_id)`` runs synchronously when a group is deleted; it must
        not call back into the coordinator."""
        self._group_deleted_listeners.append(listener)

    def remove_group_deleted_listener(self, listener: Callable[[str], None]) -> None:
        self._group_deleted_listeners.remove(listener)

    # -- queries -----------------------------------------------------------

    def group_exists(self, group_id: str) -> bool:
        return group_id in self._groups

    def group_state(self, group_id: str) -> GroupState | None:
        group = self._groups.get(group_id)
        return group.state if group else None

    def group_generation_id(self, group_id: str) -> int | None:
        group = self._groups.get(group_id)
        return group.generation_id if group else None

    def group_ids(self) -> list[str]:
        return list(self._groups)

    def offset_expiration(self, group_id: str) -> OffsetExpiration | None:
        """How the group's offsets expire, or None: do not expire them now."""
        group = self._groups.get(group_id)
        if group is None:
            return None
        if group.protocol_type is None:
            return OffsetExpiration(empty_since_ms=None)
        if group.is_in(S.EMPTY):
            return OffsetExpiration(empty_since_ms=group.state_timestamp_ms)
        if (group.uses_consumer_group_protocol() and group.subscribed_topics is not None
                and group.is_in(S.STABLE)):
            return OffsetExpiration(empty_since_ms=None)
        return None

    def is_subscribed_to_topic(self, group_id: str, topic: str) -> bool:
        """Kafka: known subscriptions decide; unknown ones count as subscribed only for
        "consumer" groups. Used for offset expiry and topic deletion checks."""
        group = self._groups.get(group_id)
        if group is None:
            return False
        if group.subscribed_topics is not None:
            return topic in group.subscribed_topics
        return group.uses_consumer_group_protocol()
