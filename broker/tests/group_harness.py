"""A fake-clock harness for the group coordinator (a helper module, not a test module).

The harness plays the async shell: it keeps the time, calls ``tick`` exactly at
``next_deadline_ms`` while advancing, and records every completion with the time
it was answered. Member ids are deterministic: ``<client_id or instance id>-<n>``.
Like the shell it takes the group changes (GroupMetadata records) after every call and
keeps the last of each group in ``stored``, the log as a restarted broker would read it.
"""

from __future__ import annotations

import dataclasses
import itertools
from collections import Counter

from broker.groups.config import GroupConfig
from broker.groups.coordinator import GroupCoordinator
from broker.groups.group import GroupState
from broker.groups.snapshot import GroupSnapshot
from kproto.errors import ErrorCode

E = ErrorCode
S = GroupState
RANGE = (("range", b"range-meta"),)


class Harness:
    def __init__(self, **config):
        self._seq = itertools.count(1)
        self.gc = GroupCoordinator(GroupConfig(**config),
                                   member_id_factory=lambda prefix: f"{prefix}-{next(self._seq)}")
        self.now = 0
        self.answers: dict = {}
        self.answered_at: dict = {}
        self.deleted: list[str] = []
        self.gc.add_group_deleted_listener(self.deleted.append)
        self.changes: list[tuple[str, GroupSnapshot | None]] = []   # every change, in order
        self.stored: dict[str, GroupSnapshot] = {}                   # the last of each group

    # -- clock -------------------------------------------------------------

    def advance(self, to_ms: int | None) -> None:
        """Move the clock to ``to_ms``, ticking at every deadline on the way."""
        if to_ms is None:
            return
        assert to_ms >= self.now, "the fake clock only moves forward"
        while (deadline := self.gc.next_deadline_ms()) is not None and deadline <= to_ms:
            self.now = max(self.now, deadline)
            self._record(self.gc.tick(self.now))
        self.now = to_ms

    def _record(self, completions) -> None:
        self.take_changes()
        self.check_invariants()
        for token, response in completions:
            assert token not in self.answers, f"token {token!r} answered twice"
            self.answers[token] = response
            self.answered_at[token] = self.now

    def check_invariants(self) -> None:
        """Bookkeeping that must hold after every call, whatever the scenario."""
        for group in self.gc._groups.values():
            members = group.members
            assert group.num_awaiting_join() == sum(m.is_awaiting_join for m in members.values())
            assert group.leader_id in members if members else group.leader_id is None
            assert group.static_members == {
                m.group_instance_id: m.member_id for m in members.values() if m.is_static}
            assert group.pending_sync_members <= members.keys()
            assert not group.pending_join_members & members.keys()
            expected = Counter(n for m in members.values() for n in set(m.protocol_names()))
            assert group.supported_protocols == expected
            if group.state is S.EMPTY or not members:
                assert not members and group.state in (S.EMPTY, S.PREPARING_REBALANCE)
            if group.state in (S.EMPTY, S.PREPARING_REBALANCE):
                assert not any(m.is_awaiting_sync for m in members.values())
            if group.state is not S.PREPARING_REBALANCE:
                assert not any(m.is_awaiting_join for m in members.values())
        self.check_persisted()

    def take_changes(self) -> list[tuple[str, GroupSnapshot | None]]:
        changes = self.gc.take_group_changes()
        for group_id, snapshot in changes:
            if snapshot is None:
                self.stored.pop(group_id, None)
            else:
                self.stored[group_id] = snapshot
        self.changes.extend(changes)
        return changes

    def check_persisted(self) -> None:
        """What a restart would load matches the live groups wherever Kafka's would: a Stable
        group is its last record (but for the state timestamp, taken before the group went
        Stable), an Empty group is its last record exactly or, without one, a group that
        never had a generation; a deleted group has none. Loading the record into a fresh
        coordinator gives the group DescribeGroups and ListGroups show now."""
        def untimed(snapshot):
            return dataclasses.replace(snapshot, state_timestamp_ms=None)

        assert self.stored.keys() <= self.gc._groups.keys()
        for group_id, group in self.gc._groups.items():
            stored = self.stored.get(group_id)
            if group.state is S.STABLE:
                assert stored is not None and untimed(stored) == untimed(group.snapshot())
            elif group.state is S.EMPTY:
                if stored is None:
                    assert (group.protocol_type, group.generation_id) == (None, 0)
                    continue
                assert stored == group.snapshot()
            else:
                continue
            fresh = GroupCoordinator(self.gc.config)
            assert fresh.load_group(self.now, stored) == []
            assert fresh.describe([group_id]) == self.gc.describe([group_id])
            assert fresh.list_groups() == [group.listed()]

    def answer(self, token):
        return self.answers.get(token)

    def error(self, token):
        response = self.answers.get(token)
        return None if response is None else response["error_code"]

    # -- requests ----------------------------------------------------------

    def join(self, token, member_id="", *, at=None, group="g", instance=None, client="c",
             session=10_000, rebalance=30_000, ptype="consumer", protocols=RANGE,
             v4=False, v9=False):
        self.advance(at)
        self._record(self.gc.join(self.now, token, group, member_id, instance, client,
                                  "/127.0.0.1", session, rebalance, ptype, protocols, v4,
                                  supports_skip_assignment=v9))
        return self.answers.get(token)

    def sync(self, token, member_id, generation, assignments=(), *, at=None, group="g",
             instance=None, ptype=None, pname=None):
        self.advance(at)
        self._record(self.gc.sync(self.now, token, group, generation, member_id, instance,
                                  ptype, pname, assignments))
        return self.answers.get(token)

    def heartbeat(self, member_id, generation, *, at=None, group="g", instance=None):
        self.advance(at)
        code, completions = self.gc.heartbeat(self.now, group, generation, member_id, instance)
        self._record(completions)
        return code

    def leave(self, *members, at=None, group="g"):
        self.advance(at)
        response, completions = self.gc.leave(self.now, group, list(members))
        self._record(completions)
        return response

    def commit(self, member_id, generation, *, at=None, group="g", instance=None,
               api_version=9, transactional=False):
        self.advance(at)
        code, completions = self.gc.validate_commit(self.now, group, generation, member_id,
                                                    instance, api_version,
                                                    transactional=transactional)
        self._record(completions)
        return code

    def delete(self, *group_ids, at=None):
        self.advance(at)
        results, completions = self.gc.delete_groups(self.now, list(group_ids))
        self._record(completions)
        return [(r["group_id"], r["error_code"]) for r in results]

    # -- queries -----------------------------------------------------------

    def state(self, group="g"):
        return self.gc.group_state(group)

    def generation(self, group="g"):
        return self.gc.group_generation_id(group)

    def describe(self, group="g"):
        return self.gc.describe([group])[0]

    def member_ids(self, group="g"):
        return [m["member_id"] for m in self.describe(group)["members"]]

    # -- scenarios ---------------------------------------------------------

    def stable_group(self, *clients, group="g", session=10_000, rebalance=30_000,
                     protocols=RANGE, instances=None):
        """Members join (v3) at the current time, the initial delay passes, the leader
        assigns b"<client>" to each. Returns the member ids in join order."""
        start = self.now
        tokens = [f"{group}-setup-join-{c}-{start}" for c in clients]
        for i, (client, token) in enumerate(zip(clients, tokens)):
            self.join(token, client=client, group=group, session=session, rebalance=rebalance,
                      protocols=protocols, instance=instances[i] if instances else None)
        while not all(t in self.answers for t in tokens):
            self.advance(self.gc.next_deadline_ms())
        responses = [self.answers[t] for t in tokens]
        assert all(r["error_code"] == E.NONE for r in responses), responses
        ids = [r["member_id"] for r in responses]
        generation = responses[0]["generation_id"]
        leader = responses[0]["leader"]
        assignments = [(m, c.encode()) for m, c in zip(ids, clients)]
        for member_id, client in zip(ids, clients):
            if member_id != leader:
                self.sync(f"{group}-setup-sync-{client}-{start}", member_id, generation,
                          group=group)
        self.sync(f"{group}-setup-sync-leader-{start}", leader, generation, assignments,
                  group=group)
        assert self.state(group) is S.STABLE
        return ids
