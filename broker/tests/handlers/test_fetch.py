"""Fetch over a real socket: what each version returns, the error shapes, long polls woken by a
produce (or by the topic's deletion), and the byte limits (KIP-74: the first batch of the first
partition with data comes back whole whatever the limits; later partitions stop at them)."""

from __future__ import annotations

import socket
import threading
import time

import pytest

from broker.tests.handlers.serving import batch, create_topic, fetch_body, produce, produce_body, values_of
from kproto.errors import ErrorCode as E
from kproto.codec import encode_request
from kproto.messages import DELETE_TOPICS, FETCH, METADATA, PRODUCE
from storage import iter_batches, read_header

NO_ID = bytes(16)


def entry(index: int, error_code: int = 0, *, high_watermark: int = -1, last_stable_offset: int = -1,
          log_start_offset: int = -1, records=(), aborted_transactions=None) -> dict:
    """One partition of the response as the client decodes it, records as [(offset, value)]."""
    return {"partition_index": index, "error_code": error_code, "high_watermark": high_watermark,
            "last_stable_offset": last_stable_offset, "log_start_offset": log_start_offset,
            "aborted_transactions": aborted_transactions, "preferred_read_replica": -1, "records": list(records),
            "diverging_epoch": {"epoch": -1, "end_offset": -1}, "current_leader": {"leader_id": -1, "leader_epoch": -1},
            "snapshot_id": {"end_offset": -1, "epoch": -1}}


def fetch(client, version: int, topic: str, offsets: dict[int, int], topic_id: bytes = NO_ID, **limits) -> dict:
    """A Fetch whose response has its records decoded to [(offset, value)], checked for the top-level fields."""
    response = client.request(FETCH, version, fetch_body(topic, offsets, topic_id=topic_id, **limits))
    return decoded(response, version)


def decoded(response: dict, version: int) -> dict:
    assert (response["throttle_time_ms"], response["error_code"], response["session_id"]) == (0, 0, 0)
    [topic] = response["responses"]
    for part in topic["partitions"]:
        part["records"] = values_of(part["records"])
    return topic


def fill(client, topic: str, partition: int, *batches: bytes) -> list[int]:
    """Produce ``batches`` one by one; their base offsets."""
    offsets = []
    for one in batches:
        part = produce(client, topic, one, partition=partition)
        assert part["error_code"] == 0, part
        offsets.append(part["base_offset"])
    return offsets


@pytest.mark.parametrize("version", [4, 5, 11, 12, 13, 17])
def test_reads_whole_batches_from_the_offset(client, topic, version):
    topic_id = create_topic(client, topic, partitions=2)
    fill(client, topic, 0, batch(b"a", b"b", b"c"), batch(b"d"))
    fill(client, topic, 1, batch(b"x"))
    by_id = version >= 13
    got = fetch(client, version, topic, {0: 1, 1: 1}, topic_id=topic_id if by_id else NO_ID)
    # v13+ name the topic by id only; v5+ carry log_start_offset
    assert (got["topic"], got["topic_id"]) == (("", topic_id) if by_id else (topic, NO_ID))
    log_start = 0 if version >= 5 else -1
    assert got["partitions"] == [
        # offset 1 is inside the first batch: the whole batch comes back, the client skips offset 0
        entry(0, high_watermark=4, last_stable_offset=4, log_start_offset=log_start,
              records=[(0, b"a"), (1, b"b"), (2, b"c"), (3, b"d")]),
        entry(1, high_watermark=1, last_stable_offset=1, log_start_offset=log_start),   # at the end: nothing
    ]


def test_records_are_the_produced_bytes(client, topic):
    """A batch leaves as it was stored (sendfile for a large one): the client's bytes with the offset assigned."""
    create_topic(client, topic)
    sent = [batch(b"s" * 100), batch(bytes(range(256)) * 800)]   # 200 KB: above the sendfile threshold
    fill(client, topic, 0, *sent)
    [part] = client.request(FETCH, 12, fetch_body(topic, {0: 0}, max_bytes=1 << 21,
                                                  partition_max_bytes=1 << 21))["responses"][0]["partitions"]
    got = [bytes(b) for b in iter_batches(bytes(part["records"]))]
    assert [read_header(b).base_offset for b in got] == [0, 1]
    assert [b[8:12] + b[16:] for b in got] == [s[8:12] + s[16:] for s in sent]   # all but offset and leader epoch


