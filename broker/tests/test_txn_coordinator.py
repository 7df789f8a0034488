"""The transaction coordinator on a fake clock: every request in every state, with Kafka's error
codes; fencing, timeouts, expiration, failed writes and markers, and a restart."""

from __future__ import annotations

import pytest

from broker.tests.txn_harness import T1, T2, E, Harness, S
from broker.transactions.coordinator import MarkerJob

STATES = ["Empty", "Ongoing", "PrepareCommit", "PrepareAbort", "CompleteCommit", "CompleteAbort", "Pending"]

# EndTxn in each state, committing or aborting: (answer, state after).
END_TXN = {
    ("Empty", True): (E.INVALID_TXN_STATE, S.EMPTY),
    ("Empty", False): (E.INVALID_TXN_STATE, S.EMPTY),
    ("Ongoing", True): (E.NONE, S.COMPLETE_COMMIT),
    ("Ongoing", False): (E.NONE, S.COMPLETE_ABORT),
    ("PrepareCommit", True): (E.CONCURRENT_TRANSACTIONS, S.PREPARE_COMMIT),
    ("PrepareCommit", False): (E.INVALID_TXN_STATE, S.PREPARE_COMMIT),
    ("PrepareAbort", True): (E.INVALID_TXN_STATE, S.PREPARE_ABORT),
    ("PrepareAbort", False): (E.CONCURRENT_TRANSACTIONS, S.PREPARE_ABORT),
    ("CompleteCommit", True): (E.NONE, S.COMPLETE_COMMIT),        # a retry
    ("CompleteCommit", False): (E.INVALID_TXN_STATE, S.COMPLETE_COMMIT),
    ("CompleteAbort", True): (E.INVALID_TXN_STATE, S.COMPLETE_ABORT),
    ("CompleteAbort", False): (E.NONE, S.COMPLETE_ABORT),          # a retry
    ("Pending", True): (E.CONCURRENT_TRANSACTIONS, S.ONGOING),
    ("Pending", False): (E.CONCURRENT_TRANSACTIONS, S.ONGOING),
}

# AddPartitionsToTxn of another partition in each state.
ADD_PARTITIONS = {
    "Empty": (E.NONE, S.ONGOING), "Ongoing": (E.NONE, S.ONGOING),
    "PrepareCommit": (E.CONCURRENT_TRANSACTIONS, S.PREPARE_COMMIT),
    "PrepareAbort": (E.CONCURRENT_TRANSACTIONS, S.PREPARE_ABORT),
    "CompleteCommit": (E.NONE, S.ONGOING), "CompleteAbort": (E.NONE, S.ONGOING),
    "Pending": (E.CONCURRENT_TRANSACTIONS, S.ONGOING),
}

# InitProducerId again (a new producer instance) in each state: (answer, epoch bump, state after).
REINIT = {
    "Empty": (E.NONE, 1, S.EMPTY), "Ongoing": (E.CONCURRENT_TRANSACTIONS, 1, S.COMPLETE_ABORT),
    "PrepareCommit": (E.CONCURRENT_TRANSACTIONS, 0, S.PREPARE_COMMIT),
    "PrepareAbort": (E.CONCURRENT_TRANSACTIONS, 0, S.PREPARE_ABORT),
    "CompleteCommit": (E.NONE, 1, S.EMPTY), "CompleteAbort": (E.NONE, 1, S.EMPTY),
    "Pending": (E.CONCURRENT_TRANSACTIONS, 0, S.ONGOING),
}

# Verification (a transactional produce to T1, which every state's transaction added; T2 not).
VERIFY = {
    "Empty": (E.TRANSACTION_ABORTABLE, E.TRANSACTION_ABORTABLE), "Ongoing": (E.NONE, E.TRANSACTION_ABORTABLE),
    "PrepareCommit": (E.CONCURRENT_TRANSACTIONS,) * 2, "PrepareAbort": (E.CONCURRENT_TRANSACTIONS,) * 2,
    "CompleteCommit": (E.TRANSACTION_ABORTABLE,) * 2, "CompleteAbort": (E.TRANSACTION_ABORTABLE,) * 2,
    "Pending": (E.NONE, E.TRANSACTION_ABORTABLE),
}


@pytest.mark.parametrize("state,committed", list(END_TXN))
def test_end_txn_in_every_state(state, committed):
    h = Harness()
    pid, epoch = h.in_state(state)
    answer, after = END_TXN[(state, committed)]
    assert h.end("tx", pid, epoch, committed) == answer
    if state == "Pending":
        h.c.write_done(h.in_flight[0])
    assert h.state() is after


