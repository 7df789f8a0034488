"""DeleteRecords over a real socket: the low watermark it answers, what readers see after it
(Fetch below it, ListOffsets earliest, Produce's log_start_offset), and each refusal in its
error shape (low_watermark -1)."""

from __future__ import annotations

import pytest

from broker.tests.handlers.serving import batch, create_topic, fetch_body, produce, values_of
from kproto.errors import ErrorCode as E
from kproto.messages import DELETE_RECORDS, FETCH, LIST_OFFSETS
from storage import Record, build_batch
from storage.checkpoints import parse_checkpoint

EARLIEST = -2


def delete_records(client, version: int, topic: str, offsets: dict[int, int]) -> list[dict]:
    response = client.request(DELETE_RECORDS, version, {"topics": [{"name": topic, "partitions": [
        {"partition_index": p, "offset": o} for p, o in offsets.items()]}], "timeout_ms": 5000})
    assert response["throttle_time_ms"] == 0
    [answer] = response["topics"]
    assert answer["name"] == topic
    return answer["partitions"]


def result(index: int, low_watermark: int = -1, error_code: int = 0) -> dict:
    return {"partition_index": index, "low_watermark": low_watermark, "error_code": error_code}


def filled(client, topic: str, partitions: int = 1, configs=None) -> None:
    """Offsets 0-5 in each partition, as three batches of two records."""
    create_topic(client, topic, partitions=partitions, configs=configs)
    for partition in range(partitions):
        for values in ((b"a", b"b"), (b"c", b"d"), (b"e", b"f")):
            assert produce(client, topic, batch(*values), partition=partition)["error_code"] == 0


def fetched(client, topic: str, offset: int) -> dict:
    [part] = client.request(FETCH, 12, fetch_body(topic, {0: offset}))["responses"][0]["partitions"]
    part["records"] = values_of(part["records"])
    return part


def earliest(client, topic: str) -> int:
    response = client.request(LIST_OFFSETS, 7, {"replica_id": -1, "isolation_level": 0, "topics": [
        {"name": topic, "partitions": [{"partition_index": 0, "current_leader_epoch": -1, "timestamp": EARLIEST}]}]})
    return response["topics"][0]["partitions"][0]["offset"]


@pytest.mark.parametrize("version", [0, 1, 2])
def test_records_below_the_offset_are_gone_for_every_reader(client, topic, version):
    filled(client, topic)
    assert delete_records(client, version, topic, {0: 3}) == [result(0, low_watermark=3)]
    below = fetched(client, topic, 2)
    assert (below["error_code"], below["log_start_offset"], below["records"]) == (E.OFFSET_OUT_OF_RANGE, -1, [])
    # offset 3 is inside the batch of offsets 2-3, which comes back whole (the client skips offset 2)
    at = fetched(client, topic, 3)
    assert (at["error_code"], at["log_start_offset"], at["records"][:2]) == (0, 3, [(2, b"c"), (3, b"d")])
    assert earliest(client, topic) == 3
    assert produce(client, topic, batch(b"g"))["log_start_offset"] == 3


def test_high_watermark_and_partitions_each_on_their_own(client, topic):
    filled(client, topic, partitions=3)
    assert delete_records(client, 2, topic, {0: -1, 1: 7, 2: 2, 3: 0}) == [
        result(0, low_watermark=6),                      # -1: up to the high watermark
        result(1, error_code=E.OFFSET_OUT_OF_RANGE),     # past the high watermark
        result(2, low_watermark=2),
        result(3, error_code=E.UNKNOWN_TOPIC_OR_PARTITION),
    ]
    assert delete_records(client, 2, topic, {2: 1}) == [result(2, low_watermark=2)]   # never backwards
    assert delete_records(client, 2, topic, {2: -5}) == [result(2, error_code=E.OFFSET_OUT_OF_RANGE)]


def test_unknown_topic(client, topic):
    assert delete_records(client, 1, topic, {0: 0}) == [result(0, error_code=E.UNKNOWN_TOPIC_OR_PARTITION)]


def test_a_compacted_topic_refuses_by_policy(client, topic):
    create_topic(client, topic, configs={"cleanup.policy": "compact"})
    keyed = build_batch([Record(timestamp=1_700_000_000_000 + i, key=b"k", value=b"v") for i in range(3)])
    assert produce(client, topic, keyed)["error_code"] == 0
    assert delete_records(client, 2, topic, {0: 2}) == [result(0, error_code=E.POLICY_VIOLATION)]
    assert earliest(client, topic) == 0


def test_an_internal_topic_refuses(served, client):
    name = "__kbroker_test_internal"
    if served.call(served.broker.storage.topic, name) is None:
        served.call(lambda: served.broker.storage.create_topic(name, 1, {}, internal=True))
    assert delete_records(client, 2, name, {0: 0}) == [result(0, error_code=E.INVALID_TOPIC_EXCEPTION)]


def test_the_new_start_is_checkpointed_before_the_answer(served, client, topic):
    filled(client, topic)
    delete_records(client, 2, topic, {0: 4})
    text = (served.broker.config.data_dir / "log-start-offset-checkpoint").read_text()
    assert parse_checkpoint(text)[(topic, 0)] == 4
