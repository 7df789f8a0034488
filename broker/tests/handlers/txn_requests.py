"""Raw-frame builders for the transactional APIs, shared by the handler tests (a helper module)."""

from __future__ import annotations

from broker.tests.handlers.serving import TIMESTAMP, fetch_body
from kproto.messages import (
    ADD_OFFSETS_TO_TXN, ADD_PARTITIONS_TO_TXN, END_TXN, FETCH, FIND_COORDINATOR, INIT_PRODUCER_ID, PRODUCE)
from storage import Record, build_batch, decode_records, iter_batches, read_header


class Txn:
    """A transactional producer speaking raw frames: its id, producer id, epoch and sequences."""

    def __init__(self, client, transactional_id: str, *, timeout_ms: int = 60000, version: int = 4):
        self.client = client
        self.transactional_id = transactional_id
        self.sequences: dict[tuple[str, int], int] = {}
        coordinator = client.request(FIND_COORDINATOR, 4, {"key_type": 1, "coordinator_keys": [transactional_id]})
        assert coordinator["coordinators"][0]["error_code"] == 0, coordinator
        answer = init(client, transactional_id, timeout_ms=timeout_ms, version=version)
        assert answer["error_code"] == 0, answer
        self.producer_id, self.epoch = answer["producer_id"], answer["producer_epoch"]

    def add(self, topic: str, *partitions: int, version: int = 3) -> list[tuple[int, int]]:
        """AddPartitionsToTxn: [(partition, error code)]."""
        response = add_partitions(self.client, self.transactional_id, self.producer_id, self.epoch,
                                  {topic: list(partitions)}, version=version)
        return [(p["partition_index"], p["partition_error_code"])
                for t in response["results_by_topic_v3_and_below"] for p in t["results_by_partition"]]

    def batch(self, topic: str, partition: int, *values: bytes) -> bytes:
        """The next transactional batch of this producer for the partition (its sequence advances)."""
        sequence = self.sequences.get((topic, partition), 0)
        self.sequences[(topic, partition)] = sequence + len(values)
        return build_batch([Record(timestamp=TIMESTAMP + i, value=v) for i, v in enumerate(values)],
                           producer_id=self.producer_id, producer_epoch=self.epoch, base_sequence=sequence,
                           is_transactional=True)

    def produce(self, topic: str, partition: int, *values: bytes, transactional_id: str | None = "") -> dict:
        """Send a transactional batch; that partition's response."""
        body = {"transactional_id": self.transactional_id if transactional_id == "" else transactional_id,
                "acks": -1, "timeout_ms": 5000,
                "topic_data": [{"name": topic, "partition_data": [
                    {"index": partition, "records": self.batch(topic, partition, *values)}]}]}
        [part] = self.client.request(PRODUCE, 9, body)["responses"][0]["partition_responses"]
        return part

    def end(self, committed: bool, version: int = 3) -> int:
        return end_txn(self.client, self.transactional_id, self.producer_id, self.epoch, committed, version)

    def add_offsets(self, group_id: str, version: int = 3) -> int:
        return self.client.request(ADD_OFFSETS_TO_TXN, version, {
            "transactional_id": self.transactional_id, "producer_id": self.producer_id,
            "producer_epoch": self.epoch, "group_id": group_id})["error_code"]


def init(client, transactional_id: str | None, *, timeout_ms: int = 60000, version: int = 4,
         producer_id: int = -1, producer_epoch: int = -1) -> dict:
    return client.request(INIT_PRODUCER_ID, version, {
        "transactional_id": transactional_id, "transaction_timeout_ms": timeout_ms, "producer_id": producer_id,
        "producer_epoch": producer_epoch})


def add_partitions(client, transactional_id: str, producer_id: int, epoch: int, topics: dict[str, list[int]],
                   *, version: int = 3) -> dict:
    return client.request(ADD_PARTITIONS_TO_TXN, version, {
        "v3_and_below_transactional_id": transactional_id, "v3_and_below_producer_id": producer_id,
        "v3_and_below_producer_epoch": epoch,
        "v3_and_below_topics": [{"name": t, "partitions": p} for t, p in topics.items()]})


def end_txn(client, transactional_id: str, producer_id: int, epoch: int, committed: bool, version: int = 3) -> int:
    return client.request(END_TXN, version, {"transactional_id": transactional_id, "producer_id": producer_id,
                                             "producer_epoch": epoch, "committed": committed})["error_code"]


def fetch(client, topic: str, partition: int = 0, offset: int = 0, *, read_committed: bool = True,
          version: int = 12) -> dict:
    """One partition's Fetch answer (isolation level 1 unless read_committed is False)."""
    response = client.request(FETCH, version, fetch_body(topic, {partition: offset},
                                                         isolation_level=1 if read_committed else 0))
    return response["responses"][0]["partitions"][0]


def records(part: dict) -> list[tuple[int, bytes | None, bool]]:
    """(offset, value, is a marker) of every record of a fetched partition."""
    out = []
    for batch in iter_batches(bytes(part["records"] or b"")):
        control = read_header(batch).is_control
        out += [(r.offset, r.value, control) for r in decode_records(batch)]
    return out


def consumed(part: dict) -> list[bytes]:
    """What a read_committed consumer keeps of a fetched partition: data records, minus those of
    the aborted transactions the answer names (each from its first offset to its marker)."""
    aborted = sorted((a["first_offset"], a["producer_id"]) for a in part["aborted_transactions"] or [])
    dropping: set[int] = set()
    kept = []
    for batch in iter_batches(bytes(part["records"] or b"")):
        header = read_header(batch)
        while aborted and aborted[0][0] <= header.last_offset:
            dropping.add(aborted.pop(0)[1])
        if header.is_control:
            dropping.discard(header.producer_id)
            continue
        if header.is_transactional and header.producer_id in dropping:
            continue
        kept += [r.value for r in decode_records(batch)]
    return kept