@pytest.mark.parametrize("state", STATES)
def test_add_partitions_in_every_state(state):
    h = Harness()
    pid, epoch = h.in_state(state)
    answer, after = ADD_PARTITIONS[state]
    assert h.add("tx", pid, epoch, T2) == answer
    if state == "Pending":
        h.c.write_done(h.in_flight[0])
    assert h.state() is after
    if answer == E.NONE:
        assert T2 in h.meta().partitions


@pytest.mark.parametrize("state", STATES)
def test_init_producer_id_again_in_every_state(state):
    h = Harness()
    pid, epoch = h.in_state(state)
    answer, bump, after = REINIT[state]
    result = h.init()
    assert result.error_code == answer
    if answer == E.NONE:
        assert (result.producer_id, result.producer_epoch) == (pid, epoch + bump)
    meta = h.meta()
    assert (meta.producer_id, meta.producer_epoch, meta.state) == (pid, epoch + bump, after)


@pytest.mark.parametrize("state", STATES)
def test_verify_in_every_state(state):
    h = Harness()
    pid, epoch = h.in_state(state)
    assert (h.c.verify("tx", pid, epoch, *T1), h.c.verify("tx", pid, epoch, *T2)) == VERIFY[state]
    assert h.c.verify_partitions("tx", pid, epoch, [T1, T2]) == dict(zip([T1, T2], VERIFY[state]))


@pytest.mark.parametrize("request_kind", ["add", "end", "verify"])
def test_who_is_asking(request_kind):
    """An unknown id or another producer id: INVALID_PRODUCER_ID_MAPPING; another epoch: PRODUCER_FENCED."""
    h = Harness()
    pid, epoch = h.in_state("Ongoing")

    def ask(transactional_id, producer_id, producer_epoch):
        if request_kind == "add":
            return h.add(transactional_id, producer_id, producer_epoch, T1)
        if request_kind == "end":
            return h.end(transactional_id, producer_id, producer_epoch, True)
        return h.c.verify(transactional_id, producer_id, producer_epoch, *T1)

    assert ask("other", pid, epoch) == E.INVALID_PRODUCER_ID_MAPPING
    assert ask("tx", pid + 1, epoch) == E.INVALID_PRODUCER_ID_MAPPING
    assert ask("tx", pid, epoch + 1) == E.PRODUCER_FENCED
    assert ask("tx", pid, epoch - 1) == E.PRODUCER_FENCED
    assert h.state() is S.ONGOING
    if request_kind != "verify":
        assert ask("", pid, epoch) == E.INVALID_REQUEST


def test_a_new_id_gets_a_producer_id_and_epoch_0():
    h = Harness()
    result = h.init("tx", 60000)
    assert (result.error_code, result.producer_id, result.producer_epoch) == (E.NONE, 1000, 0)
    assert h.init("other").producer_id == 1001
    [first, second] = h.written
    assert (first.state, first.producer_epoch, first.partitions, first.txn_timeout_ms) == (S.EMPTY, 0, frozenset(),
                                                                                          60000)


@pytest.mark.parametrize("timeout_ms,answer", [(0, E.INVALID_TRANSACTION_TIMEOUT), (-5, E.INVALID_TRANSACTION_TIMEOUT),
                                               (900001, E.INVALID_TRANSACTION_TIMEOUT), (900000, E.NONE), (1, E.NONE)])
def test_transaction_timeout_is_checked_against_the_maximum(timeout_ms, answer):
    h = Harness()
    assert h.init("tx", timeout_ms).error_code == answer
    assert Harness(transaction_max_timeout_ms=1000).init("tx", 1001).error_code == E.INVALID_TRANSACTION_TIMEOUT
    assert h.init("", 1000).error_code == E.INVALID_REQUEST


def test_reinit_with_an_open_transaction_aborts_it_and_fences_the_old_producer():
    h = Harness()
    pid, epoch = h.in_state("Ongoing")
    h.add("tx", pid, epoch, T2)
    assert h.init().error_code == E.CONCURRENT_TRANSACTIONS
    [job] = h.markers
    assert job == MarkerJob("tx", pid, epoch + 1, 0, False, (T1, T2))   # aborted with the bumped epoch
    assert h.state() is S.COMPLETE_ABORT
    retry = h.init()
    assert (retry.error_code, retry.producer_id, retry.producer_epoch) == (E.NONE, pid, epoch + 2)
    assert h.add("tx", pid, epoch, T1) == E.PRODUCER_FENCED         # the zombie
    assert h.end("tx", pid, epoch, True) == E.PRODUCER_FENCED
    assert h.c.verify("tx", pid, epoch, *T1) == E.PRODUCER_FENCED


