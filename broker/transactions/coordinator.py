"""The transaction coordinator: transactional ids and their transactions, a pure state machine.

No I/O, no asyncio, no wall clock: every call that may change state takes ``now_ms`` and
answers at once with an error code (and, for InitProducerId, the id and epoch). A change is
queued as a ``Transit`` (``take_writes``) and holds the id in its pending state; the shell
writes it to ``__transaction_state`` and reports ``write_done`` (it takes effect) or
``write_failed`` (it never happened; the answer becomes COORDINATOR_NOT_AVAILABLE). A
transaction that reaches PrepareCommit or PrepareAbort queues a ``MarkerJob``
(``take_marker_jobs``); once the shell has written the markers it calls ``markers_written``
and the transaction completes. Each call follows Kafka's TransactionCoordinator, including its
error codes for every request in every state:

  request          state / condition                         answer
  InitProducerId   unknown id                                new producer id, epoch 0
                   Empty, CompleteCommit, CompleteAbort      the epoch bumped (a new id when exhausted)
                   Ongoing                                   fence: abort with the epoch bumped, CONCURRENT_TRANSACTIONS
                   PrepareCommit, PrepareAbort, pending      CONCURRENT_TRANSACTIONS
                   v3+ other producer id / stale epoch       PRODUCER_FENCED
  AddPartitions    unknown id, other producer id             INVALID_PRODUCER_ID_MAPPING
                   other epoch                               PRODUCER_FENCED
                   PrepareCommit, PrepareAbort, pending      CONCURRENT_TRANSACTIONS
                   otherwise                                 Ongoing with the partitions added
  EndTxn           unknown id, other producer id             INVALID_PRODUCER_ID_MAPPING
                   other epoch                               PRODUCER_FENCED
                   Ongoing                                   PrepareCommit / PrepareAbort, then markers
                   Complete* with the same decision          NONE (a retry)
                   Prepare* with the same decision           CONCURRENT_TRANSACTIONS
                   the other decision, or Empty              INVALID_TXN_STATE

Timeouts: ``abort_timed_out`` (Kafka's periodic sweep) fences every Ongoing transaction older
than its timeout: the epoch is bumped and it is aborted, so its producer is fenced.
``expire_transactional_ids`` forgets ids idle for transactional.id.expiration.ms (a tombstone).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Callable, Iterable

from kproto.errors import ErrorCode

from .config import TransactionConfig
from .state import (
    EXPIRATION_ALLOWED,
    NO_PRODUCER_EPOCH,
    NO_PRODUCER_ID,
    PREPARING,
    BY_KAFKA_NAME,
    IllegalTransition,
    TransactionMetadata,
    TransactionState,
    Transit,
    check_transition,
    is_epoch_exhausted,
)

S = TransactionState
E = ErrorCode
COORDINATOR_EPOCH = 0   # one broker coordinates every transaction, always at epoch 0


@dataclass(frozen=True, slots=True)
class InitResult:
    error_code: ErrorCode
    producer_id: int = NO_PRODUCER_ID
    producer_epoch: int = NO_PRODUCER_EPOCH


@dataclass(frozen=True, slots=True)
class MarkerJob:
    """Markers to write: one per partition of a transaction that ends."""
    transactional_id: str
    producer_id: int
    producer_epoch: int
    coordinator_epoch: int
    committed: bool
    partitions: tuple[tuple[str, int], ...]


class TransactionCoordinator:
    def __init__(self, config: TransactionConfig | None = None, *,
                 new_producer_id: Callable[[], int] | None = None) -> None:
        self._config = config or TransactionConfig()
        self._new_producer_id = new_producer_id or _counter()
        self._txns: dict[str, TransactionMetadata] = {}
        self._writes: list[Transit] = []
        self._jobs: dict[str, MarkerJob] = {}   # by transactional id, until its markers are written

    @property
    def config(self) -> TransactionConfig:
        return self._config

    # -- the shell's side: writes and markers -----------------------------------------

    def take_writes(self) -> list[Transit]:
        """The transits to write, in order (each id's is pending until reported)."""
        writes, self._writes = self._writes, []
        return writes

    def write_done(self, transit: Transit) -> None:
        """A transit's record is written: it takes effect. A transaction now preparing gets its
        marker job; an expired id goes."""
        meta = self._txns.get(transit.transactional_id)
        if meta is None or meta.pending is not transit:
            return
        if transit.state is S.DEAD:
            del self._txns[transit.transactional_id]
            return
        meta.complete(transit)
        if transit.state in PREPARING:
            self._queue_markers(meta)

    def write_failed(self, transit: Transit) -> None:
        """A transit's record could not be written: the id is as it was."""
        meta = self._txns.get(transit.transactional_id)
        if meta is not None and meta.pending is transit:
            meta.abandon()

    def take_marker_jobs(self) -> list[MarkerJob]:
        """Marker jobs not yet done, oldest first (a failed one comes back until done)."""
        return list(self._jobs.values())

    def markers_written(self, now_ms: int, job: MarkerJob) -> None:
        """Every marker of the job is written: the transaction completes (a transit to write)."""
        if self._jobs.get(job.transactional_id) is not job:
            return
        meta = self._txns[job.transactional_id]
        if meta.pending_state is not None:
            return   # its completion is already being written
        del self._jobs[job.transactional_id]
        target = S.COMPLETE_COMMIT if meta.state is S.PREPARE_COMMIT else S.COMPLETE_ABORT
        self._writes.append(meta.prepare(target, now_ms=now_ms, partitions=frozenset()))

    def _queue_markers(self, meta: TransactionMetadata) -> None:
        self._jobs[meta.transactional_id] = MarkerJob(
            meta.transactional_id, meta.producer_id, meta.producer_epoch, COORDINATOR_EPOCH,
            meta.state is S.PREPARE_COMMIT, tuple(sorted(meta.partitions)))

    # -- InitProducerId ---------------------------------------------------------------

    def init_producer_id(self, now_ms: int, transactional_id: str, txn_timeout_ms: int,
                         expected: tuple[int, int] | None = None) -> InitResult:
        """InitProducerId with a transactional id; ``expected`` is v3+'s (producer id, epoch)
        when the producer has one. On success the result is valid once the write is done."""
        if transactional_id == "":
            return InitResult(E.INVALID_REQUEST)
        if not 0 < txn_timeout_ms <= self._config.transaction_max_timeout_ms:
            return InitResult(E.INVALID_TRANSACTION_TIMEOUT)
        meta = self._txns.get(transactional_id)
        if meta is None:
            meta = self._txns[transactional_id] = TransactionMetadata(
                transactional_id, self._new_producer_id(), txn_timeout_ms=txn_timeout_ms,
                txn_last_update_timestamp_ms=now_ms)
        if meta.pending_state is not None:
            return InitResult(E.CONCURRENT_TRANSACTIONS)
        if expected is not None and not _may_reinit(meta, *expected):
            return InitResult(E.PRODUCER_FENCED)
        if meta.state in PREPARING:
            return InitResult(E.CONCURRENT_TRANSACTIONS)
        if meta.state is S.ONGOING:
            # Abort the open transaction with the epoch bumped, fencing the producer that had
            # it; the client retries, and the retry bumps the epoch once more.
            self._writes.append(self._fence(meta, now_ms))
            return InitResult(E.CONCURRENT_TRANSACTIONS)
        expected_epoch = None if expected is None else expected[1]
        if is_epoch_exhausted(meta.producer_epoch) and expected_epoch in (None, meta.producer_epoch):
            transit = meta.prepare(
                S.EMPTY, now_ms=now_ms, producer_id=self._new_producer_id(), previous_producer_id=meta.producer_id,
                producer_epoch=0, last_producer_epoch=meta.producer_epoch if expected is not None else NO_PRODUCER_EPOCH,
                txn_timeout_ms=txn_timeout_ms, partitions=frozenset(), txn_start_timestamp_ms=-1)
        else:
            bumped = meta.producer_epoch + 1
            if expected_epoch is None:
                epochs = (bumped, NO_PRODUCER_EPOCH)
            elif meta.producer_epoch == NO_PRODUCER_EPOCH or expected_epoch == meta.producer_epoch:
                epochs = (bumped, meta.producer_epoch)
            elif expected_epoch == meta.last_producer_epoch:
                epochs = (meta.producer_epoch, meta.last_producer_epoch)   # a retry of a bump that happened
            else:
                return InitResult(E.PRODUCER_FENCED)
            transit = meta.prepare(S.EMPTY, now_ms=now_ms, producer_epoch=epochs[0], last_producer_epoch=epochs[1],
                                   txn_timeout_ms=txn_timeout_ms, partitions=frozenset(), txn_start_timestamp_ms=-1)
        self._writes.append(transit)
        return InitResult(E.NONE, transit.producer_id, transit.producer_epoch)

    def _fence(self, meta: TransactionMetadata, now_ms: int) -> Transit:
        """Ongoing -> PrepareEpochFence -> PrepareAbort with the epoch bumped (Kafka's
        prepareFenceProducerEpoch, then endTransaction(abort) from the coordinator)."""
        check_transition(meta.state, S.PREPARE_EPOCH_FENCE)
        check_transition(S.PREPARE_EPOCH_FENCE, S.PREPARE_ABORT)
        if meta.producer_epoch >= 32767:
            raise IllegalTransition(f"{meta.transactional_id}: cannot fence epoch {meta.producer_epoch}")
        return meta.prepare(S.PREPARE_ABORT, now_ms=now_ms, producer_epoch=meta.producer_epoch + 1,
                            last_producer_epoch=NO_PRODUCER_EPOCH)

    # -- AddPartitionsToTxn, AddOffsetsToTxn, verification ----------------------------

    def add_partitions(self, now_ms: int, transactional_id: str, producer_id: int, producer_epoch: int,
                       partitions: Iterable[tuple[str, int]]) -> ErrorCode:
        """Add partitions to the producer's transaction (starting it when none is open)."""
        if transactional_id == "":
            return E.INVALID_REQUEST
        meta = self._txns.get(transactional_id)
        error = self._producer_error(meta, producer_id, producer_epoch)
        if error:
            return error
        if meta.pending_state is not None or meta.state in PREPARING:
            return E.CONCURRENT_TRANSACTIONS
        partitions = frozenset(partitions)
        if meta.state is S.ONGOING and partitions <= meta.partitions:
            return E.NONE
        start = now_ms if meta.state in (S.EMPTY, S.COMPLETE_COMMIT, S.COMPLETE_ABORT) else meta.txn_start_timestamp_ms
        self._writes.append(meta.prepare(S.ONGOING, now_ms=now_ms, partitions=meta.partitions | partitions,
                                         txn_start_timestamp_ms=start))
        return E.NONE

    def verify_partitions(self, transactional_id: str, producer_id: int, producer_epoch: int,
                          partitions: Iterable[tuple[str, int]]) -> dict[tuple[str, int], ErrorCode]:
        """AddPartitionsToTxn v4+ verify_only (KIP-890): is each partition in the transaction?
        TRANSACTION_ABORTABLE for one that is not."""
        partitions = list(partitions)
        error = E.INVALID_REQUEST if transactional_id == "" else self._verify_error(
            self._txns.get(transactional_id), producer_id, producer_epoch)
        if error:
            return {p: error for p in partitions}
        added = self._txns[transactional_id].partitions
        return {p: E.NONE if p in added else E.TRANSACTION_ABORTABLE for p in partitions}

    def verify(self, transactional_id: str, producer_id: int, producer_epoch: int, topic: str,
               partition: int) -> ErrorCode:
        """One partition's verification, for a transactional produce: NONE, or why not."""
        meta = self._txns.get(transactional_id)
        error = self._verify_error(meta, producer_id, producer_epoch)
        if error:
            return error
        return E.NONE if (topic, partition) in meta.partitions else E.TRANSACTION_ABORTABLE

    @staticmethod
    def _verify_error(meta: TransactionMetadata | None, producer_id: int, producer_epoch: int) -> ErrorCode:
        error = TransactionCoordinator._producer_error(meta, producer_id, producer_epoch)
        if error:
            return error
        return E.CONCURRENT_TRANSACTIONS if meta.state in PREPARING else E.NONE

    @staticmethod
    def _producer_error(meta: TransactionMetadata | None, producer_id: int, producer_epoch: int) -> ErrorCode:
        if meta is None or meta.producer_id != producer_id:
            return E.INVALID_PRODUCER_ID_MAPPING
        if meta.producer_epoch != producer_epoch:
            return E.PRODUCER_FENCED
        return E.NONE

    # -- EndTxn -----------------------------------------------------------------------

    def end_txn(self, now_ms: int, transactional_id: str, producer_id: int, producer_epoch: int,
                committed: bool) -> ErrorCode:
        """Commit or abort the producer's transaction. A retry of a decision already carried
        out is NONE; of one still being carried out, CONCURRENT_TRANSACTIONS."""
        if transactional_id == "":
            return E.INVALID_REQUEST
        meta = self._txns.get(transactional_id)
        error = self._producer_error(meta, producer_id, producer_epoch)
        if error:
            return error
        if meta.pending_state is not None:
            return E.CONCURRENT_TRANSACTIONS
        state = meta.state
        if state is S.ONGOING:
            target = S.PREPARE_COMMIT if committed else S.PREPARE_ABORT
            self._writes.append(meta.prepare(target, now_ms=now_ms))
            return E.NONE
        same_decision = committed == (state in (S.PREPARE_COMMIT, S.COMPLETE_COMMIT))
        if state in (S.COMPLETE_COMMIT, S.COMPLETE_ABORT) and same_decision:
            return E.NONE
        if state in PREPARING and same_decision:
            return E.CONCURRENT_TRANSACTIONS
        return E.INVALID_TXN_STATE

    # -- the sweeps -------------------------------------------------------------------

    def abort_timed_out(self, now_ms: int) -> list[str]:
        """Fence and abort every transaction open longer than its timeout (Kafka's
        transaction.abort.timed.out.transaction.cleanup.interval.ms sweep); their ids."""
        aborted = []
        for meta in self._txns.values():
            if (meta.state is S.ONGOING and meta.pending_state is None
                    and meta.txn_start_timestamp_ms + meta.txn_timeout_ms < now_ms):
                self._writes.append(self._fence(meta, now_ms))
                aborted.append(meta.transactional_id)
        return aborted

    def expire_transactional_ids(self, now_ms: int) -> list[str]:
        """Forget ids without an open transaction, idle for transactional.id.expiration.ms."""
        expired = []
        horizon = now_ms - self._config.transactional_id_expiration_ms
        for meta in self._txns.values():
            if (meta.pending_state is None and meta.state in EXPIRATION_ALLOWED
                    and meta.txn_last_update_timestamp_ms <= horizon):
                self._writes.append(meta.prepare(S.DEAD, now_ms=meta.txn_last_update_timestamp_ms,
                                                 partitions=frozenset()))
                expired.append(meta.transactional_id)
        return expired

    # -- start-up -----------------------------------------------------------------------

    def load(self, transit: Transit) -> None:
        """Restore an id from its last record. A transaction that was preparing gets its marker
        job again (its markers may not all have been written)."""
        meta = TransactionMetadata(transit.transactional_id, transit.producer_id)
        meta.pending_state, meta.pending = transit.state, transit
        meta.complete(transit)
        self._txns[transit.transactional_id] = meta
        if meta.state in PREPARING:
            self._queue_markers(meta)

    # -- DescribeTransactions, ListTransactions -----------------------------------------

    def transaction(self, transactional_id: str) -> TransactionMetadata | None:
        return self._txns.get(transactional_id)

    def describe(self, transactional_id: str) -> dict:
        """One DescribeTransactions entry."""
        meta = self._txns.get(transactional_id)
        if transactional_id == "":
            return _described(transactional_id, E.INVALID_REQUEST)
        if meta is None or meta.state is S.DEAD:
            return _described(transactional_id, E.TRANSACTIONAL_ID_NOT_FOUND)
        topics: dict[str, list[int]] = {}
        for topic, partition in sorted(meta.partitions):
            topics.setdefault(topic, []).append(partition)
        return _described(transactional_id, E.NONE, state=meta.state.kafka_name, timeout_ms=meta.txn_timeout_ms,
                          start_ms=meta.txn_start_timestamp_ms, producer_id=meta.producer_id,
                          producer_epoch=meta.producer_epoch,
                          topics=[{"topic": t, "partitions": p} for t, p in topics.items()])

    def list_transactions(self, now_ms: int, state_filters: list[str], producer_id_filters: list[int],
                          duration_filter_ms: int = -1) -> tuple[list[str], list[dict]]:
        """ListTransactions: (unknown state names, the ids that pass every filter)."""
        unknown = [name for name in state_filters if name not in BY_KAFKA_NAME]
        states = {BY_KAFKA_NAME[name] for name in state_filters if name in BY_KAFKA_NAME}
        producer_ids = set(producer_id_filters)
        listed = []
        for meta in self._txns.values():
            if meta.state is S.DEAD or (producer_ids and meta.producer_id not in producer_ids):
                continue
            if state_filters and meta.state not in states:
                continue
            if duration_filter_ms >= 0 and now_ms - meta.txn_start_timestamp_ms <= duration_filter_ms:
                continue
            listed.append({"transactional_id": meta.transactional_id, "producer_id": meta.producer_id,
                           "transaction_state": meta.state.kafka_name})
        return unknown, listed


def _may_reinit(meta: TransactionMetadata, producer_id: int, producer_epoch: int) -> bool:
    """May a producer that had (producer_id, epoch) initialise again (Kafka's isValidProducerId)?"""
    return (meta.producer_epoch == NO_PRODUCER_EPOCH or producer_id == meta.producer_id
            or (producer_id == meta.previous_producer_id and is_epoch_exhausted(producer_epoch)))


def _described(transactional_id: str, error: ErrorCode, *, state: str = "", timeout_ms: int = 0, start_ms: int = -1,
               producer_id: int = NO_PRODUCER_ID, producer_epoch: int = NO_PRODUCER_EPOCH,
               topics: list | None = None) -> dict:
    return {"error_code": error, "transactional_id": transactional_id, "transaction_state": state,
            "transaction_timeout_ms": timeout_ms, "transaction_start_time_ms": start_ms, "producer_id": producer_id,
            "producer_epoch": producer_epoch, "topics": topics or []}


def _counter() -> Callable[[], int]:
    return itertools.count().__next__
