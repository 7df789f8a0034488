"""The harness itself, the coordinator's timer queue and its clock."""

from __future__ import annotations

import pytest

from broker.groups.rebalance import TimerKind
from broker.groups.timers import TimerQueue
from broker.tests.group_harness import RANGE, Harness, S


def test_harness_builds_a_stable_group():
    h = Harness()
    a, b = h.stable_group("a", "b")
    assert (a, b) == ("a-1", "b-2")
    assert h.state() is S.STABLE and h.generation() == 1
    assert h.answer("g-setup-sync-b-0")["assignment"] == b"b"


# -- TimerQueue -------------------------------------------------------------

def test_timer_reschedule_replaces_and_cancel_removes():
    q = TimerQueue()
    q.schedule("a", 100, "first")
    q.schedule("b", 50)
    q.schedule("a", 200, "second")
    assert q.next_deadline_ms() == 50
    q.cancel("b")
    assert q.next_deadline_ms() == 200
    assert q.pop_due(199) is None
    timer = q.pop_due(200)
    assert (timer.key, timer.deadline_ms, timer.payload) == ("a", 200, "second")
    assert q.pop_due(10**9) is None and q.next_deadline_ms() is None and len(q) == 0


def test_timers_with_equal_deadlines_fire_in_scheduling_order():
    q = TimerQueue()
    for key in ["x", "y", "z"]:
        q.schedule(key, 10)
    q.schedule("x", 10)  # rescheduled: now last
    assert [q.pop_due(10).key for _ in range(3)] == ["y", "z", "x"]


def test_cancel_where():
    q = TimerQueue()
    q.schedule(("heartbeat", "g", "m"), 1)
    q.schedule(("join", "g"), 2)
    q.schedule(("join", "h"), 3)
    q.cancel_where(lambda key: key[1] == "g")
    assert q.next_deadline_ms() == 3 and len(q) == 1


@pytest.mark.parametrize("now", [0, 5])
def test_clock_never_goes_backwards(now):
    h = Harness()
    h.gc.tick(10)
    # A join "at" an earlier time is handled at the latest time seen.
    h._record(h.gc.join(now, "t", "g", "", None, "c", "h", 10_000, 30_000, "consumer", RANGE,
                        False))
    assert h.gc.next_deadline_ms() == 10 + 3000


def test_every_kind_of_timer_has_an_action():
    assert set(Harness().gc._on_timer) == set(TimerKind)
