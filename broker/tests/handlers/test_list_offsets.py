"""ListOffsets over a real socket: the special times (latest -1, earliest -2, max timestamp -3,
earliest local -4, latest tiered -5), offsets by time, and the partition error shape."""

from __future__ import annotations

import pytest

from broker.tests.handlers.serving import batch, create_topic, produce
from kproto.errors import ErrorCode as E
from kproto.messages import LIST_OFFSETS

LATEST, EARLIEST, MAX_TIMESTAMP, EARLIEST_LOCAL, LATEST_TIERED = -1, -2, -3, -4, -5


def list_offsets(client, version: int, topic: str, targets: list[tuple[int, int]], isolation_level: int = 0) -> list:
    """[(error_code, offset, timestamp, leader_epoch)] for (partition, timestamp) targets."""
    response = client.request(LIST_OFFSETS, version, {
        "replica_id": -1, "isolation_level": isolation_level, "timeout_ms": 1000,
        "topics": [{"name": topic, "partitions": [{"partition_index": p, "timestamp": t} for p, t in targets]}]})
    assert response["throttle_time_ms"] == 0
    [answer] = response["topics"]
    assert answer["name"] == topic
    assert [p["partition_index"] for p in answer["partitions"]] == [p for p, _ in targets]
    return [(p["error_code"], p["offset"], p["timestamp"], p["leader_epoch"]) for p in answer["partitions"]]


@pytest.fixture
def timed_topic(client, topic) -> str:
    """Offsets 0-2 at times 1000-1002, offset 3 at time 500 (time need not grow with offsets)."""
    create_topic(client, topic)
    produce(client, topic, batch(b"a", b"b", b"c", timestamp=1000))
    produce(client, topic, batch(b"d", timestamp=500))
    return topic


@pytest.mark.parametrize("version", [1, 4, 7, 8, 9, 10])
def test_offsets_by_time(client, timed_topic, version):
    epoch = 0 if version >= 4 else -1   # leader_epoch is in the response from v4
    cases = {LATEST: (0, 4, -1, epoch), EARLIEST: (0, 0, -1, epoch),
             1001: (0, 1, 1001, epoch),     # the first record at or after the time
             0: (0, 0, 1000, epoch),
             5000: (0, -1, -1, -1)}         # none that late
    if version >= 7:
        cases[MAX_TIMESTAMP] = (0, 2, 1002, epoch)
    if version >= 8:
        cases[EARLIEST_LOCAL] = (0, 0, -1, epoch)   # nothing is tiered: the log start
    if version >= 9:
        cases[LATEST_TIERED] = (0, -1, -1, -1)       # nothing is tiered: none
    for timestamp, expected in cases.items():   # one request each: a partition may be asked once per request
        assert list_offsets(client, version, timed_topic, [(0, timestamp)]) == [expected], timestamp


def test_empty_partition(client, topic):
    create_topic(client, topic)
    assert list_offsets(client, 7, topic, [(0, LATEST)]) == [(0, 0, -1, 0)]
    assert list_offsets(client, 7, topic, [(0, EARLIEST)]) == [(0, 0, -1, 0)]
    assert list_offsets(client, 7, topic, [(0, MAX_TIMESTAMP)]) == [(0, -1, -1, -1)]


def test_unknown_topic_and_partition(client, topic):
    create_topic(client, topic, partitions=2)
    assert list_offsets(client, 7, topic, [(1, LATEST), (2, LATEST), (-1, LATEST)]) == [
        (0, 0, -1, 0), (E.UNKNOWN_TOPIC_OR_PARTITION, -1, -1, -1), (E.UNKNOWN_TOPIC_OR_PARTITION, -1, -1, -1)]
    assert list_offsets(client, 7, topic + "-none", [(0, LATEST)]) == [(E.UNKNOWN_TOPIC_OR_PARTITION, -1, -1, -1)]


@pytest.mark.xfail(strict=True, reason="Kafka answers a partition asked twice once, INVALID_REQUEST; "
                                       "kbroker serves the first and refuses the second")
def test_partition_asked_twice_has_kafkas_shape(client, timed_topic):
    response = client.request(LIST_OFFSETS, 7, {"replica_id": -1, "isolation_level": 0, "topics": [
        {"name": timed_topic, "partitions": [{"partition_index": 0, "timestamp": LATEST},
                                             {"partition_index": 0, "timestamp": EARLIEST}]}]})
    assert [(p["partition_index"], p["error_code"]) for p in response["topics"][0]["partitions"]] == [
        (0, E.INVALID_REQUEST)]


@pytest.mark.xfail(strict=True, reason="Kafka refuses a special time older than its version "
                                       "(-3 below v7, -4 below v8, -5 below v9) with UNSUPPORTED_VERSION")
@pytest.mark.parametrize("version,timestamp", [(6, MAX_TIMESTAMP), (7, EARLIEST_LOCAL), (8, LATEST_TIERED)])
def test_special_time_older_than_its_version(client, timed_topic, version, timestamp):
    assert list_offsets(client, version, timed_topic, [(0, timestamp)]) == [(E.UNSUPPORTED_VERSION, -1, -1, -1)]
