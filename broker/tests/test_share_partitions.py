"""KIP-932 share-partitions and share-group membership: the pure state machines with a fake clock.

A share-partition hands records to members under acquisition locks and takes their
acknowledgements; these tables check what a consumer would see: which offsets it gets,
with which delivery count, and which acknowledgements are refused.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import pytest

from broker.groups.share.coordinator import ShareGroupCoordinator, ShareGroupSettings, assign
from broker.groups.share.partition import AckType, RecordState, SharePartition
from broker.groups.share.state import overlay
from kproto.errors import ErrorCode as E

LOCK, LIMIT = 30000, 3
ACCEPT, RELEASE, REJECT, RENEW, GAP = AckType.ACCEPT, AckType.RELEASE, AckType.REJECT, AckType.RENEW, AckType.GAP


def acquire(sp: SharePartition, member: str, now: int, batches=(), max_records: int = 500, max_locks: int = 2000):
    acquired, _ = sp.acquire(now, member, LOCK, LIMIT, max_records, max_locks, list(batches))
    return acquired


def ack(sp: SharePartition, member: str, now: int, *batches):
    code, _ = sp.acknowledge(now, member, list(batches), LOCK, LIMIT)
    return code


def test_new_batches_are_acquired_whole_and_accepting_moves_the_start_offset():
    sp = SharePartition(10)
    assert acquire(sp, "a", 0, [(10, 14), (15, 19)]) == [(10, 14, 1), (15, 19, 1)]
    assert sp.end_offset == 20
    assert ack(sp, "a", 1, (10, 14, [ACCEPT])) == E.NONE
    assert sp.start_offset == 15


def test_two_members_never_hold_the_same_records():
    sp = SharePartition(0)
    assert acquire(sp, "a", 0, [(0, 9)]) == [(0, 9, 1)]
    assert acquire(sp, "b", 0, [(0, 9)]) == []                 # all locked by a
    assert acquire(sp, "b", 0, [(0, 9), (10, 19)]) == [(10, 19, 1)]


@pytest.mark.parametrize("member, batch, code", [
    ("b", (0, 4, [ACCEPT]), E.INVALID_RECORD_STATE),       # held by someone else
    ("a", (0, 12, [ACCEPT]), E.INVALID_RECORD_STATE),      # beyond what was delivered
    ("a", (4, 2, [ACCEPT]), E.INVALID_REQUEST),            # last before first
    ("a", (0, 4, [ACCEPT, ACCEPT]), E.INVALID_REQUEST),    # neither one type nor one per offset
    ("a", (0, 4, [9]), E.INVALID_RECORD_STATE),            # no such acknowledge type
])
def test_acknowledgements_for_records_not_held_are_refused_whole(member, batch, code):
    sp = SharePartition(0)
    acquire(sp, "a", 0, [(0, 9)])
    assert ack(sp, member, 1, batch) == code
    assert ack(sp, "a", 1, (0, 9, [ACCEPT])) == E.NONE          # nothing was applied


def test_acknowledging_twice_is_invalid_record_state():
    sp = SharePartition(0)
    acquire(sp, "a", 0, [(0, 4)])
    assert ack(sp, "a", 1, (0, 1, [ACCEPT])) == E.NONE
    assert ack(sp, "a", 1, (0, 1, [ACCEPT])) == E.INVALID_RECORD_STATE


def test_release_makes_records_available_again_with_a_higher_delivery_count():
    sp = SharePartition(0)
    acquire(sp, "a", 0, [(0, 4)])
    assert ack(sp, "a", 1, (0, 4, [ACCEPT, RELEASE, ACCEPT, RELEASE, REJECT])) == E.NONE
    assert acquire(sp, "b", 2) == [(1, 1, 2), (3, 3, 2)]
    assert ack(sp, "b", 3, (1, 1, [ACCEPT]), (3, 3, [ACCEPT])) == E.NONE
    assert sp.start_offset == 5 and sp.ranges() == []


def test_an_expired_lock_redelivers_and_the_delivery_limit_archives():
    sp = SharePartition(0)
    acquire(sp, "a", 0, [(0, 1)])
    now = 0
    for delivery in (2, 3):
        now += LOCK
        assert acquire(sp, "b", now) == [(0, 1, delivery)]
    now += LOCK
    assert acquire(sp, "b", now) == []                          # delivered LIMIT times: archived
    assert sp.start_offset == 2
    assert sp.ranges() == []


def test_renew_extends_the_lock():
    sp = SharePartition(0)
    acquire(sp, "a", 0, [(0, 0)])
    assert ack(sp, "a", LOCK - 1, (0, 0, [RENEW])) == E.NONE
    assert acquire(sp, "b", LOCK + 1) == []                     # still a's
    assert ack(sp, "a", LOCK + 2, (0, 0, [ACCEPT])) == E.NONE


def test_a_departed_member_releases_what_it_held():
    sp = SharePartition(0)
    acquire(sp, "a", 0, [(0, 3)])
    acquire(sp, "b", 0, [(4, 5)])
    assert sp.release_member("a", LIMIT) == [(0, 3, int(RecordState.AVAILABLE), 1)]
    assert acquire(sp, "c", 1) == [(0, 3, 2)]


def test_max_records_and_max_locks():
    sp = SharePartition(0)
    assert acquire(sp, "a", 0, [(0, 9), (10, 19)], max_records=5) == [(0, 9, 1)]    # whole batches
    assert acquire(sp, "b", 0, [(10, 19), (20, 29)], max_locks=15) == [(10, 19, 1)]


def test_gap_acknowledgements_archive():
    sp = SharePartition(0)
    acquire(sp, "a", 0, [(0, 2)])
    assert ack(sp, "a", 1, (0, 2, [ACCEPT, GAP, ACCEPT])) == E.NONE
    assert sp.start_offset == 3


def test_persisted_state_rebuilds_the_partition():
    sp = SharePartition(0)
    acquire(sp, "a", 0, [(0, 9)])
    ack(sp, "a", 1, (2, 3, [ACCEPT]), (5, 5, [REJECT]), (0, 1, [RELEASE]))
    again = SharePartition(sp.start_offset, batches=sp.state_batches())
    assert again.state_batches() == [(0, 1, 0, 1), (2, 3, 2, 1), (4, 4, 0, 1), (5, 5, 4, 1), (6, 9, 0, 1)]
    assert acquire(again, "b", 2) == [(0, 1, 2), (4, 4, 2), (6, 9, 2)]


def test_updates_overlay_a_snapshot():
    assert overlay([(0, 9, 0, 1)], [(3, 4, 2, 1)]) == [(0, 2, 0, 1), (3, 4, 2, 1), (5, 9, 0, 1)]
    assert overlay([(0, 2, 0, 1)], [(0, 5, 4, 2)]) == [(0, 5, 4, 2)]


# -- membership ------------------------------------------------------------------------

@dataclass
class Topic:
    topic_id: uuid.UUID
    num_partitions: int


def test_several_members_share_one_partition():
    t = uuid.UUID(int=7)
    assert assign({"a": frozenset({t}), "b": frozenset({t})}, {t: 1}) == {"a": {t: frozenset({0})},
                                                                           "b": {t: frozenset({0})}}
    assert assign({"a": frozenset({t})}, {t: 3}) == {"a": {t: frozenset({0, 1, 2})}}


def test_share_heartbeats_join_fence_and_leave():
    topics = {"q": Topic(uuid.UUID(int=7), 1)}
    c = ShareGroupCoordinator(ShareGroupSettings(session_timeout_ms=5000))

    def beat(member, epoch, now=0, names=("q",)):
        return c.heartbeat(now, {"group_id": "s", "member_id": member, "member_epoch": epoch, "rack_id": None,
                                 "subscribed_topic_names": list(names) if epoch == 0 else None},
                           "cid", "/h", topics)

    r = beat("a", 0)
    assert (r["error_code"], r["member_epoch"]) == (E.NONE, 1)
    assert r["assignment"]["topic_partitions"][0]["partitions"] == [0]
    assert beat("b", 0)["member_epoch"] == 2
    assert beat("a", 1)["member_epoch"] == 2                    # the new epoch at once
    assert beat("a", 7)["error_code"] == E.FENCED_MEMBER_EPOCH
    assert beat("zz", 3)["error_code"] == E.UNKNOWN_MEMBER_ID
    assert beat("", 0)["error_code"] == E.INVALID_REQUEST
    assert beat("b", -1)["member_epoch"] == -1
    c.tick(6000)                                                 # a silent past its session
    assert c.groups["s"].members == {} and c.take_departed() == [("s", "b"), ("s", "a")]
