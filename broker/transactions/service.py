"""The transaction service: the typed door the handlers call, around the pure coordinator.

Door: one method per request (``init_producer_id``, ``add_partitions``, ``add_offsets``,
``end_txn``, ``write_txn_markers``, ``describe``, ``list_transactions``), each
``(ctx, request dict) -> response dict``; and two checks for the data path:
``verify_produce`` (a transactional batch goes only to a partition of its open transaction,
KIP-890 part 1) and ``verify_offsets`` (TxnOffsetCommit, likewise for the group's offsets
partition). The door reads the request at its version, calls the coordinator with ``now_ms``
and shapes the answer, with Kafka's older error for older versions (PRODUCER_FENCED became
INVALID_PRODUCER_EPOCH before InitProducerId v4, AddPartitions/AddOffsets/EndTxn v2).

Shell: after each call, ``_settle`` writes the transits the coordinator queued to
``__transaction_state`` and reports each write; then the markers of the transactions that
ended, a control batch per partition (a ``__consumer_offsets`` partition also settles the
group's transactional offsets); then their completion records. Only then is the call
answered, so a client that hears "committed" finds its records readable. A marker that cannot
be written is retried by the sweep; meanwhile the transaction stays in its Prepare state and
requests get CONCURRENT_TRANSACTIONS. ``run`` sweeps timed-out transactions every
transaction.abort.timed.out.transaction.cleanup.interval.ms and idle ids every
transaction.remove.expired.transaction.cleanup.interval.ms.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Callable, Collection

import anyio

from broker.caller import Caller
from broker.clock import now_ms
from kproto.errors import ErrorCode
from storage import Storage
from storage.errors import (
    InvalidProducerEpochError,
    StorageError,
    TransactionCoordinatorFencedError,
    UnknownTopicOrPartitionError,
)

from .config import TransactionConfig
from .coordinator import MarkerJob, TransactionCoordinator
from .log import TRANSACTION_STATE_TOPIC, NotLeadingState, TransactionLog
from .state import Transit

log = logging.getLogger("kbroker.transactions")

E = ErrorCode
INTERNAL_TOPICS = frozenset({"__consumer_offsets", TRANSACTION_STATE_TOPIC})

# Coordinator answers a data-path request translates, as Kafka's AddPartitionsToTxnManager and
# ReplicaManager do for a produce: a client that cannot retry the coordinator's error gets one it can.
PRODUCE_VERIFY_ERRORS = {
    E.PRODUCER_FENCED: E.INVALID_PRODUCER_EPOCH,
    E.TRANSACTION_ABORTABLE: E.INVALID_TXN_STATE,
    E.CONCURRENT_TRANSACTIONS: E.NOT_ENOUGH_REPLICAS,
}
# ... and for TxnOffsetCommit (then GroupMetadataManager.maybeConvertOffsetCommitError).
OFFSETS_VERIFY_ERRORS = {
    E.PRODUCER_FENCED: E.INVALID_PRODUCER_EPOCH,
    E.TRANSACTION_ABORTABLE: E.INVALID_TXN_STATE,
    E.CONCURRENT_TRANSACTIONS: E.COORDINATOR_NOT_AVAILABLE,
}


@dataclass(frozen=True)
class TransactionPeers:
    """What the service needs of the rest of the broker."""
    new_producer_id: Callable[[], int]
    offsets_topic: str
    offsets_partition: Callable[[str], int]                  # group id -> its __consumer_offsets partition
    offsets_completed: Callable[[int, int, bool], None]      # (producer id, offsets partition, committed)
    notify_append: Callable[[str, int], None]                # (topic, partition): wake waiting fetches
    # cluster mode's placement (broker.cluster.transactions.TransactionPlacement): which
    # partitions of __transaction_state and which data partitions are led here, and the
    # markers sent to the leaders of the others; None for one broker, which has them all
    placement: object | None = None


PENDING = -1   # a marker sent to its partition's leader, not answered yet


# A marker written, or given up as Kafka gives it up (the partition is gone, or a newer
# producer or coordinator has moved on).
MARKER_SETTLED = frozenset({E.NONE, E.UNKNOWN_TOPIC_OR_PARTITION, E.INVALID_PRODUCER_EPOCH,
                            E.TRANSACTION_COORDINATOR_FENCED})


def _fenced_for(version: int, before: int, code: ErrorCode) -> ErrorCode:
    """PRODUCER_FENCED as clients older than ``before`` understand it."""
    return E.INVALID_PRODUCER_EPOCH if code == E.PRODUCER_FENCED and version < before else code


class TransactionService:
    def __init__(self, config: TransactionConfig, storage: Storage, peers: TransactionPeers):
        """Load the transactional ids kept in ``__transaction_state``, and finish the
        transactions that were writing their markers when the broker stopped."""
        self._config = config
        self._storage = storage
        self._peers = peers
        self._coordinator = TransactionCoordinator(config, new_producer_id=peers.new_producer_id)
        placement = peers.placement
        self._placement = placement
        self._log = TransactionLog(storage, config, placement)
        self._marked: dict[MarkerJob, set[tuple[str, int]]] = {}   # partitions of a job already marked
        self._sent: set[tuple[MarkerJob, str, int]] = set()   # markers sent to other leaders, unanswered
        for transit in self._log.load():
            self._coordinator.load(transit)
        self._settle()

    @property
    def coordinator(self) -> TransactionCoordinator:
        return self._coordinator

    # -- the door: InitProducerId, AddPartitionsToTxn, AddOffsetsToTxn, EndTxn ----------

    def init_producer_id(self, ctx: Caller, req: dict) -> dict:
        """InitProducerId 0-5 with a transactional id: a producer id and a bumped epoch; an open
        transaction is aborted first (CONCURRENT_TRANSACTIONS: retry). v3+ recovery names the
        producer id and epoch the producer had."""
        version = ctx.api_version
        expected = None
        if version >= 3 and req["producer_id"] != -1:
            expected = (req["producer_id"], req["producer_epoch"])
        result = self._coordinator.init_producer_id(now_ms(), req["transactional_id"], req["transaction_timeout_ms"],
                                                    expected)
        code = result.error_code
        if not self._settle():   # its record (a new epoch, or the abort of a fence) was not written
            code = E.COORDINATOR_NOT_AVAILABLE
        if code:
            return {"throttle_time_ms": 0, "error_code": _fenced_for(version, 4, code), "producer_id": -1,
                    "producer_epoch": -1}
        return {"throttle_time_ms": 0, "error_code": E.NONE, "producer_id": result.producer_id,
                "producer_epoch": result.producer_epoch}

    def add_partitions(self, ctx: Caller, req: dict, unwritable: Collection[str] = ()) -> dict:
        """AddPartitionsToTxn 0-5. v0-3 (clients): one transaction. v4+ (brokers): several,
        each added or, with verify_only, checked (KIP-890). A partition of no topic, of an
        internal one or of one in ``unwritable`` (the client may not WRITE it: the handler
        asks the authorizer) fails the whole transaction; the others get OPERATION_NOT_ATTEMPTED."""
        version = ctx.api_version
        if version < 4:
            results = self._add(version, req["v3_and_below_transactional_id"], req["v3_and_below_producer_id"],
                                req["v3_and_below_producer_epoch"], req["v3_and_below_topics"], False, unwritable)
            return {"throttle_time_ms": 0, "results_by_topic_v3_and_below": results}
        answers = []
        for txn in req["transactions"]:
            results = self._add(version, txn["transactional_id"], txn["producer_id"], txn["producer_epoch"],
                                txn["topics"], txn["verify_only"], unwritable)
            answers.append({"transactional_id": txn["transactional_id"], "topic_results": results})
        return {"throttle_time_ms": 0, "error_code": E.NONE, "results_by_transaction": answers}

    def _add(self, version: int, transactional_id: str, producer_id: int, producer_epoch: int, topics: list[dict],
             verify_only: bool, unwritable: Collection[str]) -> list[dict]:
        wanted: dict[str, list[int]] = {}
        for topic in topics:
            partitions = wanted.setdefault(topic["name"], [])
            partitions += [p for p in topic["partitions"] if p not in partitions]
        refused = {}
        for name, partitions in wanted.items():
            count = self._num_partitions(name)
            for index in partitions:
                if version < 4 and name in INTERNAL_TOPICS or name in unwritable:
                    refused[(name, index)] = E.TOPIC_AUTHORIZATION_FAILED
                elif not 0 <= index < count:
                    refused[(name, index)] = E.UNKNOWN_TOPIC_OR_PARTITION
        pairs = [(name, index) for name, partitions in wanted.items() for index in partitions]
        if refused:
            codes = {p: refused.get(p, E.OPERATION_NOT_ATTEMPTED) for p in pairs}
        elif verify_only:
            codes = self._coordinator.verify_partitions(transactional_id, producer_id, producer_epoch, pairs)
        else:
            code = self._coordinator.add_partitions(now_ms(), transactional_id, producer_id, producer_epoch, pairs)
            if not self._settle():
                code = E.COORDINATOR_NOT_AVAILABLE
            codes = dict.fromkeys(pairs, _fenced_for(version, 2, code))
        return [{"name": name, "results_by_partition": [
            {"partition_index": index, "partition_error_code": codes[(name, index)]} for index in partitions]}
            for name, partitions in wanted.items()]

    def _num_partitions(self, topic: str) -> int:
        """The topic's partitions (0: no such topic): the cluster's view in cluster mode, where
        this broker need not hold a replica of every topic."""
        if self._placement is not None:
            return self._placement.num_partitions(topic)
        info = self._storage.topic(topic)
        return 0 if info is None else info.num_partitions

    def add_offsets(self, ctx: Caller, req: dict) -> dict:
        """AddOffsetsToTxn 0-4: the group's __consumer_offsets partition joins the transaction,
        so that TxnOffsetCommit may write there and the markers settle the offsets."""
        partition = self._peers.offsets_partition(req["group_id"])
        code = self._coordinator.add_partitions(now_ms(), req["transactional_id"], req["producer_id"],
                                                req["producer_epoch"], [(self._peers.offsets_topic, partition)])
        if not self._settle():
            code = E.COORDINATOR_NOT_AVAILABLE
        return {"throttle_time_ms": 0, "error_code": _fenced_for(ctx.api_version, 2, code)}

    def end_txn(self, ctx: Caller, req: dict) -> dict:
        """EndTxn 0-4: commit or abort; answered once the markers are written."""
        code = self._coordinator.end_txn(now_ms(), req["transactional_id"], req["producer_id"], req["producer_epoch"],
                                         req["committed"])
        if not self._settle():
            code = E.COORDINATOR_NOT_AVAILABLE
        return {"throttle_time_ms": 0, "error_code": _fenced_for(ctx.api_version, 2, code)}

    # -- the door: WriteTxnMarkers, DescribeTransactions, ListTransactions ---------------

    def write_txn_markers(self, ctx: Caller, req: dict) -> dict:
        """WriteTxnMarkers 0-1: write the markers named, as a partition leader does when its
        coordinator asks (admin tools use it to abort a hanging transaction)."""
        answers = []
        now = now_ms()
        for marker in req["markers"]:
            topics = []
            for topic in marker["topics"]:
                partitions = []
                for index in topic["partition_indexes"]:
                    code = self._append_marker(topic["name"], index, marker["producer_id"], marker["producer_epoch"],
                                              marker["coordinator_epoch"], marker["transaction_result"], now)
                    partitions.append({"partition_index": index, "error_code": code})
                topics.append({"name": topic["name"], "partitions": partitions})
            answers.append({"producer_id": marker["producer_id"], "topics": topics})
        return {"markers": answers}

    def describe(self, ctx: Caller, req: dict) -> dict:
        """DescribeTransactions 0: state, producer, timeout and partitions of each id."""
        return {"throttle_time_ms": 0, "transaction_states": [
            self._coordinator.describe(transactional_id) for transactional_id in req["transactional_ids"]]}

    def list_transactions(self, ctx: Caller, req: dict) -> dict:
        """ListTransactions 0-1: filtered by state names, producer ids and (v1) how long open."""
        unknown, listed = self._coordinator.list_transactions(now_ms(), req["state_filters"],
                                                              req["producer_id_filters"], req["duration_filter"])
        return {"throttle_time_ms": 0, "error_code": E.NONE, "unknown_state_filters": unknown,
                "transaction_states": listed}

    # -- the data path ------------------------------------------------------------------

    def verify_produce(self, api_version: int, transactional_id: str, producer_id: int, producer_epoch: int,
                       topic: str, partition: int) -> ErrorCode:
        """May this transactional batch be written (KIP-890 part 1)? The answer as Produce gives it:
        v11+ clients understand TRANSACTION_ABORTABLE (v12 included: without transaction.version 2
        the broker verifies, it does not add the partition)."""
        if not self._verifies(transactional_id):
            return E.NONE
        code = self._coordinator.verify(transactional_id, producer_id, producer_epoch, topic, partition)
        if code == E.TRANSACTION_ABORTABLE and api_version >= 11:
            return code
        return PRODUCE_VERIFY_ERRORS.get(code, code)

    def verify_offsets(self, api_version: int, transactional_id: str, producer_id: int, producer_epoch: int,
                       group_id: str) -> ErrorCode:
        """May TxnOffsetCommit write the group's offsets in this transaction (its offsets partition
        added by AddOffsetsToTxn)? v4+ clients understand TRANSACTION_ABORTABLE."""
        if not self._verifies(transactional_id):
            return E.NONE
        code = self._coordinator.verify(transactional_id, producer_id, producer_epoch, self._peers.offsets_topic,
                                        self._peers.offsets_partition(group_id))
        if code == E.TRANSACTION_ABORTABLE and api_version >= 4:
            return code
        return OFFSETS_VERIFY_ERRORS.get(code, code)

    def _verifies(self, transactional_id: str) -> bool:
        """Verification is on, and (cluster mode) this broker coordinates the id: a leader whose
        coordinator is another broker lets the batch through, as Kafka before KIP-890 did."""
        if not self._config.transaction_partition_verification_enable:
            return False
        return self._placement is None or self._placement.coordinates(transactional_id)

    # -- the shell: records, then markers ------------------------------------------------

    def _settle(self) -> bool:
        """Write what the coordinator queued, then the markers of ended transactions and their
        completion, until nothing is left to do now. False if a record of the call itself (the
        first round) could not be written."""
        coordinator = self._coordinator
        call_written = True
        tried: set[MarkerJob] = set()
        writes = coordinator.take_writes()
        first = True
        while True:
            for transit in writes:
                if not self._write(transit) and first:
                    call_written = False
            first = False
            jobs = [job for job in coordinator.take_marker_jobs() if job not in tried]
            if not jobs:
                return call_written
            for job in jobs:
                tried.add(job)
                if self._write_markers(job):
                    coordinator.markers_written(now_ms(), job)
            writes = coordinator.take_writes()

    def _write(self, transit: Transit) -> bool:
        try:
            self._log.write(transit, now_ms())
        except NotLeadingState as exc:
            log.info("state of transactional id %s not written: %s", transit.transactional_id, exc)
            self._coordinator.write_failed(transit)
            return False
        except Exception:
            log.exception("could not write the state of transactional id %s", transit.transactional_id)
            self._coordinator.write_failed(transit)
            return False
        self._coordinator.write_done(transit)
        return True

    def _write_markers(self, job: MarkerJob) -> bool:
        """A marker in every partition of the job not yet marked; False if one must be retried."""
        marked = self._marked.setdefault(job, set())
        now = now_ms()
        done = True
        for topic, partition in job.partitions:
            if (topic, partition) in marked:
                continue
            if (job, topic, partition) in self._sent:
                done = False
                continue
            code = self._write_marker(job, topic, partition, now)
            if code == PENDING:
                done = False
                continue
            if code in MARKER_SETTLED:
                marked.add((topic, partition))   # written, or (as Kafka does) given up: the partition is gone
                continue
            return False
        if not done:
            return False
        del self._marked[job]
        return True

    def _write_marker(self, job: MarkerJob, topic: str, partition: int, now: int) -> ErrorCode | int:
        """Here, or (cluster mode) sent to the partition's leader: PENDING until it answers."""
        placement = self._placement
        if placement is not None and not placement.leads(topic, partition):
            self._sent.add((job, topic, partition))
            placement.send_marker(job, topic, partition,
                                  lambda code: self._marker_answered(job, topic, partition, code))
            return PENDING
        return self._append_marker(topic, partition, job.producer_id, job.producer_epoch, job.coordinator_epoch,
                                   job.committed, now)

    def _marker_answered(self, job: MarkerJob, topic: str, partition: int, code: ErrorCode) -> None:
        """A leader answered a marker sent to it: settled, or to be sent again (the next round)."""
        self._sent.discard((job, topic, partition))
        if code in MARKER_SETTLED and job in self._marked:
            self._marked[job].add((topic, partition))
        self._settle()

    def _append_marker(self, topic: str, partition: int, producer_id: int, producer_epoch: int,
                       coordinator_epoch: int, committed: bool, now: int) -> ErrorCode:
        placement = self._placement
        if placement is not None and not placement.leads(topic, partition):
            return E.NOT_LEADER_OR_FOLLOWER
        try:
            plog = self._storage.partition(topic, partition)
            plog.append_marker(producer_id, producer_epoch, coordinator_epoch, committed, now)
        except UnknownTopicOrPartitionError:
            return E.UNKNOWN_TOPIC_OR_PARTITION
        except InvalidProducerEpochError as exc:
            log.warning("marker for %s-%d not written: %s", topic, partition, exc)
            return E.INVALID_PRODUCER_EPOCH
        except TransactionCoordinatorFencedError as exc:
            log.warning("marker for %s-%d not written: %s", topic, partition, exc)
            return E.TRANSACTION_COORDINATOR_FENCED
        except StorageError:
            log.exception("could not write a transaction marker to %s-%d", topic, partition)
            return E.KAFKA_STORAGE_ERROR
        if topic == self._peers.offsets_topic:
            self._peers.offsets_completed(producer_id, partition, committed)
        self._peers.notify_append(topic, partition)
        return E.NONE

    # -- the shell: background work --------------------------------------------------------

    async def run(self) -> None:
        """The two sweeps, until cancelled."""
        config = self._config
        async with anyio.create_task_group() as tg:
            tg.start_soon(self._every, config.transaction_abort_timed_out_transaction_cleanup_interval_ms,
                          self.abort_timed_out)
            tg.start_soon(self._every, config.transaction_remove_expired_transaction_cleanup_interval_ms,
                          self.expire_transactional_ids)

    @staticmethod
    async def _every(interval_ms: int, work: Callable[[], object]) -> None:
        while True:
            await anyio.sleep(interval_ms / 1000)
            try:
                work()
            except Exception:
                log.exception("transaction sweep failed")

    def abort_timed_out(self) -> list[str]:
        """Abort (fencing their producers) the transactions open longer than their timeout;
        retry markers not yet written. Returns the ids aborted."""
        aborted = self._coordinator.abort_timed_out(now_ms())
        self._settle()
        if aborted:
            log.info("aborted timed-out transactions of %s", ", ".join(aborted))
        return aborted

    def expire_transactional_ids(self) -> list[str]:
        """Forget the ids idle for transactional.id.expiration.ms."""
        expired = self._coordinator.expire_transactional_ids(now_ms())
        self._settle()
        if expired:
            log.info("expired %d transactional ids", len(expired))
        return expired
