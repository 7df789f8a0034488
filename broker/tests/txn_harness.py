"""A fake-clock harness for the transaction coordinator (a helper module, not a test module).

The harness plays the shell: after every call it writes the queued transits (to a real
``TransactionLog`` on memory storage, so a restart can load them back) and reports them, then
"writes" the markers of the transactions that ended and reports that. Either step can be
made to fail, to see the coordinator's states in between. Producer ids are 1000, 1001, ...
"""

from __future__ import annotations

import itertools

from broker.transactions.config import TransactionConfig
from broker.transactions.coordinator import InitResult, MarkerJob, TransactionCoordinator
from broker.transactions.log import TransactionLog
from broker.transactions.state import TransactionState, Transit
from kproto.errors import ErrorCode
from storage import Storage

E = ErrorCode
S = TransactionState
T1 = ("t", 0)
T2 = ("t", 1)


class Harness:
    def __init__(self, storage: Storage | None = None, **config):
        self.config = TransactionConfig(**config)
        self.ids = itertools.count(1000)
        self.storage = storage or Storage.open(None)
        self.log = TransactionLog(self.storage, self.config)
        self.c = TransactionCoordinator(self.config, new_producer_id=lambda: next(self.ids))
        self.now = 1_000_000
        self.fail_writes = False
        self.hold_markers = False       # leave marker jobs undone (the markers are "still being written")
        self.written: list[Transit] = []
        self.in_flight: list[Transit] = []   # taken from the coordinator, not yet reported
        self.marker_writer = None            # called with each marker job, to write real markers
        self.markers: list[MarkerJob] = []

    def restart(self) -> "Harness":
        """A new coordinator loading what was written, as a restarted broker does."""
        again = Harness(self.storage, **{k: getattr(self.config, k) for k in self.config.__dataclass_fields__})
        again.ids = self.ids
        again.c = TransactionCoordinator(again.config, new_producer_id=lambda: next(again.ids))
        again.now = self.now
        again.marker_writer = self.marker_writer
        for transit in again.log.load():
            again.c.load(transit)
        again.settle()
        return again

    # -- the shell's part ------------------------------------------------------------

    def settle(self) -> bool:
        call_written = True
        first = True
        tried = set()
        while True:
            for transit in self.c.take_writes():
                if self.fail_writes:
                    self.c.write_failed(transit)
                    call_written = call_written and not first
                    continue
                self.log.write(transit, self.now)
                self.written.append(transit)
                self.c.write_done(transit)
            first = False
            jobs = [] if self.hold_markers else [j for j in self.c.take_marker_jobs() if j not in tried]
            if not jobs:
                return call_written
            for job in jobs:
                tried.add(job)
                self.markers.append(job)
                if self.marker_writer is not None:
                    self.marker_writer(job)
                self.c.markers_written(self.now, job)

    # -- requests --------------------------------------------------------------------

    def init(self, transactional_id: str = "tx", timeout_ms: int = 60000, expected=None) -> InitResult:
        result = self.c.init_producer_id(self.now, transactional_id, timeout_ms, expected)
        if not self.settle():
            return InitResult(E.COORDINATOR_NOT_AVAILABLE)
        return result

    def add(self, transactional_id: str, producer_id: int, epoch: int, *partitions) -> ErrorCode:
        code = self.c.add_partitions(self.now, transactional_id, producer_id, epoch, partitions or [T1])
        return code if self.settle() or code else E.COORDINATOR_NOT_AVAILABLE

    def end(self, transactional_id: str, producer_id: int, epoch: int, committed: bool) -> ErrorCode:
        code = self.c.end_txn(self.now, transactional_id, producer_id, epoch, committed)
        return code if self.settle() or code else E.COORDINATOR_NOT_AVAILABLE

    def sweep(self, advance_ms: int = 0) -> list[str]:
        self.now += advance_ms
        aborted = self.c.abort_timed_out(self.now)
        self.settle()
        return aborted

    def expire(self, advance_ms: int = 0) -> list[str]:
        self.now += advance_ms
        expired = self.c.expire_transactional_ids(self.now)
        self.settle()
        return expired

    # -- reading ---------------------------------------------------------------------

    def state(self, transactional_id: str = "tx") -> TransactionState | None:
        meta = self.c.transaction(transactional_id)
        return None if meta is None else meta.state

    def meta(self, transactional_id: str = "tx"):
        return self.c.transaction(transactional_id)

    # -- bringing an id into a state ----------------------------------------------------

    def in_state(self, state: str, transactional_id: str = "tx") -> tuple[int, int]:
        """Bring ``transactional_id`` into ``state`` (a TransactionState name, or "Pending": a
        transition written but not yet acknowledged); returns its (producer id, epoch)."""
        result = self.init(transactional_id)
        assert result.error_code == E.NONE, result
        pid, epoch = result.producer_id, result.producer_epoch
        if state == "Empty":
            return pid, epoch
        assert self.add(transactional_id, pid, epoch, T1) == E.NONE
        if state in ("Ongoing", "Pending"):
            if state == "Pending":
                self.c.add_partitions(self.now, transactional_id, pid, epoch, [T2])
                self.in_flight = self.c.take_writes()   # being written
            return pid, epoch
        committed = state.endswith("Commit")
        self.hold_markers = state.startswith("Prepare")   # and kept so: the markers are still being written
        assert self.end(transactional_id, pid, epoch, committed) == E.NONE
        assert self.state(transactional_id).kafka_name == state
        return pid, epoch
