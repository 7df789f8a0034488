"""Share groups' membership (KIP-932): a pure state machine fed with ``now_ms``.

A share group's members are not exclusive owners: every member subscribed to a topic
gets some of its partitions, and several members may get the same one (Kafka's simple
assignor: with at least as many members as partitions every partition goes to
``members / partitions`` of them; with fewer, the partitions are spread over the members).
So there is no revocation: a member that heartbeats after the group epoch moved gets the
new epoch and its new assignment at once. Members are the client's own ids (v1); epoch 0 joins, -1 leaves.
The session timeout (``group.share.session.timeout.ms``, or the group's
``share.session.timeout.ms``) removes a silent member. Records (Kafka's ShareGroup*
records) are queued as ``(group_id, type, key, value)`` for the shell to write.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field, replace
from typing import Callable, Iterable, Mapping

from kproto import group_records as R
from kproto.errors import ErrorCode

from ..consumer.coordinator import ApiError
from ..timers import TimerQueue

Assignment = dict[uuid.UUID, frozenset[int]]


@dataclass(frozen=True, slots=True)
class ShareGroupMember:
    member_id: str
    rack_id: str | None = None
    client_id: str = ""
    client_host: str = ""
    subscribed_topic_names: tuple[str, ...] = ()
    member_epoch: int = 0
    previous_member_epoch: int = 0
    assigned: Assignment = field(default_factory=dict)


class ShareGroup:
    def __init__(self, group_id: str) -> None:
        self.group_id = group_id
        self.group_epoch = 0
        self.assignment_epoch = 0
        self.members: dict[str, ShareGroupMember] = {}
        self.target: dict[str, Assignment] = {}
        self.subscription_metadata: tuple = ()

    @property
    def state(self) -> str:
        return "Stable" if self.members else "Empty"


def assign(members: Mapping[str, frozenset[uuid.UUID]], partitions: Mapping[uuid.UUID, int]) -> dict[str, Assignment]:
    """Kafka's simple share assignor, deterministically (members in id order)."""
    out: dict[str, dict[uuid.UUID, set[int]]] = {m: {} for m in members}
    for topic_id, count in partitions.items():
        subscribed = sorted(m for m, topics in members.items() if topic_id in topics)
        if not subscribed or not count:
            continue
        if len(subscribed) >= count:
            for i, m in enumerate(subscribed):
                out[m].setdefault(topic_id, set()).add(i % count)
        else:
            for p in range(count):
                out[subscribed[p % len(subscribed)]].setdefault(topic_id, set()).add(p)
    return {m: {t: frozenset(p) for t, p in a.items()} for m, a in out.items()}


def _topic_partitions(a: Assignment) -> list[dict]:
    return [{"topic_id": t.bytes, "partitions": sorted(p)} for t, p in sorted(a.items(), key=lambda i: str(i[0]))]


@dataclass(frozen=True)
class ShareGroupSettings:
    session_timeout_ms: int = 45000
    heartbeat_interval_ms: int = 5000
    max_size: int = 200


