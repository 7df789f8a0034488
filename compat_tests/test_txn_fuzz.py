"""The transactional APIs in random order, at random versions, against a real broker process.

Producers (two of them share a transactional id, so they fence each other) initialise, add
partitions (or not), add offsets, produce transactional batches (also to partitions not added,
also with stale epochs), commit offsets in their transactions, commit or abort, and let their
short transactions time out. After every request the broker must have answered, logged no error,
and a read_committed reader must see no record of a transaction that was not committed; at the
end, once every open transaction has timed out, it must see every record of every transaction
whose EndTxn commit was acknowledged, in order, and the group the offsets of exactly those.
"""

from __future__ import annotations

import re
import time
import uuid
from dataclasses import dataclass, field

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from broker.testing import BrokerProcess, RawClient
from kproto.errors import ErrorCode as E
from kproto.messages import (
    ADD_OFFSETS_TO_TXN, ADD_PARTITIONS_TO_TXN, CREATE_TOPICS, DESCRIBE_TRANSACTIONS, END_TXN, FETCH,
    FIND_COORDINATOR, INIT_PRODUCER_ID, LIST_TRANSACTIONS, OFFSET_FETCH, PRODUCE, TXN_OFFSET_COMMIT)
from storage import Record, build_batch, decode_records, iter_batches, read_header

PARTITIONS = 2
TIMEOUT_MS = 150
LOGGED_ERROR = re.compile(r"Traceback|\bERROR\b")
TRANSACTIONAL_IDS = ("a", "a", "b")


@pytest.fixture(scope="module")
def txn_fuzz_broker(tmp_path_factory):
    root = tmp_path_factory.mktemp("txn-fuzz")
    process = BrokerProcess(root / "data", log_path=root / "broker.log", overrides={
        "transaction.abort.timed.out.transaction.cleanup.interval.ms": "20"}).start()
    yield process, root / "broker.log"
    assert process.stop() == 0


@dataclass
class Producer:
    transactional_id: str
    producer_id: int = -1
    epoch: int = -1
    sequences: dict[int, int] = field(default_factory=dict)
    tag: int = 0
    offsets: dict[int, tuple[int, int]] = field(default_factory=dict)   # its transaction's (offset, append order)
    added: set = field(default_factory=set)   # the partitions (and "offsets") its transaction added


