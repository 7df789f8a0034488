"""The async shell around the pure group coordinator and the committed offsets.

The coordinator never waits: JoinGroup and SyncGroup requests are parked there under
a token, and every call hands back the responses it completed. This shell holds one
event per parked request, delivers completions, and runs the timers: one task sleeps
until the coordinator's next deadline (or until a call may have moved it) and ticks.
It also expires committed offsets of empty groups every
``offsets.retention.check.interval.ms``.

Groups are persisted as Kafka persists them: after each call the GroupMetadata records
(and tombstones) the coordinator queued are appended to ``__consumer_offsets`` before
the call's completions are delivered; at start the groups found there are loaded back.
"""

from __future__ import annotations

import itertools
import logging

import anyio

from broker.clock import now_ms
from broker.groups.config import GroupCoordinatorConfig
from broker.groups.coordinator import GroupCoordinator
from broker.groups.group import GroupState
from broker.offsets import COMMIT_TIME, OffsetStore

log = logging.getLogger("kbroker.groups")


class _Parked:
    __slots__ = ("event", "response")

    def __init__(self):
        self.event = anyio.Event()
        self.response: dict | None = None


class GroupService:
    def __init__(self, broker):
        config = broker.config
        self.coordinator = GroupCoordinator(GroupCoordinatorConfig(
            group_initial_rebalance_delay_ms=config.group_initial_rebalance_delay_ms,
            group_min_session_timeout_ms=config.group_min_session_timeout_ms,
            group_max_session_timeout_ms=config.group_max_session_timeout_ms,
            group_max_size=config.group_max_size))
        self.offsets = OffsetStore(broker.storage, config.offsets_topic_num_partitions)
        self._retention_ms = config.offsets_retention_minutes * 60_000
        self._check_interval_s = config.offsets_retention_check_interval_ms / 1000
        self._parked: dict[int, _Parked] = {}
        self._tokens = itertools.count()
        self._deadline_moved = anyio.Event()
        self._load_groups()
        self.coordinator.add_group_deleted_listener(self._group_deleted)
        broker.topic_deleted_hooks.append(self._topic_deleted)

    # -- calls into the coordinator ---------------------------------------------------

    def call(self, method: str, *args, **kwargs):
        """Call a coordinator method that returns (result, completions); deliver them."""
        result, completions = getattr(self.coordinator, method)(now_ms(), *args, **kwargs)
        self.deliver(completions)
        return result

    async def wait_for(self, method: str, *args, **kwargs) -> dict:
        """Call a coordinator method that may park the request (join, sync) and await its answer."""
        token = next(self._tokens)
        parked = self._parked[token] = _Parked()
        try:
            completions = getattr(self.coordinator, method)(now_ms(), token, *args, **kwargs)
            self.deliver(completions)
            await parked.event.wait()
            return parked.response
        finally:
            self._parked.pop(token, None)

    def deliver(self, completions) -> None:
        """Persist what the call changed in groups, then hand out its completions."""
        changes = self.coordinator.take_group_changes()
        if changes:
            self._store_groups(changes)
        for token, response in completions:
            parked = self._parked.pop(token, None)
            if parked is not None:
                parked.response = response
                parked.event.set()
        self._deadline_moved.set()

    # -- background ---------------------------------------------------------------

    async def run_timers(self) -> None:
        while True:
            deadline = self.coordinator.next_deadline_ms()
            self._deadline_moved = anyio.Event()
            if deadline is None:
                await self._deadline_moved.wait()
                continue
            delay_s = (deadline - now_ms()) / 1000
            if delay_s > 0:
                with anyio.move_on_after(delay_s):
                    await self._deadline_moved.wait()
                    continue
            self.deliver(self.coordinator.tick(now_ms()))

    async def run_offset_expiry(self) -> None:
        while True:
            await anyio.sleep(self._check_interval_s)
            self.expire_offsets()

    def expire_offsets(self) -> int:
        """Kafka's offset retention: offsets of empty groups go after offsets.retention.minutes."""
        now = now_ms()
        coordinator = self.coordinator

        def expires_from(group_id: str, topic: str) -> int | None:
            condition = coordinator.offset_expiration(group_id)
            if condition is None:
                return None
            if condition.empty_since_ms is not None:
                return condition.empty_since_ms
            if (coordinator.group_state(group_id) is GroupState.STABLE
                    and coordinator.is_subscribed_to_topic(group_id, topic)):
                return None
            return COMMIT_TIME

        removed = self.offsets.expire(now, self._retention_ms, expires_from)
        for group_id in coordinator.group_ids():
            if not self.offsets.group_offsets(group_id):
                self.call("maybe_delete_group", group_id)
        if removed:
            log.info("expired %d committed offsets", removed)
        return removed

    # -- persistence ----------------------------------------------------------------

    def _load_groups(self) -> None:
        """Groups with a GroupMetadata record come back as they were (their members'
        sessions start now); groups known only from their offsets come back Empty
        without a protocol type, as Kafka's simple groups."""
        now = now_ms()
        for snapshot in self.offsets.take_loaded_groups():
            try:
                self.coordinator.load_group(now, snapshot)
            except ValueError as exc:
                log.warning("not loading the metadata of group %s: %s", snapshot.group_id, exc)
        for group_id in self.offsets.groups():
            self.coordinator.load_group(now, group_id)

    def _store_groups(self, changes) -> None:
        last: dict = {}
        for group_id, snapshot in changes:   # only the last record of a group matters
            last.pop(group_id, None)
            last[group_id] = snapshot
        try:
            self.offsets.store_groups(list(last.items()), now_ms())
        except Exception:
            # Kafka only warns when it cannot store an empty group; for a generation's
            # assignment it answers with an error. Here the group lives on in memory
            # and the next change of the group writes it again.
            log.exception("could not store the metadata of groups %s", sorted(last))

    # -- hooks ----------------------------------------------------------------------

    def _group_deleted(self, group_id: str) -> None:
        self.offsets.delete_group(group_id, now_ms())

    def _topic_deleted(self, topic: str) -> None:
        self.offsets.delete_topic(topic, now_ms())