def test_ranges_larger_than_the_socket_takes_arrive_whole_and_in_order(served, topic):
    """Two fetches of 3 x 1,000 KB (sendfile) and a Metadata between them, sent together by a client
    that reads nothing for a while: the first range goes out as far as the socket buffers take it
    (about 1 MB here), the rest once the client reads, and the answers come whole, in order."""
    sent = [batch(bytes([i]) * (1000 << 10)) for i in range(3)]
    with served.client() as client:
        create_topic(client, topic)
        fill(client, topic, 0, *sent)
    with served.client() as client:
        body = fetch_body(topic, {0: 0}, max_bytes=8 << 20, partition_max_bytes=8 << 20)
        metadata = {"topics": [{"name": topic}], "allow_auto_topic_creation": False,
                    "include_cluster_authorized_operations": False, "include_topic_authorized_operations": False}
        ids = [client.send(FETCH, 12, body), client.send(METADATA, 9, metadata), client.send(FETCH, 12, body)]
        time.sleep(0.2)    # the broker's sends meet a full socket
        answers = [client.receive(FETCH, 12), client.receive(METADATA, 9), client.receive(FETCH, 12)]
    assert [correlation_id for correlation_id, _ in answers] == ids
    for _, response in (answers[0], answers[2]):
        [part] = response["responses"][0]["partitions"]
        got = [bytes(b) for b in iter_batches(bytes(part["records"]))]
        assert [b[61:] for b in got] == [s[61:] for s in sent]    # the records, as produced
    assert answers[1][1]["topics"][0]["error_code"] == 0


def test_a_long_poll_answered_by_the_append_with_more_than_the_socket_takes(served, topic):
    """A long poll for min_bytes of 7.5 MB: seven produces of 1,000 KB leave it waiting, the eighth
    answers it from its own call with 8 x 1,000 KB (sendfile) while its client reads nothing, more
    than the socket takes; the rest goes once the client reads, the answer whole, followed by the
    Metadata sent after the fetch."""
    sent = [batch(bytes([i]) * (1000 << 10)) for i in range(8)]
    with served.client() as client, served.client() as consumer:
        consumer.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 64 << 10)   # takes less than the answer
        create_topic(client, topic)
        metadata = {"topics": [{"name": topic}], "allow_auto_topic_creation": False,
                    "include_cluster_authorized_operations": False, "include_topic_authorized_operations": False}
        ids = [consumer.send(FETCH, 12, fetch_body(topic, {0: 0}, max_wait_ms=30_000, min_bytes=7_500_000,
                                                   max_bytes=16 << 20, partition_max_bytes=16 << 20)),
               consumer.send(METADATA, 9, metadata)]
        served.wait_until_waited_on(topic, 0)
        for one in sent:
            assert produce(client, topic, one)["error_code"] == 0
        time.sleep(0.2)    # the answer meets a full socket
        answers = [consumer.receive(FETCH, 12), consumer.receive(METADATA, 9)]
    assert [correlation_id for correlation_id, _ in answers] == ids
    [part] = answers[0][1]["responses"][0]["partitions"]
    got = [bytes(b) for b in iter_batches(bytes(part["records"]))]
    assert [b[61:] for b in got] == [s[61:] for s in sent]
    assert answers[1][1]["topics"][0]["error_code"] == 0


@pytest.mark.parametrize("version", [4, 12, 13, 17])
def test_unknown_topic(client, topic, version):
    by_id = version >= 13
    got = fetch(client, version, topic, {0: 0}, topic_id=bytes(range(16)) if by_id else NO_ID)
    assert got["partitions"] == [entry(0, E.UNKNOWN_TOPIC_ID if by_id else E.UNKNOWN_TOPIC_OR_PARTITION)]


def test_unknown_partition_fails_alone(client, topic):
    create_topic(client, topic)
    fill(client, topic, 0, batch(b"a"))
    got = fetch(client, 12, topic, {1: 0, 0: 0, -1: 0})
    assert got["partitions"] == [
        entry(1, E.UNKNOWN_TOPIC_OR_PARTITION),
        entry(0, high_watermark=1, last_stable_offset=1, log_start_offset=0, records=[(0, b"a")]),
        entry(-1, E.UNKNOWN_TOPIC_OR_PARTITION),
    ]


def test_leader_epoch_ahead_of_the_leader(client, topic):
    create_topic(client, topic)
    fill(client, topic, 0, batch(b"a"))
    assert fetch(client, 12, topic, {0: 0}, current_leader_epoch=1)["partitions"] == [
        entry(0, E.UNKNOWN_LEADER_EPOCH)]
    assert fetch(client, 12, topic, {0: 0}, current_leader_epoch=0)["partitions"] == [
        entry(0, high_watermark=1, last_stable_offset=1, log_start_offset=0, records=[(0, b"a")])]