class Fuzz:
    def __init__(self, bootstrap: str, prefix: str):
        self.client = RawClient(bootstrap)
        self.topic = f"{prefix}-t"
        self.group = f"{prefix}-g"
        response = self.client.request(CREATE_TOPICS, 7, {"topics": [{
            "name": self.topic, "num_partitions": PARTITIONS, "replication_factor": 1, "assignments": [],
            "configs": []}], "timeout_ms": 5000})
        assert response["topics"][0]["error_code"] == 0
        self.producers = [Producer(f"{prefix}-{t}") for t in TRANSACTIONAL_IDS]
        self.tags = iter(range(1, 1 << 30))
        self.values = iter(range(1 << 30))
        self.written: dict[int, list[tuple[bytes, int]]] = {p: [] for p in range(PARTITIONS)}
        self.committed_tags: set[int] = set()
        self.committed_offsets: dict[int, tuple[int, int]] = {}
        self.appends = iter(range(1 << 30))

    # -- requests ------------------------------------------------------------------------

    def init(self, p: Producer, version: int, timeout_ms: int) -> None:
        self.client.request(FIND_COORDINATOR, 3, {"key": p.transactional_id, "key_type": 1})
        recover = version >= 3 and p.producer_id >= 0
        answer = self.client.request(INIT_PRODUCER_ID, version, {
            "transactional_id": p.transactional_id, "transaction_timeout_ms": timeout_ms,
            "producer_id": p.producer_id if recover else -1, "producer_epoch": p.epoch if recover else -1})
        if answer["error_code"] == E.NONE:
            p.producer_id, p.epoch, p.sequences, p.tag = answer["producer_id"], answer["producer_epoch"], {}, \
                next(self.tags)
            p.offsets, p.added = {}, set()

    def add(self, p: Producer, partitions: list[int], version: int) -> int:
        """AddPartitionsToTxn (v4+: verify only); the first partition's error code."""
        if version >= 4:
            self.client.request(ADD_PARTITIONS_TO_TXN, version, {"transactions": [{
                "transactional_id": p.transactional_id, "producer_id": p.producer_id, "producer_epoch": p.epoch,
                "verify_only": True, "topics": [{"name": self.topic, "partitions": partitions}]}]})
            return -1
        response = self.client.request(ADD_PARTITIONS_TO_TXN, version, {
            "v3_and_below_transactional_id": p.transactional_id, "v3_and_below_producer_id": p.producer_id,
            "v3_and_below_producer_epoch": p.epoch,
            "v3_and_below_topics": [{"name": self.topic, "partitions": partitions}]})
        return response["results_by_topic_v3_and_below"][0]["results_by_partition"][0]["partition_error_code"]

    def produce(self, p: Producer, partition: int, count: int) -> None:
        """As a client does: initialise if need be, add the partition once per transaction, send."""
        if p.producer_id < 0:
            self.init(p, 4, TIMEOUT_MS)
        if partition not in p.added and self.add(p, [partition], 3) == E.NONE:
            p.added.add(partition)
        self.send(p, partition, count, False)

    def offsets(self, p: Producer, partition: int, version: int) -> None:
        """As a client's send_offsets_to_transaction: AddOffsetsToTxn once, then TxnOffsetCommit."""
        if "offsets" not in p.added and self.add_offsets(p, 3) == E.NONE:
            p.added.add("offsets")
        self.commit_offsets(p, partition, version)

    def send(self, p: Producer, partition: int, count: int, stale_epoch: bool) -> None:
        values = [b"%d" % next(self.values) for _ in range(count)]
        sequence = p.sequences.get(partition, 0)
        batch = build_batch([Record(timestamp=1, value=v) for v in values], producer_id=p.producer_id,
                            producer_epoch=p.epoch - 1 if stale_epoch else p.epoch, base_sequence=sequence,
                            is_transactional=True)
        response = self.client.request(PRODUCE, 9, {"transactional_id": p.transactional_id, "acks": -1,
                                                    "timeout_ms": 1000, "topic_data": [{"name": self.topic,
                                                    "partition_data": [{"index": partition, "records": batch}]}]})
        if response["responses"][0]["partition_responses"][0]["error_code"] == E.NONE:
            assert not stale_epoch or p.producer_id < 0, "a stale epoch was accepted"
            p.sequences[partition] = sequence + count
            self.written[partition] += [(v, p.tag) for v in values]

    def add_offsets(self, p: Producer, version: int) -> int:
        return self.client.request(ADD_OFFSETS_TO_TXN, version, {
            "transactional_id": p.transactional_id, "producer_id": p.producer_id, "producer_epoch": p.epoch,
            "group_id": self.group})["error_code"]

    def commit_offsets(self, p: Producer, partition: int, version: int) -> None:
        offset = len(self.written[partition])
        response = self.client.request(TXN_OFFSET_COMMIT, version, {
            "transactional_id": p.transactional_id, "group_id": self.group, "producer_id": p.producer_id,
            "producer_epoch": p.epoch, "generation_id": -1, "member_id": "", "group_instance_id": None,
            "topics": [{"name": self.topic, "partitions": [{"partition_index": partition, "committed_offset": offset,
                                                            "committed_leader_epoch": -1,
                                                            "committed_metadata": None}]}]})
        if response["topics"][0]["partitions"][0]["error_code"] == E.NONE:
            p.offsets[partition] = (offset, next(self.appends))

    def end(self, p: Producer, committed: bool, version: int) -> None:
        code = self.client.request(END_TXN, version, {"transactional_id": p.transactional_id,
                                                      "producer_id": p.producer_id, "producer_epoch": p.epoch,
                                                      "committed": committed})["error_code"]
        if code == E.NONE:
            if committed:
                self.committed_tags.add(p.tag)
                for index, (offset, order) in p.offsets.items():   # the later append wins, as in Kafka
                    if order > self.committed_offsets.get(index, (-1, -1))[1]:
                        self.committed_offsets[index] = (offset, order)
            p.tag, p.offsets, p.added = next(self.tags), {}, set()

    def look(self, p: Producer) -> None:
        self.client.request(DESCRIBE_TRANSACTIONS, 0, {"transactional_ids": [p.transactional_id]})
        self.client.request(LIST_TRANSACTIONS, 1, {"state_filters": [], "producer_id_filters": [],
                                                   "duration_filter": -1})

    def act(self, action: tuple) -> None:
        kind, *args = action
        if kind == "sleep":
            time.sleep(args[0] / 1000)
        else:
            getattr(self, kind)(self.producers[args[0]], *args[1:])

    # -- what a read_committed consumer sees ----------------------------------------------------

    def read_committed(self, partition: int) -> list[bytes]:
        response = self.client.request(FETCH, 12, {
            "max_wait_ms": 0, "min_bytes": 0, "max_bytes": 1 << 24, "isolation_level": 1, "session_id": 0,
            "session_epoch": -1, "topics": [{"topic": self.topic, "partitions": [
                {"partition": partition, "fetch_offset": 0, "partition_max_bytes": 1 << 24}]}],
            "forgotten_topics_data": [], "rack_id": ""})
        part = response["responses"][0]["partitions"][0]
        assert part["error_code"] == 0, part
        aborted = sorted((a["first_offset"], a["producer_id"]) for a in part["aborted_transactions"])
        dropping: set[int] = set()
        seen = []
        for batch in iter_batches(bytes(part["records"] or b"")):
            header = read_header(batch)
            while aborted and aborted[0][0] <= header.last_offset:
                dropping.add(aborted.pop(0)[1])
            if header.is_control:
                if decode_records(batch)[0].key[2:4] == b"\x00\x00":   # an abort marker
                    dropping.discard(header.producer_id)
                continue
            if header.is_transactional and header.producer_id in dropping:
                continue
            seen += [r.value for r in decode_records(batch)]
        return seen

    def check_nothing_uncommitted_is_seen(self) -> None:
        for partition in range(PARTITIONS):
            tags = dict(self.written[partition])
            leaked = [v for v in self.read_committed(partition) if tags.get(v) not in self.committed_tags]
            assert not leaked, f"records of transactions not committed are visible: {leaked}"

    def check_every_committed_record_is_seen(self) -> None:
        for partition in range(PARTITIONS):
            expected = [v for v, tag in self.written[partition] if tag in self.committed_tags]
            assert self.read_committed(partition) == expected, "committed records lost"
        response = self.client.request(OFFSET_FETCH, 8, {"groups": [{"group_id": self.group, "topics": [
            {"name": self.topic, "partition_indexes": list(range(PARTITIONS))}]}], "require_stable": True})
        got = {p["partition_index"]: p["committed_offset"] for p in response["groups"][0]["topics"][0]["partitions"]}
        assert got == {p: self.committed_offsets.get(p, (-1, -1))[0] for p in range(PARTITIONS)}