def test_v3_recovery_with_the_current_epoch_bumps_it_and_a_retry_gets_the_same():
    h = Harness()
    pid, epoch = h.in_state("CompleteAbort")
    bumped = h.init(expected=(pid, epoch))
    assert (bumped.error_code, bumped.producer_id, bumped.producer_epoch) == (E.NONE, pid, epoch + 1)
    assert h.meta().last_producer_epoch == epoch
    retry = h.init(expected=(pid, epoch))             # the answer was lost: the same epoch again
    assert (retry.error_code, retry.producer_epoch) == (E.NONE, epoch + 1)
    assert h.init(expected=(pid, epoch - 1)).error_code == E.PRODUCER_FENCED
    assert h.init(expected=(pid + 5, epoch + 1)).error_code == E.PRODUCER_FENCED
    assert h.init(expected=(pid, epoch + 1)).producer_epoch == epoch + 2


def test_an_exhausted_epoch_gets_a_new_producer_id():
    h = Harness()
    pid, _ = h.in_state("Empty")
    h.meta().producer_epoch = 32766
    result = h.init(expected=(pid, 32766))
    assert (result.error_code, result.producer_epoch) == (E.NONE, 0) and result.producer_id != pid
    assert (h.meta().previous_producer_id, h.meta().last_producer_epoch) == (pid, 32766)
    retry = h.init(expected=(pid, 32766))              # the answer was lost: the same new id again
    assert (retry.error_code, retry.producer_id, retry.producer_epoch) == (E.NONE, result.producer_id, 0)
    h.meta().producer_epoch = 32766
    assert h.init().producer_epoch == 0 and h.meta().last_producer_epoch == -1   # no expectation: none kept


def test_end_txn_writes_prepare_then_complete_and_one_marker_job():
    h = Harness()
    pid, epoch = h.in_state("Ongoing")
    h.add("tx", pid, epoch, T2)
    before = len(h.written)
    assert h.end("tx", pid, epoch, True) == E.NONE
    assert [t.state for t in h.written[before:]] == [S.PREPARE_COMMIT, S.COMPLETE_COMMIT]
    assert h.written[before].partitions == {T1, T2} and h.written[-1].partitions == frozenset()
    assert h.markers == [MarkerJob("tx", pid, epoch, 0, True, (T1, T2))]
    assert h.add("tx", pid, epoch, T1) == E.NONE and h.state() is S.ONGOING   # the next transaction, same epoch


def test_adding_partitions_already_in_the_transaction_writes_nothing():
    h = Harness()
    pid, epoch = h.in_state("Ongoing")
    before = len(h.written)
    assert h.add("tx", pid, epoch, T1) == E.NONE
    assert len(h.written) == before
    start = h.meta().txn_start_timestamp_ms
    h.now += 500
    assert h.add("tx", pid, epoch, T2) == E.NONE
    assert h.meta().txn_start_timestamp_ms == start      # the transaction's start does not move


def test_timed_out_transactions_are_fenced_and_aborted_by_the_sweep():
    h = Harness()
    pid, epoch = h.in_state("Ongoing")
    pid2, epoch2 = h.in_state("Empty", "idle")
    start = h.meta().txn_start_timestamp_ms
    h.now = start + 60000
    assert h.sweep() == []                            # not more than its timeout yet
    assert h.sweep(1) == ["tx"]
    assert h.state() is S.COMPLETE_ABORT and h.meta().producer_epoch == epoch + 1
    assert h.markers[-1] == MarkerJob("tx", pid, epoch + 1, 0, False, (T1,))
    assert h.state("idle") is S.EMPTY
    assert h.end("tx", pid, epoch, True) == E.PRODUCER_FENCED
    assert h.c.verify("tx", pid, epoch, *T1) == E.PRODUCER_FENCED
    again = h.init()
    assert (again.error_code, again.producer_epoch) == (E.NONE, epoch + 2)


