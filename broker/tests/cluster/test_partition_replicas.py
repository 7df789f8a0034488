"""The leader's bookkeeping of one partition (no sockets, a fake clock): followers' ends, the
high watermark over the ISR, who joins and who leaves the ISR, acks=all waiters."""

from __future__ import annotations

from broker.cluster.partition import Partition
from storage import LogConfig, Storage
from storage.tests.helpers import make_batch


def leading(isr=(1, 2, 3), now=1000) -> Partition:
    storage = Storage.open(None, LogConfig())
    storage.create_topic("t", 1)
    p = Partition("t", 0, storage.partition("t", 0), broker_id=1)
    p.make_leader(3, isr, (1, 2, 3), partition_epoch=5, now_ms=now)
    return p


def append(p: Partition, count: int) -> int:
    return p.log.append(make_batch(count), now_ms=1).last_offset + 1


def test_the_high_watermark_is_the_smallest_end_in_the_isr():
    p = leading()
    end = append(p, 10)
    assert p.log.high_watermark == 0
    waiter = p.wait_for(end)
    assert not p.follower_fetched(2, 10, now_ms=1001)   # 3 has not fetched yet
    assert p.follower_fetched(3, 4, now_ms=1001) and p.log.high_watermark == 4
    assert not waiter.event.is_set()
    assert p.follower_fetched(3, 10, now_ms=1002) and p.log.high_watermark == 10
    assert waiter.event.is_set()
    assert p.log.epochs.entries() == [(3, 0)] and p.log.leader_epoch == 3


def test_alone_in_the_isr_the_high_watermark_is_the_log_end():
    p = leading(isr=(1,))
    end = append(p, 3)
    assert p.log.high_watermark == end and p.wait_for(end).event.is_set()


def test_followers_leave_after_the_lag_and_come_back_when_caught_up():
    p = leading(now=0)
    append(p, 5)
    p.follower_fetched(2, 5, now_ms=100)
    p.follower_fetched(3, 2, now_ms=100)
    assert p.out_of_sync(now_ms=20000, lag_ms=30000) == []
    assert p.out_of_sync(now_ms=30050, lag_ms=30000) == [3]   # 2 caught up at 100, 3 never since 0
    p.pending_isr = (1, 2)
    assert p.out_of_sync(now_ms=30050, lag_ms=30000) == []    # one change at a time
    assert p.isr_committed((1, 2), partition_epoch=6) and p.log.high_watermark == 5
    assert not p.should_expand(3)
    p.follower_fetched(3, 5, now_ms=32000)
    assert p.should_expand(3)


def test_a_new_leader_releases_nothing_a_follower_releases_its_waiters():
    p = leading()
    waiter = p.wait_for(append(p, 2))
    p.make_follower(2, 4, (2, 3), (1, 2, 3), partition_epoch=7)
    assert waiter.event.is_set() and not p.is_leader and p.log.high_watermark == 0
