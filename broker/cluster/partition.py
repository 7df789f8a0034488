"""One replica of a partition on this broker: its leader, epoch, ISR and, when it leads, what
its followers have (Kafka's ``Partition``). Synchronous and clock-free: callers pass ``now_ms``.

As leader it records each follower's log end offset (the fetch offset of its replica
Fetch), advances the high watermark to the smallest log end offset of the ISR, and says
when a follower should join the ISR (caught up to the high watermark and to this leader's
epoch) or leave it (not caught up for ``replica.lag.time.max.ms``). ISR changes go to the
controller (AlterPartition); until one is answered the ISR counted for the high watermark is
the larger of the two (Kafka's maximal ISR), so nothing counts as replicated too early.

Alone in its ISR a leader's high watermark is simply its log end offset (the log follows it).
"""

from __future__ import annotations

import anyio

from storage import PartitionLog

UNKNOWN_OFFSET = -1


class FollowerState:
    """What the leader knows of one follower (Kafka's ``Replica``)."""

    __slots__ = ("log_end_offset", "last_caught_up_ms", "last_fetch_ms", "last_fetch_leader_end")

    def __init__(self, caught_up_ms: int):
        self.log_end_offset = UNKNOWN_OFFSET
        self.last_caught_up_ms = caught_up_ms
        self.last_fetch_ms = 0
        self.last_fetch_leader_end = UNKNOWN_OFFSET

    def fetched(self, fetch_offset: int, leader_end: int, now_ms: int) -> None:
        """Kafka's updateFetchState: a follower is caught up when it fetched from the leader's
        end, or from where the leader's end was at its previous fetch."""
        if fetch_offset >= leader_end:
            self.last_caught_up_ms = max(self.last_caught_up_ms, now_ms)
        elif fetch_offset >= self.last_fetch_leader_end:
            self.last_caught_up_ms = max(self.last_caught_up_ms, self.last_fetch_ms)
        self.log_end_offset = fetch_offset
        self.last_fetch_leader_end = leader_end
        self.last_fetch_ms = now_ms


class AckWaiter:
    """An acks=all produce waiting for the high watermark to pass ``required_offset``."""

    __slots__ = ("required_offset", "leader_epoch", "event")

    def __init__(self, required_offset: int, leader_epoch: int):
        self.required_offset = required_offset
        self.leader_epoch = leader_epoch
        self.event = anyio.Event()