class ShareGroupCoordinator:
    def __init__(self, settings: ShareGroupSettings | None = None,
                 group_setting: Callable[[str, str], int | None] | None = None) -> None:
        self.settings = settings or ShareGroupSettings()
        # (group id, config name) -> the group's own value, if it has one
        self._group_setting = group_setting or (lambda group_id, name: None)
        self.groups: dict[str, ShareGroup] = {}
        self._timers = TimerQueue()
        self._now_ms = 0
        self._changes: list = []
        self._left: list[tuple[str, str]] = []     # (group, member) gone since last taken
        self._topics: Mapping = {}

    def _advance(self, now_ms: int) -> None:
        now_ms = max(now_ms, self._now_ms)
        while (timer := self._timers.pop_due(now_ms)) is not None:
            self._now_ms = max(self._now_ms, timer.deadline_ms)
            _, group_id, member_id = timer.key
            group = self.groups.get(group_id)
            if group is not None and member_id in group.members:
                self._remove(group, member_id)
        self._now_ms = now_ms

    def tick(self, now_ms: int, topics: Mapping | None = None) -> None:
        if topics is not None:
            self._topics = topics
        self._advance(now_ms)

    def next_deadline_ms(self) -> int | None:
        return self._timers.next_deadline_ms()

    def take_changes(self) -> list:
        changes, self._changes = self._changes, []
        return changes

    def take_departed(self) -> list[tuple[str, str]]:
        """Members that left or timed out since the last call: their records go back."""
        left, self._left = self._left, []
        return left

    def _setting(self, group_id: str, name: str, default: int) -> int:
        value = self._group_setting(group_id, name)
        return default if value is None else value

    # -- ShareGroupHeartbeat -------------------------------------------------------------

    def heartbeat(self, now_ms: int, req: dict, client_id: str, client_host: str, topics: Mapping) -> dict:
        self._advance(now_ms)
        self._topics = topics
        try:
            return self._heartbeat(req, client_id, client_host)
        except ApiError as exc:
            return {"error_code": exc.code, "error_message": exc.message, "member_id": None,
                    "member_epoch": -1, "heartbeat_interval_ms": 0, "assignment": None}

    def _heartbeat(self, req: dict, client_id: str, client_host: str) -> dict:
        group_id, member_id, epoch = req["group_id"], req["member_id"], req["member_epoch"]
        if not group_id:
            raise ApiError(ErrorCode.INVALID_REQUEST, "GroupId can't be empty.")
        if not member_id:
            raise ApiError(ErrorCode.INVALID_REQUEST, "MemberId can't be empty.")
        if req["rack_id"] is not None and not req["rack_id"]:
            raise ApiError(ErrorCode.INVALID_REQUEST, "RackId can't be empty.")
        if epoch < -1:
            raise ApiError(ErrorCode.INVALID_REQUEST, f"MemberEpoch {epoch} is invalid.")
        if epoch == 0 and req["subscribed_topic_names"] is None:
            raise ApiError(ErrorCode.INVALID_REQUEST, "SubscribedTopicNames must be set in first request.")
        group = self.groups.get(group_id)
        if group is None:
            if epoch != 0:
                raise ApiError(ErrorCode.GROUP_ID_NOT_FOUND, f"Group {group_id} not found.")
            group = self.groups[group_id] = ShareGroup(group_id)
        member = group.members.get(member_id)
        if epoch == -1:
            if member is None:
                raise ApiError(ErrorCode.UNKNOWN_MEMBER_ID, f"Member {member_id} is not a member of group {group_id}.")
            self._remove(group, member_id)
            return {"error_code": ErrorCode.NONE, "error_message": None, "member_id": member_id,
                    "member_epoch": -1, "heartbeat_interval_ms": 0, "assignment": None}
        if member is None:
            if epoch != 0:
                raise ApiError(ErrorCode.UNKNOWN_MEMBER_ID, f"Member {member_id} is not a member of group {group_id}.")
            if len(group.members) >= self.settings.max_size:
                raise ApiError(ErrorCode.GROUP_MAX_SIZE_REACHED,
                               f"The share group has reached its maximum capacity of {self.settings.max_size} members.")
            member = ShareGroupMember(member_id)
        elif epoch == 0:
            member = replace(member, member_epoch=0)   # rejoins from scratch
        elif epoch > member.member_epoch or (epoch < member.member_epoch and epoch != member.previous_member_epoch):
            raise ApiError(ErrorCode.FENCED_MEMBER_EPOCH,
                           f"The share group member has a member epoch ({epoch}) other than the one known by the "
                           f"group coordinator ({member.member_epoch}). The member must abandon all its partitions "
                           "and rejoin.")
        updated = replace(member, client_id=client_id, client_host=client_host,
                          rack_id=req["rack_id"] if req["rack_id"] is not None else member.rack_id,
                          subscribed_topic_names=(tuple(req["subscribed_topic_names"])
                                                  if req["subscribed_topic_names"] is not None
                                                  else member.subscribed_topic_names))
        bump = member_id not in group.members or updated.subscribed_topic_names != member.subscribed_topic_names
        if bump or updated != member:
            self._changes.append((group_id, R.SHARE_GROUP_MEMBER_METADATA,
                                  {"group_id": group_id, "member_id": member_id},
                                  {"rack_id": updated.rack_id, "client_id": updated.client_id,
                                   "client_host": updated.client_host,
                                   "subscribed_topic_names": list(updated.subscribed_topic_names)}))
        group.members[member_id] = updated
        self._refresh(group, bump)
        final = self._catch_up(group, group.members[member_id])
        timeout = self._setting(group_id, "share.session.timeout.ms", self.settings.session_timeout_ms)
        self._timers.schedule(("session", group_id, member_id), self._now_ms + timeout)
        response = {"error_code": ErrorCode.NONE, "error_message": None, "member_id": member_id,
                    "member_epoch": final.member_epoch,
                    "heartbeat_interval_ms": self._setting(group_id, "share.heartbeat.interval.ms",
                                                           self.settings.heartbeat_interval_ms),
                    "assignment": None}
        if epoch == 0 or final.assigned != member.assigned or final.member_epoch != epoch:
            response["assignment"] = {"topic_partitions": _topic_partitions(final.assigned)}
        return response

    def _refresh(self, group: ShareGroup, bump: bool) -> None:
        """Bump the epoch when subscriptions or their topics changed; assign anew; members take
        their new assignment at once (there is nothing to revoke in a share group)."""
        names = sorted({n for m in group.members.values() for n in m.subscribed_topic_names})
        metadata = tuple((n, self._topics[n].topic_id, self._topics[n].num_partitions)
                         for n in names if n in self._topics)
        if metadata != group.subscription_metadata:
            group.subscription_metadata = metadata
            bump = True
        if bump:
            group.group_epoch += 1
            self._changes.append((group.group_id, R.SHARE_GROUP_METADATA, {"group_id": group.group_id},
                                  {"epoch": group.group_epoch}))
        if group.assignment_epoch == group.group_epoch:
            return
        ids = {n: t for n, t, _ in metadata}
        target = assign({m.member_id: frozenset(ids[n] for n in m.subscribed_topic_names if n in ids)
                         for m in group.members.values()}, {t: c for _, t, c in metadata})
        group.assignment_epoch = group.group_epoch
        for member_id in group.members:
            new = target.get(member_id, {})
            if new != group.target.get(member_id):
                self._changes.append((group.group_id, R.SHARE_GROUP_TARGET_ASSIGNMENT_MEMBER,
                                      {"group_id": group.group_id, "member_id": member_id},
                                      {"topic_partitions": _topic_partitions(new)}))
            group.target[member_id] = new
        self._changes.append((group.group_id, R.SHARE_GROUP_TARGET_ASSIGNMENT_METADATA,
                              {"group_id": group.group_id}, {"assignment_epoch": group.assignment_epoch}))

    def _catch_up(self, group: ShareGroup, member: ShareGroupMember) -> ShareGroupMember:
        """A member moves to the target epoch and assignment when it heartbeats (nothing to revoke)."""
        if member.member_epoch == group.assignment_epoch:
            return member
        new = replace(member, assigned=group.target.get(member.member_id, {}), member_epoch=group.assignment_epoch,
                      previous_member_epoch=member.member_epoch)
        group.members[member.member_id] = new
        self._changes.append((group.group_id, R.SHARE_GROUP_CURRENT_MEMBER_ASSIGNMENT,
                              {"group_id": group.group_id, "member_id": member.member_id}, {
                                  "member_epoch": new.member_epoch, "previous_member_epoch": new.previous_member_epoch,
                                  "state": 0, "assigned_partitions": _topic_partitions(new.assigned)}))
        return new

    def _remove(self, group: ShareGroup, member_id: str) -> None:
        self._timers.cancel(("session", group.group_id, member_id))
        del group.members[member_id]
        group.target.pop(member_id, None)
        key = {"group_id": group.group_id, "member_id": member_id}
        for record_type in (R.SHARE_GROUP_CURRENT_MEMBER_ASSIGNMENT, R.SHARE_GROUP_TARGET_ASSIGNMENT_MEMBER,
                            R.SHARE_GROUP_MEMBER_METADATA):
            self._changes.append((group.group_id, record_type, key, None))
        self._left.append((group.group_id, member_id))
        self._refresh(group, True)

    # -- queries and admin ---------------------------------------------------------------------

    def is_member(self, group_id: str, member_id: str) -> bool:
        group = self.groups.get(group_id)
        return group is not None and member_id in group.members

    def describe(self, group_ids: Iterable[str], topics: Mapping) -> list[dict]:
        names = {info.topic_id: name for name, info in topics.items()}
        out = []
        for group_id in group_ids:
            group = self.groups.get(group_id)
            if group is None:
                out.append({"error_code": ErrorCode.GROUP_ID_NOT_FOUND, "error_message": f"Group {group_id} not found.",
                            "group_id": group_id, "group_state": "", "group_epoch": 0, "assignment_epoch": 0,
                            "assignor_name": "", "members": []})
                continue
            out.append({"error_code": ErrorCode.NONE, "error_message": None, "group_id": group_id,
                        "group_state": group.state, "group_epoch": group.group_epoch,
                        "assignment_epoch": group.assignment_epoch, "assignor_name": "simple",
                        "members": [{"member_id": m.member_id, "rack_id": m.rack_id, "member_epoch": m.member_epoch,
                                     "client_id": m.client_id, "client_host": m.client_host,
                                     "subscribed_topic_names": list(m.subscribed_topic_names),
                                     "assignment": {"topic_partitions": [
                                         {"topic_id": t.bytes, "topic_name": names.get(t, ""), "partitions": sorted(p)}
                                         for t, p in sorted(m.assigned.items(), key=lambda i: str(i[0]))]}}
                                    for m in group.members.values()]})
        return out

    def listed(self) -> list[dict]:
        return [{"group_id": g.group_id, "protocol_type": "share", "group_state": g.state, "group_type": "share"}
                for g in self.groups.values()]

    def delete(self, group_id: str) -> ErrorCode:
        group = self.groups[group_id]
        if group.members:
            return ErrorCode.NON_EMPTY_GROUP
        del self.groups[group_id]
        key = {"group_id": group_id}
        self._changes.append((group_id, R.SHARE_GROUP_TARGET_ASSIGNMENT_METADATA, key, None))
        self._changes.append((group_id, R.SHARE_GROUP_METADATA, key, None))
        return ErrorCode.NONE

    def load(self, now_ms: int, records: Iterable[tuple[int, dict, dict | None]]) -> None:
        """Rebuild groups (epochs, members, assignments) from their records; sessions start now."""
        self._now_ms = max(self._now_ms, now_ms)
        for record_type, key, value in records:
            group_id = key["group_id"]
            group = self.groups.get(group_id)
            if group is None:
                if value is None:
                    continue
                group = self.groups[group_id] = ShareGroup(group_id)
            member_id = key.get("member_id")
            if record_type == R.SHARE_GROUP_METADATA:
                if value is None:
                    del self.groups[group_id]
                else:
                    group.group_epoch = value["epoch"]
            elif record_type == R.SHARE_GROUP_TARGET_ASSIGNMENT_METADATA:
                group.assignment_epoch = 0 if value is None else value["assignment_epoch"]
            elif record_type == R.SHARE_GROUP_TARGET_ASSIGNMENT_MEMBER:
                if value is None:
                    group.target.pop(member_id, None)
                else:
                    group.target[member_id] = {uuid.UUID(bytes=bytes(tp["topic_id"])): frozenset(tp["partitions"])
                                               for tp in value["topic_partitions"]}
            elif record_type == R.SHARE_GROUP_MEMBER_METADATA:
                if value is None:
                    group.members.pop(member_id, None)
                else:
                    old = group.members.get(member_id) or ShareGroupMember(member_id)
                    group.members[member_id] = replace(
                        old, rack_id=value["rack_id"], client_id=value["client_id"],
                        client_host=value["client_host"], subscribed_topic_names=tuple(value["subscribed_topic_names"]))
            elif record_type == R.SHARE_GROUP_CURRENT_MEMBER_ASSIGNMENT and value is not None:
                old = group.members.get(member_id)
                if old is not None:
                    group.members[member_id] = replace(
                        old, member_epoch=value["member_epoch"], previous_member_epoch=value["previous_member_epoch"],
                        assigned={uuid.UUID(bytes=bytes(tp["topic_id"])): frozenset(tp["partitions"])
                                  for tp in value["assigned_partitions"]})
        for group in self.groups.values():
            for member_id in group.members:
                self._timers.schedule(("session", group.group_id, member_id),
                                      self._now_ms + self.settings.session_timeout_ms)
