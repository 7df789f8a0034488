"""Transaction states: every transition, allowed or not, and how a transition takes effect."""

from __future__ import annotations

import itertools

import pytest

from broker.transactions.state import (
    IllegalTransition,
    TransactionMetadata,
    TransactionState,
    check_transition,
)

S = TransactionState

# Kafka's TransactionState: target -> valid previous states (copied by hand from Kafka's
# TransactionMetadata.scala, on purpose independent of broker.transactions.state).
KAFKA_VALID_PREVIOUS = {
    S.EMPTY: {S.EMPTY, S.COMPLETE_COMMIT, S.COMPLETE_ABORT},
    S.ONGOING: {S.ONGOING, S.EMPTY, S.COMPLETE_COMMIT, S.COMPLETE_ABORT},
    S.PREPARE_COMMIT: {S.ONGOING},
    S.PREPARE_ABORT: {S.ONGOING, S.PREPARE_EPOCH_FENCE},
    S.COMPLETE_COMMIT: {S.PREPARE_COMMIT},
    S.COMPLETE_ABORT: {S.PREPARE_ABORT},
    S.DEAD: {S.EMPTY, S.COMPLETE_ABORT, S.COMPLETE_COMMIT},
    S.PREPARE_EPOCH_FENCE: {S.ONGOING},
}


@pytest.mark.parametrize("source,target", list(itertools.product(S, S)),
                         ids=lambda s: s.kafka_name)
def test_transition_table(source, target):
    meta = TransactionMetadata("tx", producer_id=7, producer_epoch=3, state=source)
    if source in KAFKA_VALID_PREVIOUS[target]:
        check_transition(source, target)
        transit = meta.prepare(target, now_ms=42)
        assert (meta.state, meta.pending_state, transit.state) == (source, target, target)
        meta.complete(transit)
        assert (meta.state, meta.pending_state, meta.txn_last_update_timestamp_ms) == (target, None, 42)
    else:
        with pytest.raises(IllegalTransition):
            check_transition(source, target)
        with pytest.raises(IllegalTransition):
            meta.prepare(target, now_ms=42)
        assert (meta.state, meta.pending_state) == (source, None)


def test_state_ids_and_names_are_kafkas():
    assert [(int(s), s.kafka_name) for s in S] == [
        (0, "Empty"), (1, "Ongoing"), (2, "PrepareCommit"), (3, "PrepareAbort"), (4, "CompleteCommit"),
        (5, "CompleteAbort"), (6, "Dead"), (7, "PrepareEpochFence")]


def test_a_pending_transition_blocks_another_until_done_or_abandoned():
    meta = TransactionMetadata("tx", producer_id=7, producer_epoch=0, state=S.EMPTY)
    transit = meta.prepare(S.ONGOING, now_ms=5, partitions=frozenset({("t", 0)}), txn_start_timestamp_ms=5)
    assert meta.partitions == frozenset()          # nothing changes before the record is written
    with pytest.raises(IllegalTransition, match="pending"):
        meta.prepare(S.ONGOING, now_ms=6)
    meta.abandon()
    assert (meta.state, meta.pending_state, meta.partitions) == (S.EMPTY, None, frozenset())
    with pytest.raises(IllegalTransition, match="not pending"):
        meta.complete(transit)
    again = meta.prepare(S.ONGOING, now_ms=7, partitions=frozenset({("t", 1)}), txn_start_timestamp_ms=7)
    meta.complete(again)
    assert (meta.state, meta.partitions, meta.txn_start_timestamp_ms) == (S.ONGOING, frozenset({("t", 1)}), 7)