@pytest.mark.parametrize("offset", [3, 100, -1])
def test_offset_out_of_range(client, topic, offset):
    create_topic(client, topic)
    fill(client, topic, 0, batch(b"a", b"b"))
    [part] = fetch(client, 12, topic, {0: offset})["partitions"]
    assert (part["error_code"], part["records"]) == (E.OFFSET_OUT_OF_RANGE, [])


def test_offset_out_of_range_has_kafkas_shape(client, topic):
    create_topic(client, topic)
    fill(client, topic, 0, batch(b"a", b"b"))
    assert fetch(client, 12, topic, {0: 3})["partitions"] == [entry(0, E.OFFSET_OUT_OF_RANGE)]


@pytest.mark.parametrize("isolation_level,aborted", [(0, None), (1, [])])
def test_isolation_level(client, topic, isolation_level, aborted):
    create_topic(client, topic)
    fill(client, topic, 0, batch(b"a"))
    assert fetch(client, 12, topic, {0: 0}, isolation_level=isolation_level)["partitions"] == [
        entry(0, high_watermark=1, last_stable_offset=1, log_start_offset=0, records=[(0, b"a")],
              aborted_transactions=aborted)]


# -- long polls ------------------------------------------------------------------------------------

def test_long_poll_is_woken_by_a_produce(served, client, topic):
    create_topic(client, topic, partitions=2)
    client.send(FETCH, 12, fetch_body(topic, {0: 0, 1: 0}, max_wait_ms=60_000, min_bytes=1))
    served.wait_until_waited_on(topic, 1)
    with served.client() as producer:
        fill(producer, topic, 1, batch(b"late"))
    _, response = client.receive(FETCH, 12)
    assert decoded(response, 12)["partitions"] == [
        entry(0, high_watermark=0, last_stable_offset=0, log_start_offset=0),
        entry(1, high_watermark=1, last_stable_offset=1, log_start_offset=0, records=[(0, b"late")]),
    ]


def test_long_poll_waits_for_min_bytes(served, client, topic):
    create_topic(client, topic)
    first, second = batch(b"one"), batch(b"two")
    client.send(FETCH, 12, fetch_body(topic, {0: 0}, max_wait_ms=60_000, min_bytes=len(first) + 1))
    with served.client() as producer:
        served.wait_until_waited_on(topic, 0)
        fill(producer, topic, 0, first)
        served.wait_until_waited_on(topic, 0)   # woken, too few bytes: waiting again
        fill(producer, topic, 0, second)
    _, response = client.receive(FETCH, 12)
    [part] = decoded(response, 12)["partitions"]
    assert part["records"] == [(0, b"one"), (1, b"two")]


def test_long_poll_ends_at_max_wait_with_what_there_is(client, topic):
    create_topic(client, topic)
    fill(client, topic, 0, batch(b"a"))
    assert fetch(client, 12, topic, {0: 1}, max_wait_ms=20, min_bytes=1)["partitions"] == [
        entry(0, high_watermark=1, last_stable_offset=1, log_start_offset=0)]


def test_fetches_answered_at_once_and_after_a_wait_keep_request_order(served, client, topic):
    """A fetch with data is answered in the read that brought it; one that must wait is awaited
    apart: in one read, answered / waiting / answerable come back in the order they were sent."""
    create_topic(client, topic, partitions=2)
    fill(client, topic, 0, batch(b"a"))
    frames = [encode_request(FETCH, 12, correlation_id, fetch_body(topic, offsets, max_wait_ms=60_000, min_bytes=1),
                             "test")
              for correlation_id, offsets in [(101, {0: 0}), (102, {1: 0}), (103, {0: 0})]]
    client.send_raw(b"".join(frames))
    served.wait_until_waited_on(topic, 1)
    first = client.receive(FETCH, 12)
    with served.client() as producer:
        fill(producer, topic, 1, batch(b"late"))
    second, third = client.receive(FETCH, 12), client.receive(FETCH, 12)
    assert [first[0], second[0], third[0]] == [101, 102, 103]
    assert [decoded(r, 12)["partitions"][0]["records"] for _, r in (first, second, third)] == [
        [(0, b"a")], [(0, b"late")], [(0, b"a")]]


