"""Property: whatever transactional producers do, and in whatever order (re-initialising, fencing
each other, timing out, the coordinator restarting), a read_committed reader never sees a record
of a transaction that was not committed, and sees every record of one that was, in order.

The coordinator runs on a fake clock (broker/tests/txn_harness.py) over a real memory log: its
markers are written to the partitions, produced batches go through the same verification as a
transactional produce, and the reader does what a Kafka consumer does with the LSO, the aborted
transactions of a fetch, and the markers.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from broker.tests.txn_harness import E, Harness
from storage import Record, build_batch, decode_records, iter_batches, read_header
from storage.control import ControlType, marker_of
from storage.errors import StorageError

TOPIC = "data"
PARTITIONS = 2
TIMEOUT_MS = 5000
# Three producer instances: two share a transactional id (so one fences the other), one has its own.
TRANSACTIONAL_IDS = ("a", "a", "b")


@dataclass
class Producer:
    transactional_id: str
    producer_id: int = -1
    epoch: int = -1
    sequences: dict[int, int] = field(default_factory=dict)
    tag: int = 0          # which of its transactions the records it writes now belong to
    added: set[int] = field(default_factory=set)   # the partitions it added to its transaction


class World:
    def __init__(self):
        self.h = Harness(transaction_max_timeout_ms=60000)
        self.h.storage.create_topic(TOPIC, PARTITIONS)
        self.h.marker_writer = self.write_markers
        self.producers = [Producer(t) for t in TRANSACTIONAL_IDS]
        self.tags = iter(range(1, 1 << 30))
        self.written: dict[int, list[tuple[bytes, int]]] = {p: [] for p in range(PARTITIONS)}   # (value, tag)
        self.committed_tags: set[int] = set()
        self.values = iter(range(1 << 30))

    def write_markers(self, job) -> None:
        for topic, partition in job.partitions:
            self.h.storage.partition(topic, partition).append_marker(
                job.producer_id, job.producer_epoch, job.coordinator_epoch, job.committed, self.h.now)

    # -- what producers do -------------------------------------------------------------

    def init(self, p: Producer) -> None:
        result = self.h.init(p.transactional_id, TIMEOUT_MS)
        if result.error_code == E.NONE:
            p.producer_id, p.epoch, p.sequences, p.tag = result.producer_id, result.producer_epoch, {}, next(self.tags)
            p.added = set()

    def produce(self, p: Producer, partition: int, count: int) -> None:
        """As a client does: initialise if need be, add the partition once per transaction, send."""
        if p.producer_id < 0:
            self.init(p)
        if partition not in p.added and p.producer_id >= 0:
            if self.h.add(p.transactional_id, p.producer_id, p.epoch, (TOPIC, partition)) == E.NONE:
                p.added.add(partition)
        self.send(p, partition, count)

    def send(self, p: Producer, partition: int, count: int) -> None:
        """A transactional batch, verified as a produce is (a partition not added is refused)."""
        if p.producer_id < 0 or self.h.c.verify(p.transactional_id, p.producer_id, p.epoch, TOPIC, partition):
            return
        values = [b"%d" % next(self.values) for _ in range(count)]
        sequence = p.sequences.get(partition, 0)
        batch = build_batch([Record(timestamp=self.h.now, value=v) for v in values], producer_id=p.producer_id,
                            producer_epoch=p.epoch, base_sequence=sequence, is_transactional=True)
        try:
            self.h.storage.partition(TOPIC, partition).append(batch, self.h.now, one_batch=True)
        except StorageError:
            return
        p.sequences[partition] = sequence + count
        self.written[partition] += [(v, p.tag) for v in values]

    def end(self, p: Producer, committed: bool) -> None:
        if p.producer_id >= 0 and self.h.end(p.transactional_id, p.producer_id, p.epoch, committed) == E.NONE:
            if committed:
                self.committed_tags.add(p.tag)
            p.tag = next(self.tags)
            p.added = set()

    def act(self, action: tuple) -> None:
        kind, *args = action
        if kind == "tick":
            self.h.sweep(args[0])
        elif kind == "expire":
            self.h.expire(args[0])
        elif kind == "restart":
            self.h = self.h.restart()
        else:
            getattr(self, kind)(self.producers[args[0]], *args[1:])

    # -- what a read_committed consumer sees ------------------------------------------------

    def read_committed(self, partition: int) -> list[bytes]:
        log = self.h.storage.partition(TOPIC, partition)
        result = log.read(0, 1 << 30, log.last_stable_offset)
        aborted = sorted(log.aborted_transactions(0, result.next_offset), key=lambda a: a.first_offset)
        aborted_producers: set[int] = set()
        seen = []
        for batch in iter_batches(result.read_bytes()):
            header = read_header(batch)
            while aborted and aborted[0].first_offset <= header.last_offset:
                aborted_producers.add(aborted.pop(0).producer_id)
            if header.is_control:
                marker = marker_of(batch)
                if marker is not None and marker.control_type is ControlType.ABORT:
                    aborted_producers.discard(header.producer_id)
                continue
            if header.is_transactional and header.producer_id in aborted_producers:
                continue
            seen += [r.value for r in decode_records(batch)]
        return seen

    def check_nothing_uncommitted_is_seen(self) -> None:
        for partition in range(PARTITIONS):
            tags = dict(self.written[partition])
            leaked = [v for v in self.read_committed(partition) if tags[v] not in self.committed_tags]
            assert not leaked, f"partition {partition}: records of uncommitted transactions seen: {leaked}"

    def check_every_committed_record_is_seen(self) -> None:
        for partition in range(PARTITIONS):
            expected = [v for v, tag in self.written[partition] if tag in self.committed_tags]
            assert self.read_committed(partition) == expected


producer_index = st.integers(0, len(TRANSACTIONAL_IDS) - 1)
partition_index = st.integers(0, PARTITIONS - 1)
actions = st.lists(st.one_of(
    st.tuples(st.just("init"), producer_index),
    st.tuples(st.just("produce"), producer_index, partition_index, st.integers(1, 3)),
    st.tuples(st.just("produce"), producer_index, partition_index, st.integers(1, 3)),
    st.tuples(st.just("send"), producer_index, partition_index, st.integers(1, 3)),
    st.tuples(st.just("end"), producer_index, st.sampled_from([True, True, False])),
    st.tuples(st.just("end"), producer_index, st.sampled_from([True, True, False])),
    st.tuples(st.just("tick"), st.integers(0, TIMEOUT_MS // 2)),
    st.tuples(st.just("expire"), st.integers(0, 10 ** 9)),
    st.tuples(st.just("restart")),
), max_size=60)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(actions)
def test_aborted_data_is_never_visible_to_read_committed(steps):
    world = World()
    for action in steps:
        world.act(action)
        world.check_nothing_uncommitted_is_seen()
    world.h.sweep(TIMEOUT_MS + 1)   # every transaction still open times out and is aborted
    world.check_nothing_uncommitted_is_seen()
    world.check_every_committed_record_is_seen()