class Partition:
    def __init__(self, topic: str, index: int, log: PartitionLog, broker_id: int):
        self.topic = topic
        self.index = index
        self.log = log
        self.broker_id = broker_id
        self.leader = -1
        self.leader_epoch = -1
        self.partition_epoch = -1
        self.controller_epoch = -1
        self.isr: tuple[int, ...] = ()
        self.replicas: tuple[int, ...] = ()
        self.adding: tuple[int, ...] = ()   # replicas a reassignment adds (their fetches may be throttled)
        self.followers: dict[int, FollowerState] = {}
        self.pending_isr: tuple[int, ...] | None = None   # an AlterPartition in flight
        self.waiters: list[AckWaiter] = []

    def __repr__(self) -> str:
        return (f"Partition({self.topic}-{self.index}, leader={self.leader}, epoch={self.leader_epoch}, "
                f"isr={list(self.isr)}, hw={self.log.high_watermark}, leo={self.log.log_end_offset})")

    @property
    def is_leader(self) -> bool:
        return self.leader == self.broker_id

    @property
    def maximal_isr(self) -> set[int]:
        return set(self.isr) | set(self.pending_isr or ())

    # -- leadership (from LeaderAndIsr) ---------------------------------------------------------------

    def make_leader(self, leader_epoch: int, isr, replicas, partition_epoch: int, now_ms: int) -> bool:
        """Lead at ``leader_epoch``; True if that is a new leadership (an epoch not led before)."""
        new = leader_epoch > self.leader_epoch or not self.is_leader
        self.leader, self.isr, self.replicas = self.broker_id, tuple(isr), tuple(replicas)
        self.partition_epoch = partition_epoch
        self.pending_isr = None
        if new:
            self.leader_epoch = leader_epoch
            self.log.leader_epoch = leader_epoch
            self.log.epochs.assign(leader_epoch, self.log.log_end_offset)
            # a follower's end is unknown until it fetches; those in the ISR count as caught up now
            self.followers = {r: FollowerState(now_ms if r in self.isr else 0) for r in self.replicas
                              if r != self.broker_id}
        else:
            for r in self.replicas:
                if r != self.broker_id and r not in self.followers:
                    self.followers[r] = FollowerState(0)
            for r in list(self.followers):
                if r not in self.replicas:
                    del self.followers[r]
        self._settle_high_watermark()
        return new

    def make_follower(self, leader: int, leader_epoch: int, isr, replicas, partition_epoch: int) -> bool:
        """Follow ``leader``; True if the leader or its epoch changed (fetch afresh, check for a
        divergent tail first). Waiting produces are released: this broker no longer leads."""
        changed = leader != self.leader or leader_epoch != self.leader_epoch
        if self.log.follows_log_end:   # it led alone: what it has is committed
            self.log.set_high_watermark(self.log.high_watermark)
        self.leader, self.leader_epoch = leader, leader_epoch
        self.isr, self.replicas, self.partition_epoch = tuple(isr), tuple(replicas), partition_epoch
        self.followers = {}
        self.pending_isr = None
        self.release_waiters()
        return changed

    def resign(self) -> None:
        """Stop acting as leader without a successor known (session lost, replica stopped)."""
        if self.is_leader:
            self.make_follower(-1, self.leader_epoch, self.isr, self.replicas, self.partition_epoch)

    # -- the leader's bookkeeping --------------------------------------------------------------------

    def follower_fetched(self, replica_id: int, fetch_offset: int, now_ms: int) -> bool:
        """A follower's replica Fetch from ``fetch_offset``; True if the high watermark moved."""
        state = self.followers.get(replica_id)
        if state is None:
            return False
        state.fetched(fetch_offset, self.log.log_end_offset, now_ms)
        return self._settle_high_watermark()

    def should_expand(self, replica_id: int) -> bool:
        """Kafka's isFollowerInSync for an out-of-ISR follower: caught up to the high watermark and
        to the start of this leader's epoch."""
        state = self.followers.get(replica_id)
        if state is None or self.pending_isr is not None or replica_id in self.isr:
            return False
        epochs = self.log.epochs
        epoch_start = epochs.start_offsets[-1] if epochs.latest_epoch == self.leader_epoch else 0
        return state.log_end_offset >= max(self.log.high_watermark, epoch_start)

    def out_of_sync(self, now_ms: int, lag_ms: int) -> list[int]:
        """ISR followers that have not caught up within ``lag_ms`` (Kafka's getOutOfSyncReplicas)."""
        if self.pending_isr is not None:
            return []
        return [r for r in self.isr if r != self.broker_id and r in self.followers
                and now_ms - self.followers[r].last_caught_up_ms > lag_ms]

    def isr_committed(self, isr, partition_epoch: int) -> bool:
        """The controller accepted an ISR; True if the high watermark moved."""
        self.isr, self.partition_epoch, self.pending_isr = tuple(isr), partition_epoch, None
        return self._settle_high_watermark()

    def _settle_high_watermark(self) -> bool:
        """The high watermark after a change of the ISR or of a follower's end: the smallest end
        in the maximal ISR, never lower than before; the log end itself when leading alone."""
        log = self.log
        before = log.high_watermark
        others = [r for r in self.maximal_isr if r != self.broker_id]
        if not others:
            log.set_high_watermark(None)
        else:
            ends = [self.followers[r].log_end_offset if r in self.followers else UNKNOWN_OFFSET for r in others]
            lowest = min(min(ends), log.log_end_offset)
            log.set_high_watermark(max(before, lowest))
        moved = log.high_watermark != before
        if moved or log.follows_log_end:
            self.complete_waiters()
        return moved

    # -- acks=all --------------------------------------------------------------------------------------

    def wait_for(self, required_offset: int) -> AckWaiter:
        """A produce with acks=all waits until the high watermark reaches ``required_offset``."""
        waiter = AckWaiter(required_offset, self.leader_epoch)
        if self.log.high_watermark >= required_offset:
            waiter.event.set()
        else:
            self.waiters.append(waiter)
        return waiter

    def complete_waiters(self) -> None:
        if not self.waiters:
            return
        high_watermark = self.log.high_watermark
        remaining = []
        for waiter in self.waiters:
            if high_watermark >= waiter.required_offset:
                waiter.event.set()
            else:
                remaining.append(waiter)
        self.waiters = remaining

    def release_waiters(self) -> None:
        waiters, self.waiters = self.waiters, []
        for waiter in waiters:
            waiter.event.set()