def test_a_produce_read_in_the_same_loop_turn_as_the_fetch_still_ends_its_wait(served, client, topic):
    """The fetch finds nothing in its read callback and waits in a task that starts a turn later;
    a produce read in the same turn, before that task waits, must still end the wait at once (a
    lost wake-up would leave it for max_wait_ms, beyond the client's 10 s socket timeout)."""
    held, release = threading.Event(), threading.Event()

    def hold_the_loop() -> None:   # runs on the broker's loop: nothing is read meanwhile
        held.set()
        release.wait(10)

    with served.client() as producer:
        create_topic(producer, topic)    # both connections accepted and served once
        create_topic(client, topic + "-other")
        holder = threading.Thread(target=served.call, args=(hold_the_loop,))
        holder.start()
        assert held.wait(10)
        client.send(FETCH, 12, fetch_body(topic, {0: 0}, max_wait_ms=600_000, min_bytes=1))
        producer.send(PRODUCE, 11, produce_body(topic, {0: batch(b"now")}))
        release.set()     # both are in the broker's socket buffers: one turn reads them
        holder.join()
        _, response = client.receive(FETCH, 12)
        assert decoded(response, 12)["partitions"][0]["records"] == [(0, b"now")]
        _, produced = producer.receive(PRODUCE, 11)
        assert produced["responses"][0]["partition_responses"][0]["error_code"] == 0


@pytest.mark.parametrize("version,code", [(12, E.UNKNOWN_TOPIC_OR_PARTITION), (13, E.UNKNOWN_TOPIC_ID)])
def test_long_poll_on_a_deleted_topic_ends_with_the_topics_error(served, client, topic, version, code):
    """As Kafka completes a delayed fetch whose partition went away, not after max_wait_ms."""
    topic_id = create_topic(client, topic)
    fill(client, topic, 0, batch(b"a"))
    client.send(FETCH, version, fetch_body(topic, {0: 1}, topic_id=topic_id, max_wait_ms=60_000, min_bytes=1))
    served.wait_until_waited_on(topic, 0)
    with served.client() as admin:
        [deleted] = admin.request(DELETE_TOPICS, 4, {"topic_names": [topic], "timeout_ms": 5000})["responses"]
        assert deleted["error_code"] == 0
    _, response = client.receive(FETCH, version)
    assert decoded(response, version)["partitions"] == [entry(0, code)]


# -- byte limits -----------------------------------------------------------------------------------

SIZE = len(batch(b"v" * 100))   # every batch below has this size


def sized(tag: bytes) -> bytes:
    one = batch(tag.ljust(100, b"v"))
    assert len(one) == SIZE
    return one


def test_first_batch_is_whole_whatever_the_limits(client, topic):
    create_topic(client, topic, partitions=2)
    fill(client, topic, 1, sized(b"big-0"), sized(b"big-1"))
    got = fetch(client, 12, topic, {0: 0, 1: 0}, max_bytes=10, partition_max_bytes=10)
    # partition 0 has nothing, so partition 1 is the first with data: one whole batch, not two
    assert [p["records"] for p in got["partitions"]] == [[], [(0, b"big-0".ljust(100, b"v"))]]


def test_partition_max_bytes_takes_whole_batches(client, topic):
    create_topic(client, topic)
    fill(client, topic, 0, *(sized(b"%d" % i) for i in range(4)))
    got = fetch(client, 12, topic, {0: 0}, partition_max_bytes=2 * SIZE + SIZE // 2)
    assert [offset for offset, _ in got["partitions"][0]["records"]] == [0, 1]
    assert got["partitions"][0]["high_watermark"] == 4


def test_max_bytes_stops_later_partitions(client, topic):
    create_topic(client, topic, partitions=3)
    for p in range(3):
        fill(client, topic, p, sized(b"%d-0" % p), sized(b"%d-1" % p))
    got = fetch(client, 12, topic, {0: 0, 1: 0, 2: 0}, max_bytes=3 * SIZE + SIZE // 2)
    # 2 batches of partition 0, then the 1 that fits of partition 1, then none: errors none, offsets all there
    assert [[o for o, _ in p["records"]] for p in got["partitions"]] == [[0, 1], [0], []]
    assert [(p["error_code"], p["high_watermark"]) for p in got["partitions"]] == [(0, 2)] * 3


def test_a_later_batch_larger_than_what_is_left_is_not_sent(client, topic):
    create_topic(client, topic, partitions=2)
    fill(client, topic, 0, sized(b"small"))
    fill(client, topic, 1, batch(b"x" * 1000))
    got = fetch(client, 12, topic, {0: 0, 1: 0}, max_bytes=SIZE + 500)
    assert [[o for o, _ in p["records"]] for p in got["partitions"]] == [[0], []]