producer = st.integers(0, len(TRANSACTIONAL_IDS) - 1)
partition = st.integers(0, PARTITIONS - 1)
actions = st.lists(st.one_of(
    st.tuples(st.just("init"), producer, st.integers(0, 5), st.sampled_from([TIMEOUT_MS, TIMEOUT_MS, 0, 10 ** 9])),
    st.tuples(st.just("add"), producer, st.lists(partition, min_size=1, max_size=2, unique=True),
              st.sampled_from([0, 1, 2, 3, 3, 4, 5])),
    st.tuples(st.just("produce"), producer, partition, st.integers(1, 3)),
    st.tuples(st.just("produce"), producer, partition, st.integers(1, 3)),
    st.tuples(st.just("produce"), producer, partition, st.integers(1, 3)),
    st.tuples(st.just("send"), producer, partition, st.integers(1, 2), st.booleans()),
    st.tuples(st.just("offsets"), producer, partition, st.integers(0, 4)),
    st.tuples(st.just("add_offsets"), producer, st.integers(0, 4)),
    st.tuples(st.just("commit_offsets"), producer, partition, st.integers(0, 4)),
    st.tuples(st.just("end"), producer, st.booleans(), st.integers(0, 4)),
    st.tuples(st.just("end"), producer, st.just(True), st.integers(0, 4)),
    st.tuples(st.just("end"), producer, st.just(True), st.integers(0, 4)),
    st.tuples(st.just("look"), producer),
    st.tuples(st.just("sleep"), st.integers(0, TIMEOUT_MS + 50)),
), min_size=8, max_size=40)


@settings(max_examples=30, deadline=None, suppress_health_check=list(HealthCheck), database=None)
@given(steps=actions)
def test_transactional_apis_in_random_order(txn_fuzz_broker, steps):
    process, log_path = txn_fuzz_broker
    seen_log = log_path.stat().st_size
    fuzz = Fuzz(process.bootstrap, f"fuzz-{uuid.uuid4().hex[:8]}")
    try:
        for action in steps:
            fuzz.act(action)
            fuzz.check_nothing_uncommitted_is_seen()
        time.sleep((TIMEOUT_MS + 100) / 1000)   # every transaction still open times out and is aborted
        fuzz.check_nothing_uncommitted_is_seen()
        fuzz.check_every_committed_record_is_seen()
    finally:
        fuzz.client.close()
    with open(log_path, "rb") as f:
        f.seek(seen_log)
        logged = f.read().decode(errors="replace")
    assert not LOGGED_ERROR.search(logged), f"the broker logged an error:\n{logged[-3000:]}"
