"""The KIP-848 consumer group coordinator: a pure, synchronous state machine.

Like the classic coordinator (broker/groups/coordinator.py) it reads no clock and does
no I/O: every call takes ``now_ms``, first fires the timers due by then (member
sessions, revocation timeouts), and queues the records Kafka would append as plain
``Change``s (records.py) for the shell to write before it answers. Nothing here waits:
a heartbeat is answered at once.

``heartbeat`` follows Kafka's GroupMetadataManager.consumerGroupHeartbeat: validate the
request, find or create the group and the member (static members by instance id),
check the member epoch (FENCED_MEMBER_EPOCH when it is neither the current one nor the
previous one with a subset of the assignment), update the member's subscription, bump
the group epoch when subscriptions or the subscribed topics' partitions changed, compute
a new target assignment with the group's assignor when the group epoch moved past it,
and reconcile the member towards it (reconcile.py). The answer carries the assignment
when it changed or the request was a full one.

Topics come in with each call as ``{name: TopicInfo}`` (anything with ``topic_id`` and
``num_partitions``) and their ``topics_version`` (storage's on one broker, the cluster's
metadata in cluster mode), so the coordinator notices new, deleted and grown topics
without asking anyone.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from typing import Callable, Iterable, Mapping

from kproto.errors import ErrorCode

from ..timers import TimerQueue
from . import records as rec
from .classic import ClassicMembers
from .assignors import ASSIGNORS, Assignment
from .group import ConsumerGroup, ConsumerGroupState
from .member import (
    LEAVE_GROUP_MEMBER_EPOCH, LEAVE_GROUP_STATIC_MEMBER_EPOCH, ConsumerGroupMember, MemberState)
from .reconcile import as_assignment, reconcile


class ApiError(Exception):
    """A request refused with an error code (and Kafka's message)."""

    def __init__(self, code: ErrorCode, message: str | None = None):
        super().__init__(message)
        self.code = ErrorCode(code)
        self.message = message


@dataclass(frozen=True)
class ConsumerGroupSettings:
    """Kafka's group.consumer.* broker keys."""
    session_timeout_ms: int = 45000
    heartbeat_interval_ms: int = 5000
    assignors: tuple[str, ...] = ("uniform", "range")
    max_size: int = 2**31 - 1
    # group.consumer.migration.policy, and the classic groups' group.max.size a downgrade respects
    upgrade_enabled: bool = True
    downgrade_enabled: bool = True
    classic_max_size: int = 2**31 - 1


# RE2/J (Kafka's regex engine) has no lookaround and no backreferences; Python's re does.
_NOT_RE2 = re.compile(r"\(\?<?[=!]|\\[1-9]|\(\?P[=<]|\(\?\(")


def compile_regex(pattern: str) -> re.Pattern:
    """The pattern, or ApiError(INVALID_REGULAR_EXPRESSION) as Kafka answers a malformed one."""
    if _NOT_RE2.search(pattern):
        raise ApiError(ErrorCode.INVALID_REGULAR_EXPRESSION,
                       f"SubscribedTopicRegex `{pattern}` is not a valid regular expression: RE2 syntax only.")
    try:
        return re.compile(pattern)
    except (re.error, RecursionError, OverflowError) as exc:
        raise ApiError(ErrorCode.INVALID_REGULAR_EXPRESSION,
                       f"SubscribedTopicRegex `{pattern}` is not a valid regular expression: {exc}.") from None


class ConsumerGroupCoordinator(ClassicMembers):
    def __init__(self, settings: ConsumerGroupSettings | None = None,
                 group_setting: Callable[[str, str], int | None] | None = None) -> None:
        self.settings = settings or ConsumerGroupSettings()
        # (group id, config name) -> the group's own value, if it has one (consumer.session.timeout.ms,
        # consumer.heartbeat.interval.ms: group configs over the broker's group.consumer.* keys)
        self._group_setting = group_setting or (lambda group_id, name: None)
        self.groups: dict[str, ConsumerGroup] = {}
        self._timers = TimerQueue()
        self._now_ms = 0
        self._changes: list[rec.Change] = []
        self._topics: Mapping = {}
        self._topics_version = -1
        self._regex_cache: dict[str, frozenset[str]] = {}
        # While a heartbeat is handled: which of some topics its client may DESCRIBE (None:
        # no authorizer, all). Regexes are resolved through it, as Kafka resolves them with
        # the context of the heartbeat that refreshes them.
        self._describable: Callable[[set[str]], set[str]] | None = None
        self._in_heartbeat = False
        self._deleted: list[str] = []
        self._handovers: list = []   # groups downgraded to classic ones (classic.py)

    # -- clock -------------------------------------------------------------------------

    def _advance(self, now_ms: int, topics: Mapping | None = None, topics_version: int | None = None) -> None:
        if topics is not None and topics_version != self._topics_version:
            self._topics, self._topics_version = topics, topics_version
            self._regex_cache.clear()
        now_ms = max(now_ms, self._now_ms)
        while (timer := self._timers.pop_due(now_ms)) is not None:
            self._now_ms = max(self._now_ms, timer.deadline_ms)
            kind, group_id, member_id, epoch = timer.payload
            group = self.groups.get(group_id)
            member = group.members.get(member_id) if group else None
            if member is None:
                continue
            if kind in ("session", "join", "sync") or (
                    kind == "revoke" and member.state is MemberState.UNREVOKED_PARTITIONS
                    and member.member_epoch == epoch):
                self._remove_member(group, member_id)
        self._now_ms = now_ms

    def tick(self, now_ms: int, topics: Mapping | None = None, topics_version: int | None = None) -> None:
        self._advance(now_ms, topics, topics_version)

    def next_deadline_ms(self) -> int | None:
        return self._timers.next_deadline_ms()

    def take_changes(self) -> list[rec.Change]:
        changes, self._changes = self._changes, []
        return changes

    def take_deleted_groups(self) -> list[str]:
        """Groups deleted (DeleteGroups) since the last call: their offsets go too."""
        deleted, self._deleted = self._deleted, []
        return deleted

    # -- ConsumerGroupHeartbeat -------------------------------------------------------

    def heartbeat(self, now_ms: int, req: dict, client_id: str, client_host: str, api_version: int,
                  topics: Mapping, topics_version: int,
                  describable: Callable[[set[str]], set[str]] | None = None) -> dict:
        """A ConsumerGroupHeartbeat response (error_code NONE or the request's error).
        ``describable`` filters the topics a regex subscription resolves to (Kafka 4 keeps
        those the heartbeating client may DESCRIBE); None when there is no authorizer."""
        self._advance(now_ms, topics, topics_version)
        self._describable, self._in_heartbeat = describable, True
        try:
            self._validate(req, api_version)
            if req["member_epoch"] in (LEAVE_GROUP_MEMBER_EPOCH, LEAVE_GROUP_STATIC_MEMBER_EPOCH):
                return self._leave(req)
            return self._heartbeat(req, client_id, client_host)
        except ApiError as exc:
            return {"error_code": exc.code, "error_message": exc.message, "member_id": None,
                    "member_epoch": -1, "heartbeat_interval_ms": 0, "assignment": None}
        finally:
            self._describable, self._in_heartbeat = None, False

    def _validate(self, req: dict, api_version: int) -> None:
        def invalid(message: str) -> ApiError:
            return ApiError(ErrorCode.INVALID_REQUEST, message)

        epoch, member_id = req["member_epoch"], req["member_id"]
        if not req["group_id"]:
            raise invalid("GroupId can't be empty.")
        if req["instance_id"] is not None and not req["instance_id"]:
            raise invalid("InstanceId can't be empty.")
        if req["rack_id"] is not None and not req["rack_id"]:
            raise invalid("RackId can't be empty.")
        if api_version >= 1 and not member_id:
            raise invalid("MemberId can't be empty.")
        if epoch > 0 or epoch in (LEAVE_GROUP_MEMBER_EPOCH, LEAVE_GROUP_STATIC_MEMBER_EPOCH):
            if not member_id:
                raise invalid("MemberId can't be empty.")
        elif epoch == 0:
            if req["rebalance_timeout_ms"] == -1:
                raise invalid("RebalanceTimeoutMs must be provided in first request.")
            if req["topic_partitions"] is None or req["topic_partitions"]:
                raise invalid("TopicPartitions must be empty when (re-)joining.")
            if req["subscribed_topic_names"] is None and req["subscribed_topic_regex"] is None:
                raise invalid("SubscribedTopicNames or SubscribedTopicRegex must be set in first request.")
        else:
            raise invalid(f"MemberEpoch {epoch} is invalid.")
        if epoch == LEAVE_GROUP_STATIC_MEMBER_EPOCH and req["instance_id"] is None:
            raise invalid("InstanceId can't be null for a static member leaving.")
        assignor = req["server_assignor"]
        if assignor is not None and assignor not in self.settings.assignors:
            raise ApiError(ErrorCode.UNSUPPORTED_ASSIGNOR, f"ServerAssignor {assignor} is not supported. "
                           f"Supported assignors: {', '.join(self.settings.assignors)}.")
        if req["subscribed_topic_regex"] is not None:
            compile_regex(req["subscribed_topic_regex"])

    def _group(self, group_id: str, create: bool) -> ConsumerGroup:
        group = self.groups.get(group_id)
        if group is None:
            if not create:
                raise ApiError(ErrorCode.GROUP_ID_NOT_FOUND, f"Group {group_id} not found.")
            group = self.groups[group_id] = ConsumerGroup(group_id, self._now_ms)
        return group

    def _heartbeat(self, req: dict, client_id: str, client_host: str) -> dict:
        epoch, instance_id = req["member_epoch"], req["instance_id"]
        joining = epoch == 0
        group = self._group(req["group_id"], joining)
        member_id = req["member_id"] or str(uuid.uuid4())
        if joining and member_id not in group.members and len(group.members) >= self.settings.max_size:
            raise ApiError(ErrorCode.GROUP_MAX_SIZE_REACHED,
                           f"The consumer group has reached its maximum capacity of {self.settings.max_size} members.")
        owned = as_assignment(req["topic_partitions"])
        member = self._member(group, member_id, epoch, instance_id, owned, joining)
        updated = member.with_(
            instance_id=instance_id if instance_id is not None else member.instance_id,
            rack_id=req["rack_id"] if req["rack_id"] is not None else member.rack_id,
            rebalance_timeout_ms=(req["rebalance_timeout_ms"] if req["rebalance_timeout_ms"] != -1
                                  else member.rebalance_timeout_ms),
            server_assignor=req["server_assignor"] if req["server_assignor"] is not None else member.server_assignor,
            subscribed_topic_names=(tuple(req["subscribed_topic_names"]) if req["subscribed_topic_names"] is not None
                                    else member.subscribed_topic_names),
            subscribed_topic_regex=(req["subscribed_topic_regex"] if req["subscribed_topic_regex"] is not None
                                    else member.subscribed_topic_regex),
            client_id=client_id, client_host=client_host, classic=None)
        bump = (member_id not in group.members
                or updated.subscribed_topic_names != member.subscribed_topic_names
                or updated.subscribed_topic_regex != member.subscribed_topic_regex
                or updated.server_assignor != member.server_assignor)
        if updated != member or member_id not in group.members:
            self._changes.append(rec.member_metadata(group.group_id, updated))
        group.put(updated)
        self._maybe_bump_epoch(group, bump)
        self._maybe_assign(group)
        final = self._reconcile(group, group.members[member_id], owned)
        self._schedule_session(group, final)
        response = {"error_code": ErrorCode.NONE, "error_message": None, "member_id": member_id,
                    "member_epoch": final.member_epoch, "heartbeat_interval_ms": self._heartbeat_interval_ms(group.group_id),
                    "assignment": None}
        full = joining or (req["rebalance_timeout_ms"] != -1 and req["subscribed_topic_names"] is not None
                           and req["topic_partitions"] is not None)
        if full or final.assigned != member.assigned or (owned is not None and _differs(owned, final.assigned)):
            response["assignment"] = {"topic_partitions": rec.topic_partitions(final.assigned)}
        return response

    def _member(self, group: ConsumerGroup, member_id: str, epoch: int, instance_id: str | None,
                owned, joining: bool) -> ConsumerGroupMember:
        if instance_id is None:
            member = group.members.get(member_id)
            if member is None:
                if not joining:
                    raise ApiError(ErrorCode.UNKNOWN_MEMBER_ID,
                                   f"Member {member_id} is not a member of group {group.group_id}.")
                return ConsumerGroupMember(member_id)
            if joining and member.member_epoch != 0:
                # The member rejoins from scratch (after being fenced): its old incarnation goes.
                self._remove_member(group, member_id, bump=False)
                return ConsumerGroupMember(member_id)
            self._check_epoch(member, epoch, owned)
            return member
        existing_id = group.static_members.get(instance_id)
        existing = group.members.get(existing_id) if existing_id else None
        if joining:
            if existing is None or existing_id == member_id and existing.member_epoch == 0:
                return existing or ConsumerGroupMember(member_id)
            # (a classic member's instance is taken over without its leave, as Kafka does)
            if existing.member_epoch != LEAVE_GROUP_STATIC_MEMBER_EPOCH and existing_id != member_id \
                    and not existing.is_classic:
                raise ApiError(ErrorCode.UNRELEASED_INSTANCE_ID,
                               f"Static member {existing_id} with instance id {instance_id} cannot be replaced "
                               "because it has not left the group.")
            # The static member comes back under a new id and keeps its assignment.
            replacement = existing.with_(member_id=member_id, member_epoch=0, previous_member_epoch=0)
            self._replace(group, existing, replacement)
            return replacement
        if existing is None:
            raise ApiError(ErrorCode.UNKNOWN_MEMBER_ID, f"Instance id {instance_id} is unknown.")
        if existing_id != member_id:
            raise ApiError(ErrorCode.FENCED_INSTANCE_ID,
                           f"Static member {member_id} with instance id {instance_id} was fenced by member "
                           f"{existing_id}.")
        self._check_epoch(existing, epoch, owned)
        return existing

    @staticmethod
    def _check_epoch(member: ConsumerGroupMember, epoch: int, owned) -> None:
        if epoch > member.member_epoch:
            raise ApiError(ErrorCode.FENCED_MEMBER_EPOCH,
                           f"The consumer group member has a greater member epoch ({epoch}) than the one known by "
                           f"the group coordinator ({member.member_epoch}). The member must abandon all its "
                           "partitions and rejoin.")
        if epoch < member.member_epoch and (epoch != member.previous_member_epoch
                                            or not _subset(owned, member.assigned)):
            raise ApiError(ErrorCode.FENCED_MEMBER_EPOCH,
                           f"The consumer group member has a smaller member epoch ({epoch}) than the one known by "
                           f"the group coordinator ({member.member_epoch}). The member must abandon all its "
                           "partitions and rejoin.")

    def _replace(self, group: ConsumerGroup, old: ConsumerGroupMember, new: ConsumerGroupMember) -> None:
        """A static member's new incarnation takes over its assignment and target."""
        target = group.target.get(old.member_id, {})
        self._changes.extend(rec.member_gone(group.group_id, old.member_id))
        for kind in ("session", "revoke", "join", "sync"):
            self._timers.cancel((kind, group.group_id, old.member_id))
        group.remove(old.member_id)
        group.target[new.member_id] = target
        self._changes.append(rec.member_metadata(group.group_id, new))
        self._changes.append(rec.target_member(group.group_id, new.member_id, target))
        self._changes.append(rec.current_assignment(group.group_id, new))
        group.put(new)

    def _leave(self, req: dict) -> dict:
        group = self._group(req["group_id"], False)
        member_id, instance_id, epoch = req["member_id"], req["instance_id"], req["member_epoch"]
        if instance_id is not None:
            existing_id = group.static_members.get(instance_id)
            if existing_id is None:
                raise ApiError(ErrorCode.UNKNOWN_MEMBER_ID, f"Instance id {instance_id} is unknown.")
            if existing_id != member_id:
                raise ApiError(ErrorCode.FENCED_INSTANCE_ID,
                               f"Static member {member_id} with instance id {instance_id} was fenced by member "
                               f"{existing_id}.")
        member = group.members.get(member_id)
        if member is None:
            raise ApiError(ErrorCode.UNKNOWN_MEMBER_ID,
                           f"Member {member_id} is not a member of group {group.group_id}.")
        if epoch == LEAVE_GROUP_STATIC_MEMBER_EPOCH:
            # A static member leaves for now: it keeps its assignment until its session ends.
            away = member.with_(member_epoch=LEAVE_GROUP_STATIC_MEMBER_EPOCH)
            group.put(away)
            self._changes.append(rec.current_assignment(group.group_id, away))
            self._schedule_session(group, away)
        else:
            self._remove_member(group, member_id)
        return {"error_code": ErrorCode.NONE, "error_message": None, "member_id": member_id,
                "member_epoch": epoch, "heartbeat_interval_ms": 0, "assignment": None}

    def _remove_member(self, group: ConsumerGroup, member_id: str, *, bump: bool = True) -> None:
        """Remove a member; ``bump``: it is fenced (left, timed out), which moves the group
        epoch or downgrades the group (classic.py's ``_fence``)."""
        if bump:
            self._fence(group, [member_id])
            return
        for kind in ("session", "revoke", "join", "sync"):
            self._timers.cancel((kind, group.group_id, member_id))
        if group.remove(member_id) is not None:
            self._changes.extend(rec.member_gone(group.group_id, member_id))

    # -- epochs, target assignment, reconciliation -----------------------------------

    def _matching(self, pattern: str) -> frozenset[str]:
        """The (non-internal) topics a regex matches, cached until the topics change."""
        names = self._regex_cache.get(pattern)
        if names is None:
            compiled = compile_regex(pattern)
            names = frozenset(n for n, info in self._topics.items()
                              if not getattr(info, "internal", False) and compiled.fullmatch(n))
            self._regex_cache[pattern] = names
        return names

    def _resolve_regex(self, group: ConsumerGroup, pattern: str) -> frozenset[str]:
        """A regex subscription's topics. In a heartbeat: the matching topics its client may
        DESCRIBE, kept on the group; between heartbeats (a session timing out): what the last
        heartbeat resolved, so a timer never shows a group topics no member's client may see."""
        if self._in_heartbeat or pattern not in group.resolved_regex:
            names = self._matching(pattern)
            if self._describable is not None and names:
                names = frozenset(self._describable(set(names)))
            group.resolved_regex[pattern] = names
        return group.resolved_regex[pattern]

    def _subscription_metadata(self, group: ConsumerGroup) -> tuple:
        in_use = {m.subscribed_topic_regex for m in group.members.values() if m.subscribed_topic_regex}
        for pattern in [p for p in group.resolved_regex if p not in in_use]:
            del group.resolved_regex[pattern]
        names = group.subscribed_topic_names(lambda pattern: self._resolve_regex(group, pattern))
        out = []
        for name in sorted(names):
            info = self._topics.get(name)
            if info is not None:
                out.append((name, info.topic_id, info.num_partitions))
        return tuple(out)

    def _maybe_bump_epoch(self, group: ConsumerGroup, bump: bool) -> None:
        metadata = self._subscription_metadata(group)
        if metadata != group.subscription_metadata:
            group.subscription_metadata = metadata
            self._changes.append(rec.partition_metadata(group.group_id, metadata))
            bump = True
        if bump:
            group.group_epoch += 1
            self._changes.append(rec.group_epoch(group.group_id, group.group_epoch))

    def _maybe_assign(self, group: ConsumerGroup) -> None:
        if group.group_epoch <= group.assignment_epoch:
            return
        topic_ids = {name: topic_id for name, topic_id, _ in group.subscription_metadata}
        partitions = {topic_id: n for _, topic_id, n in group.subscription_metadata}
        subscriptions = {}
        for m in group.members.values():
            names = set(m.subscribed_topic_names)
            if m.subscribed_topic_regex:
                names |= self._resolve_regex(group, m.subscribed_topic_regex)
            subscriptions[m.member_id] = frozenset(topic_ids[n] for n in names if n in topic_ids)
        assignor = ASSIGNORS[self._assignor_name(group)]
        target = assignor(subscriptions, partitions, group.target)
        for member_id in group.members:
            new = target.get(member_id, {})
            if new != group.target.get(member_id):
                self._changes.append(rec.target_member(group.group_id, member_id, new))
            group.target[member_id] = new
        group.assignment_epoch = group.group_epoch
        self._changes.append(rec.target_epoch(group.group_id, group.assignment_epoch))

    def _assignor_name(self, group: ConsumerGroup) -> str:
        """The most common assignor the members ask for, else the first configured (Kafka's rule)."""
        asked: dict[str, int] = {}
        for m in group.members.values():
            if m.server_assignor:
                asked[m.server_assignor] = asked.get(m.server_assignor, 0) + 1
        if asked:
            return max(sorted(asked), key=lambda name: asked[name])
        return self.settings.assignors[0]

    def _reconcile(self, group: ConsumerGroup, member: ConsumerGroupMember, owned) -> ConsumerGroupMember:
        if member.member_epoch == LEAVE_GROUP_STATIC_MEMBER_EPOCH:
            return member
        new = reconcile(member, group.assignment_epoch, group.target_of(member.member_id),
                        group.partition_epoch, owned)
        if new != member:
            group.put(new)
            self._changes.append(rec.current_assignment(group.group_id, new))
            if new.state is MemberState.UNREVOKED_PARTITIONS and member.state is not MemberState.UNREVOKED_PARTITIONS:
                timeout = (new.rebalance_timeout_ms if new.rebalance_timeout_ms > 0
                           else self._session_timeout_ms(group.group_id))
                self._timers.schedule(("revoke", group.group_id, new.member_id), self._now_ms + timeout,
                                      ("revoke", group.group_id, new.member_id, new.member_epoch))
            elif new.state is not MemberState.UNREVOKED_PARTITIONS:
                self._timers.cancel(("revoke", group.group_id, new.member_id))
        return new

    def _session_timeout_ms(self, group_id: str) -> int:
        value = self._group_setting(group_id, "consumer.session.timeout.ms")
        return self.settings.session_timeout_ms if value is None else value

    def _heartbeat_interval_ms(self, group_id: str) -> int:
        value = self._group_setting(group_id, "consumer.heartbeat.interval.ms")
        return self.settings.heartbeat_interval_ms if value is None else value

    def _schedule_session(self, group: ConsumerGroup, member: ConsumerGroupMember) -> None:
        timeout = (member.classic.session_timeout_ms if member.classic is not None
                   else self._session_timeout_ms(group.group_id))
        self._timers.schedule(("session", group.group_id, member.member_id), self._now_ms + timeout,
                              ("session", group.group_id, member.member_id, member.member_epoch))

    # -- offsets ------------------------------------------------------------------------

    def validate_commit(self, now_ms: int, group_id: str, member_id: str, member_epoch: int,
                        api_version: int = 9, transactional: bool = False,
                        group_instance_id: str | None = None) -> ErrorCode:
        """OffsetCommit (or TxnOffsetCommit) into a consumer group (Kafka's
        ConsumerGroup.validateOffsetCommit): a commit with epoch < 0 goes into an empty group (an
        admin's, or a consumer's without group management), whatever member id it names; a
        transactional commit naming no member, epoch or instance is not checked (TxnOffsetCommit
        makes them optional); otherwise the member must be known (UNKNOWN_MEMBER_ID), must commit
        with OffsetCommit v9 or later when not transactional (UNSUPPORTED_VERSION: the member
        epoch only travels from v9), and at its current epoch (STALE_MEMBER_EPOCH)."""
        self._advance(now_ms)
        group = self.groups[group_id]
        if member_epoch < 0 and not group.members:
            return ErrorCode.NONE   # an admin's or a group-less consumer's commit, with or without a member id
        if transactional and member_epoch == -1 and member_id == "" and group_instance_id is None:
            return ErrorCode.NONE   # a TxnOffsetCommit that names no member
        member = group.members.get(member_id)
        if member is None:
            return ErrorCode.UNKNOWN_MEMBER_ID
        if not transactional and not member.is_classic and api_version < 9:
            return ErrorCode.UNSUPPORTED_VERSION
        if member_epoch != member.member_epoch:
            # a classic member's epoch is its generation
            return ErrorCode.ILLEGAL_GENERATION if member.is_classic else ErrorCode.STALE_MEMBER_EPOCH
        return ErrorCode.NONE

    def validate_offset_fetch(self, group_id: str, member_id: str | None, member_epoch: int) -> ErrorCode:
        """OffsetFetch v9 with a member: it must be known, at its current epoch."""
        if member_id is None or member_epoch < 0:
            return ErrorCode.NONE
        member = self.groups[group_id].members.get(member_id)
        if member is None:
            return ErrorCode.UNKNOWN_MEMBER_ID
        if member_epoch != member.member_epoch:
            return ErrorCode.STALE_MEMBER_EPOCH
        return ErrorCode.NONE

    def is_subscribed_to_topic(self, group_id: str, topic: str) -> bool:
        group = self.groups.get(group_id)
        return group is not None and any(name == topic for name, _, _ in group.subscription_metadata)

    # -- admin ----------------------------------------------------------------------------

    def describe(self, group_ids: Iterable[str], topics: Mapping, topics_version: int) -> list[dict]:
        self._advance(self._now_ms, topics, topics_version)
        names_by_id = {info.topic_id: name for name, info in topics.items()}

        def assignment(a: Assignment) -> dict:
            return {"topic_partitions": [
                {"topic_id": t.bytes, "topic_name": names_by_id.get(t, ""), "partitions": sorted(p)}
                for t, p in sorted(a.items(), key=lambda i: str(i[0]))]}

        out = []
        for group_id in group_ids:
            group = self.groups.get(group_id)
            if group is None:
                out.append({"error_code": ErrorCode.GROUP_ID_NOT_FOUND, "error_message": f"Group {group_id} not found.",
                            "group_id": group_id, "group_state": "", "group_epoch": 0, "assignment_epoch": 0,
                            "assignor_name": "", "members": []})
                continue
            out.append({
                "error_code": ErrorCode.NONE, "error_message": None, "group_id": group_id,
                "group_state": str(group.state), "group_epoch": group.group_epoch,
                "assignment_epoch": group.assignment_epoch, "assignor_name": self._assignor_name(group),
                "members": [{
                    "member_id": m.member_id, "instance_id": m.instance_id, "rack_id": m.rack_id,
                    "member_epoch": m.member_epoch, "client_id": m.client_id, "client_host": m.client_host,
                    "subscribed_topic_names": list(m.subscribed_topic_names),
                    "subscribed_topic_regex": m.subscribed_topic_regex,
                    "assignment": assignment(m.assigned), "target_assignment": assignment(group.target_of(m.member_id)),
                    "member_type": 0 if m.is_classic else 1,
                } for m in group.members.values()],
            })
        return out

    def listed(self) -> list[dict]:
        return [{"group_id": g.group_id, "protocol_type": "consumer", "group_state": str(g.state),
                 "group_type": "consumer"} for g in self.groups.values()]

    def delete(self, now_ms: int, group_id: str) -> ErrorCode:
        """DeleteGroups of a consumer group: only an empty one (NON_EMPTY_GROUP)."""
        self._advance(now_ms)
        group = self.groups[group_id]
        if group.members:
            return ErrorCode.NON_EMPTY_GROUP
        self._drop(group_id)
        return ErrorCode.NONE

    def _drop(self, group_id: str) -> None:
        del self.groups[group_id]
        self._timers.cancel_where(lambda key: key[1] == group_id)
        self._changes.extend(rec.group_gone(group_id))
        self._deleted.append(group_id)

    def drop_empty(self, group_id: str) -> bool:
        """Remove an empty consumer group so that a classic group can take its id (Kafka's
        conversion of an empty consumer group when a JoinGroup comes)."""
        group = self.groups.get(group_id)
        if group is None or group.members:
            return False
        del self.groups[group_id]
        self._timers.cancel_where(lambda key: key[1] == group_id)
        self._changes.extend(rec.group_gone(group_id))
        return True

    # -- loading -------------------------------------------------------------------------

    def load(self, now_ms: int, records: Iterable[tuple[int, dict, dict | None]]) -> None:
        """Rebuild the groups from their records (log order); every member's session starts now."""
        self._now_ms = max(self._now_ms, now_ms)
        for record_type, key, value in records:
            rec.replay(self.groups, record_type, key, value, self._now_ms)
        for group in self.groups.values():
            for member in group.members.values():
                self._schedule_session(group, member)


def _subset(owned, assigned: Assignment) -> bool:
    if owned is None:
        return True
    return all(p in assigned.get(t, ()) for t, parts in owned.items() for p in parts)


def _differs(owned: dict[uuid.UUID, list[int]], assigned: Assignment) -> bool:
    return {t: frozenset(p) for t, p in owned.items() if p} != assigned
