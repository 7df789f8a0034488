"""A transactional id's state: Kafka's TransactionState, its allowed transitions, and the metadata.

The states and their ids are Kafka's (the ids are what TransactionLogValue.TransactionStatus
holds, the names what DescribeTransactions and ListTransactions show). A transition is allowed
when the current state is one of the target's valid previous states, as in Kafka's
TransactionState; the table below is the whole rule:

  target              from
  Empty               Empty, CompleteCommit, CompleteAbort     (InitProducerId)
  Ongoing             Ongoing, Empty, CompleteCommit, CompleteAbort   (AddPartitions/AddOffsets)
  PrepareCommit       Ongoing                                  (EndTxn commit)
  PrepareAbort        Ongoing, PrepareEpochFence               (EndTxn abort, a fence)
  CompleteCommit      PrepareCommit                            (markers written)
  CompleteAbort       PrepareAbort                             (markers written)
  Dead                Empty, CompleteCommit, CompleteAbort     (transactional.id.expiration.ms)
  PrepareEpochFence   Ongoing                                  (re-init or timeout of an open one)

PrepareEpochFence is never written: it is the pending state of a fence, which goes on to
PrepareAbort with the epoch bumped.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from enum import IntEnum

NO_PRODUCER_ID = -1
NO_PRODUCER_EPOCH = -1
MAX_PRODUCER_EPOCH = 32767


class TransactionState(IntEnum):
    EMPTY = 0
    ONGOING = 1
    PREPARE_COMMIT = 2
    PREPARE_ABORT = 3
    COMPLETE_COMMIT = 4
    COMPLETE_ABORT = 5
    DEAD = 6
    PREPARE_EPOCH_FENCE = 7

    @property
    def kafka_name(self) -> str:
        return KAFKA_NAMES[self]


S = TransactionState

KAFKA_NAMES = {
    S.EMPTY: "Empty", S.ONGOING: "Ongoing", S.PREPARE_COMMIT: "PrepareCommit", S.PREPARE_ABORT: "PrepareAbort",
    S.COMPLETE_COMMIT: "CompleteCommit", S.COMPLETE_ABORT: "CompleteAbort", S.DEAD: "Dead",
    S.PREPARE_EPOCH_FENCE: "PrepareEpochFence",
}
BY_KAFKA_NAME = {name: state for state, name in KAFKA_NAMES.items()}

VALID_PREVIOUS_STATES: dict[TransactionState, frozenset[TransactionState]] = {
    S.EMPTY: frozenset({S.EMPTY, S.COMPLETE_COMMIT, S.COMPLETE_ABORT}),
    S.ONGOING: frozenset({S.ONGOING, S.EMPTY, S.COMPLETE_COMMIT, S.COMPLETE_ABORT}),
    S.PREPARE_COMMIT: frozenset({S.ONGOING}),
    S.PREPARE_ABORT: frozenset({S.ONGOING, S.PREPARE_EPOCH_FENCE}),
    S.COMPLETE_COMMIT: frozenset({S.PREPARE_COMMIT}),
    S.COMPLETE_ABORT: frozenset({S.PREPARE_ABORT}),
    S.DEAD: frozenset({S.EMPTY, S.COMPLETE_COMMIT, S.COMPLETE_ABORT}),
    S.PREPARE_EPOCH_FENCE: frozenset({S.ONGOING}),
}

# An id in one of these states may be forgotten after transactional.id.expiration.ms.
EXPIRATION_ALLOWED = frozenset({S.EMPTY, S.COMPLETE_COMMIT, S.COMPLETE_ABORT})
# A transaction in one of these states has markers to write or being written.
PREPARING = frozenset({S.PREPARE_COMMIT, S.PREPARE_ABORT})


class IllegalTransition(RuntimeError):
    """A transition the table does not allow: a bug in the coordinator, never a client's doing."""


def check_transition(current: TransactionState, target: TransactionState) -> None:
    if current not in VALID_PREVIOUS_STATES[target]:
        raise IllegalTransition(f"{current.kafka_name} -> {target.kafka_name} is not a valid transition")


def is_epoch_exhausted(producer_epoch: int) -> bool:
    """Kafka keeps the last epoch of a producer id for fencing: at 32766 a new id is needed."""
    return producer_epoch >= MAX_PRODUCER_EPOCH - 1


@dataclass(frozen=True, slots=True)
class Transit:
    """What a transactional id's metadata becomes once its record is written (Kafka's
    TxnTransitMetadata); one to Dead is written as a tombstone (the id expires)."""
    transactional_id: str
    producer_id: int
    previous_producer_id: int
    producer_epoch: int
    last_producer_epoch: int
    txn_timeout_ms: int
    state: TransactionState
    partitions: frozenset[tuple[str, int]]
    txn_start_timestamp_ms: int
    txn_last_update_timestamp_ms: int


@dataclass(slots=True)
class TransactionMetadata:
    """One transactional id, as its coordinator holds it (Kafka's TransactionMetadata)."""
    transactional_id: str
    producer_id: int
    previous_producer_id: int = NO_PRODUCER_ID
    producer_epoch: int = NO_PRODUCER_EPOCH
    last_producer_epoch: int = NO_PRODUCER_EPOCH
    txn_timeout_ms: int = 60000
    state: TransactionState = S.EMPTY
    partitions: frozenset[tuple[str, int]] = frozenset()
    txn_start_timestamp_ms: int = -1
    txn_last_update_timestamp_ms: int = -1
    # The state a written-but-not-yet-acknowledged transit leads to; while set, requests that
    # would change the id get CONCURRENT_TRANSACTIONS.
    pending_state: TransactionState | None = None
    pending: Transit | None = field(default=None, repr=False)

    def prepare(self, target: TransactionState, *, now_ms: int, **changes) -> Transit:
        """The transit to ``target`` with ``changes`` (Transit field names), checked against
        the table and held as the pending state until ``complete``."""
        if self.pending_state is not None:
            raise IllegalTransition(f"{self.transactional_id}: transition to {target.kafka_name} while "
                                    f"{self.pending_state.kafka_name} is pending")
        check_transition(self.state, target)
        transit = Transit(
            transactional_id=self.transactional_id, producer_id=self.producer_id,
            previous_producer_id=self.previous_producer_id, producer_epoch=self.producer_epoch,
            last_producer_epoch=self.last_producer_epoch, txn_timeout_ms=self.txn_timeout_ms, state=target,
            partitions=self.partitions, txn_start_timestamp_ms=self.txn_start_timestamp_ms,
            txn_last_update_timestamp_ms=now_ms)
        transit = dataclasses.replace(transit, **changes)
        self.pending_state, self.pending = target, transit
        return transit

    def complete(self, transit: Transit) -> None:
        """The transit's record is written: it takes effect."""
        if self.pending is not transit:
            raise IllegalTransition(f"{self.transactional_id}: completing a transition that is not pending")
        self.producer_id = transit.producer_id
        self.previous_producer_id = transit.previous_producer_id
        self.producer_epoch = transit.producer_epoch
        self.last_producer_epoch = transit.last_producer_epoch
        self.txn_timeout_ms = transit.txn_timeout_ms
        self.state = transit.state
        self.partitions = transit.partitions
        self.txn_start_timestamp_ms = transit.txn_start_timestamp_ms
        self.txn_last_update_timestamp_ms = transit.txn_last_update_timestamp_ms
        self.pending_state = self.pending = None

    def abandon(self) -> None:
        """The transit's record could not be written: nothing changed."""
        self.pending_state = self.pending = None