def test_idle_ids_expire_but_not_open_ones():
    h = Harness(transactional_id_expiration_ms=1000)
    h.in_state("CompleteCommit", "done")
    h.in_state("Ongoing", "open")
    h.in_state("Empty", "fresh")
    h.now += 500
    h.init("fresh")
    assert h.expire(500) == ["done"]
    assert h.state("done") is None and h.state("open") is S.ONGOING and h.state("fresh") is S.EMPTY
    assert h.written[-1].state is S.DEAD                 # a tombstone
    assert h.end("done", 1000, 0, True) == E.INVALID_PRODUCER_ID_MAPPING
    assert h.init("done").producer_id not in (1000,)     # a new id, a new producer id


def test_a_failed_write_changes_nothing():
    h = Harness()
    pid, epoch = h.in_state("Ongoing")
    h.fail_writes = True
    assert h.end("tx", pid, epoch, True) == E.COORDINATOR_NOT_AVAILABLE
    assert h.state() is S.ONGOING and h.meta().pending_state is None
    assert h.init().error_code == E.COORDINATOR_NOT_AVAILABLE
    assert h.meta().producer_epoch == epoch
    h.fail_writes = False
    assert h.end("tx", pid, epoch, True) == E.NONE
    assert h.state() is S.COMPLETE_COMMIT


def test_markers_not_yet_written_keep_the_transaction_preparing():
    h = Harness()
    pid, epoch = h.in_state("PrepareCommit")
    assert h.c.take_marker_jobs() == [MarkerJob("tx", pid, epoch, 0, True, (T1,))]
    assert h.end("tx", pid, epoch, True) == E.CONCURRENT_TRANSACTIONS
    assert h.init().error_code == E.CONCURRENT_TRANSACTIONS
    h.hold_markers = False
    h.settle()
    assert h.state() is S.COMPLETE_COMMIT and h.c.take_marker_jobs() == []
    assert h.end("tx", pid, epoch, True) == E.NONE


@pytest.mark.parametrize("state", STATES[:-1])
def test_a_restart_loads_every_state_and_finishes_preparing_transactions(state):
    h = Harness()
    pid, epoch = h.in_state(state)
    meta = h.meta()
    before = (meta.producer_id, meta.producer_epoch, meta.txn_timeout_ms, meta.partitions, meta.txn_start_timestamp_ms)
    again = h.restart()
    loaded = again.meta()
    expected_state = {"PrepareCommit": S.COMPLETE_COMMIT, "PrepareAbort": S.COMPLETE_ABORT}.get(state, meta.state)
    assert loaded.state is expected_state
    if state.startswith("Prepare"):
        assert again.markers[0].partitions == (T1,)
    else:
        assert (loaded.producer_id, loaded.producer_epoch, loaded.txn_timeout_ms, loaded.partitions,
                loaded.txn_start_timestamp_ms) == before
    assert again.init().producer_epoch in (epoch + 1, -1)   # -1: CONCURRENT_TRANSACTIONS (an open one is aborted)


def test_an_open_transaction_times_out_after_a_restart_from_its_recorded_start():
    h = Harness()
    pid, epoch = h.in_state("Ongoing")
    start = h.meta().txn_start_timestamp_ms
    again = h.restart()
    again.now = start + 60001
    assert again.sweep() == ["tx"]
    assert again.state() is S.COMPLETE_ABORT


def test_describe_and_list():
    h = Harness()
    pid, epoch = h.in_state("Ongoing")
    h.add("tx", pid, epoch, T2, ("u", 3))
    h.in_state("CompleteCommit", "other")
    assert h.c.describe("tx") == {
        "error_code": E.NONE, "transactional_id": "tx", "transaction_state": "Ongoing",
        "transaction_timeout_ms": 60000, "transaction_start_time_ms": h.meta().txn_start_timestamp_ms,
        "producer_id": pid, "producer_epoch": epoch,
        "topics": [{"topic": "t", "partitions": [0, 1]}, {"topic": "u", "partitions": [3]}]}
    assert h.c.describe("nope")["error_code"] == E.TRANSACTIONAL_ID_NOT_FOUND
    assert h.c.describe("")["error_code"] == E.INVALID_REQUEST
    listed = lambda *args: sorted(t["transactional_id"] for t in h.c.list_transactions(h.now, *args)[1])
    assert listed([], []) == ["other", "tx"]
    assert listed(["Ongoing"], []) == ["tx"]
    assert listed([], [h.meta("other").producer_id]) == ["other"]
    assert h.c.list_transactions(h.now, ["Ongoing", "Bogus"], [])[0] == ["Bogus"]
    h.now += 1000
    assert listed([], [], 500) == ["other", "tx"] and listed([], [], 5000) == []
