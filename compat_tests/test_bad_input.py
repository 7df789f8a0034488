"""Bad input on raw sockets: a broken frame closes that connection only; malformed requests get Kafka's errors.

All tests share one broker of this module (small socket.request.max.bytes); at the end it must still
serve, have logged no handler failure, and stop cleanly.
"""

from __future__ import annotations

import socket
import struct
import zlib

import pytest

from broker.testing import BrokerProcess, RawClient
from compat_tests.clients import create_topic, end_offsets, fetch_log
from kproto.codec import decode_response
from kproto.messages import API_VERSIONS, METADATA, PRODUCE
from storage import Record, build_batch

MAX_REQUEST = 65_536
CORRUPT_MESSAGE, INVALID_TOPIC_EXCEPTION, UNSUPPORTED_VERSION, INVALID_REQUEST, INVALID_RECORD = 2, 17, 35, 42, 87


@pytest.fixture(scope="module")
def bad_broker(tmp_path_factory):
    root = tmp_path_factory.mktemp("bad-input")
    log = root / "broker.log"
    process = BrokerProcess(root / "data", overrides={"socket.request.max.bytes": str(MAX_REQUEST)},
                            log_path=log).start()
    yield process
    still_running = process.proc is not None and process.proc.poll() is None
    code = process.stop()
    text = log.read_text()
    assert still_running, f"the broker died; log: {text[-3000:]}"
    assert code == 0
    assert "Traceback" not in text and " failed:" not in text, text[-3000:]


@pytest.fixture
def bootstrap(bad_broker):   # this module's tests talk to their own broker
    return bad_broker.bootstrap


def metadata_ok(raw: RawClient) -> bool:
    response = raw.request(METADATA, 9, {"topics": None, "allow_auto_topic_creation": False,
                                         "include_cluster_authorized_operations": False,
                                         "include_topic_authorized_operations": False})
    return [b["node_id"] for b in response["brokers"]] == [1]


def request_frame(api_key: int, version: int, correlation_id: int, body: bytes, *, flexible: bool = False,
                  client_id: bytes = b"raw") -> bytes:
    header = struct.pack(">hhih", api_key, version, correlation_id, len(client_id)) + client_id
    if flexible:
        header += b"\x00"   # no tagged fields
    payload = header + body
    return struct.pack(">i", len(payload)) + payload


def produce_records(raw: RawClient, topic: str, records, version: int = 9, partition: int = 0) -> dict:
    response = raw.request(PRODUCE, version, {"transactional_id": None, "acks": -1, "timeout_ms": 5000,
                                              "topic_data": [{"name": topic, "partition_data": [
                                                  {"index": partition, "records": records}]}]})
    [topic_response] = response["responses"]
    [part] = topic_response["partition_responses"]
    return part


BROKEN_FRAMES = {
    "negative size": b"\xff\xff\xff\xf0" + b"\x00" * 16,
    "size above socket.request.max.bytes": struct.pack(">i", MAX_REQUEST + 1) + b"\x00" * 64,
    "http request": b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n",
    "shorter than a request header": struct.pack(">i", 3) + b"\x00\x03\x00",
    "unknown api key": request_frame(9999, 0, 1, b""),
    "known api, unknown version": request_frame(3, 99, 1, b"\x00\x00\x00\x00"),
    "garbage body": request_frame(3, 1, 1, b"\x7f\xff\xff\xff\x00\x05"),   # 2**31-1 topics, then nothing
    "garbage flexible body": request_frame(3, 12, 1, b"\xff\xff\xff\xff\xff\xff", flexible=True),
}


@pytest.mark.parametrize("data", list(BROKEN_FRAMES.values()), ids=list(BROKEN_FRAMES))
def test_broken_frame_closes_only_that_connection(data, bootstrap):
    with RawClient(bootstrap) as bystander:
        assert metadata_ok(bystander)
        with RawClient(bootstrap) as victim:
            victim.send_raw(data)
            assert victim.is_closed(wait_s=5), "the broker kept a connection that sent a broken frame"
        assert metadata_ok(bystander)
    with RawClient(bootstrap) as fresh:
        assert metadata_ok(fresh)


def test_frame_just_under_the_limit_is_served(bootstrap, topic_name):
    create_topic("confluent", bootstrap, topic_name, 1)
    with RawClient(bootstrap) as raw:
        batch = build_batch([Record(timestamp=1_700_000_000_000, value=b"x" * (MAX_REQUEST - 300))])
        part = produce_records(raw, topic_name, batch)
        assert (part["error_code"], part["base_offset"]) == (0, 0)


def test_truncated_body_then_close(bootstrap):
    with RawClient(bootstrap) as bystander:
        assert metadata_ok(bystander)
        for cut in (2, 6, 20):
            victim = socket.create_connection(("127.0.0.1", int(bootstrap.rsplit(":", 1)[1])))
            frame = request_frame(3, 9, 5, b"\x00\x00\x00\x00", flexible=True)
            victim.sendall(frame[:4] + frame[4:4 + cut])
            victim.close()
        assert metadata_ok(bystander)


def test_truncated_body_waits_for_the_rest(bootstrap):
    """A frame that arrives in pieces is served once whole (the broker does not give up on a partial frame)."""
    frame = request_frame(18, 2, 77, b"")
    with RawClient(bootstrap) as raw:
        raw.send_raw(frame[:7])
        assert not raw.is_closed(wait_s=0.3)
        raw.send_raw(frame[7:])
        correlation_id, response = decode_response(raw.read_frame(), API_VERSIONS, 2)
    assert (correlation_id, response["error_code"]) == (77, 0)


def test_api_versions_above_ours_answered_in_v0(bootstrap):
    # ApiVersions v9: flexible header and a body we cannot know; the answer is v0 with our ranges
    body = b"\x04kcat\x061.7.1\x00"   # compact strings + no tagged fields, as v3+ would send
    with RawClient(bootstrap) as raw:
        raw.send_raw(request_frame(18, 9, 4242, body, flexible=True))
        correlation_id, response = decode_response(raw.read_frame(), API_VERSIONS, 0)
        assert correlation_id == 4242
        assert response["error_code"] == UNSUPPORTED_VERSION
        ranges = {k["api_key"]: (k["min_version"], k["max_version"]) for k in response["api_keys"]}
        assert ranges[18] == (0, 4)
        assert ranges[0] == (0, 11) and ranges[1] == (0, 17) and ranges[3] == (0, 12)
        # the client retries lower on the same connection
        again = raw.request(API_VERSIONS, 3, {"client_software_name": "kcat", "client_software_version": "1.7.1"})
        assert again["error_code"] == 0
        assert {k["api_key"]: (k["min_version"], k["max_version"]) for k in again["api_keys"]} == ranges
        bad_name = raw.request(API_VERSIONS, 3, {"client_software_name": "-bad name-",
                                                 "client_software_version": "1"})
        assert bad_name["error_code"] == INVALID_REQUEST
        assert metadata_ok(raw)


def test_a_v0_message_set_with_a_bad_crc_is_corrupt_message(bootstrap, topic_name):
    create_topic("confluent", bootstrap, topic_name, 2)
    body = b"\x00\x00" + struct.pack(">i", -1) + struct.pack(">i", 5) + b"hello"   # magic 0, no key, "hello"
    good = struct.pack(">qiI", 0, len(body) + 4, zlib.crc32(body)) + body
    bad = good[:12] + struct.pack(">I", zlib.crc32(body) ^ 0xFFFF) + body
    with RawClient(bootstrap) as raw:
        response = raw.request(PRODUCE, 0, {"acks": -1, "timeout_ms": 5000, "topic_data": [
            {"name": topic_name, "partition_data": [{"index": 0, "records": bad}, {"index": 1, "records": good}]}]})
        parts = response["responses"][0]["partition_responses"]
        assert [(p["index"], p["error_code"], p["base_offset"]) for p in parts] == [
            (0, CORRUPT_MESSAGE, -1), (1, 0, 0)]
        assert metadata_ok(raw)
    assert end_offsets(bootstrap, topic_name, 2) == [0, 1]


def test_corrupted_crc_is_corrupt_message(bootstrap, topic_name):
    create_topic("confluent", bootstrap, topic_name, 1)
    good = build_batch([Record(timestamp=1_700_000_000_000, key=b"k", value=b"value-%d" % i) for i in range(3)])
    flipped_payload = bytearray(good)
    flipped_payload[-2] ^= 0x01           # a bit of the last record's value
    flipped_crc = bytearray(good)
    flipped_crc[17] ^= 0x80               # the CRC itself
    with RawClient(bootstrap) as raw:
        for bad in (flipped_payload, flipped_crc):
            part = produce_records(raw, topic_name, bytes(bad))
            assert (part["error_code"], part["base_offset"]) == (CORRUPT_MESSAGE, -1)
        assert end_offsets(bootstrap, topic_name, 1) == [0]
        assert fetch_log(bootstrap, topic_name, 0) == b""
        # the connection goes on, and the intact batch is stored at offset 0
        part = produce_records(raw, topic_name, good)
        assert (part["error_code"], part["base_offset"]) == (0, 0)
    assert end_offsets(bootstrap, topic_name, 1) == [3]


def test_not_one_whole_batch_is_invalid_record(bootstrap, topic_name):
    create_topic("confluent", bootstrap, topic_name, 1)
    one = build_batch([Record(timestamp=1_700_000_000_000, value=b"a")])
    with RawClient(bootstrap) as raw:
        assert produce_records(raw, topic_name, one + one)["error_code"] == INVALID_RECORD      # two batches
        assert produce_records(raw, topic_name, one[:-1])["error_code"] == INVALID_RECORD      # cut short
        assert produce_records(raw, topic_name, b"")["error_code"] == INVALID_RECORD            # none
        assert metadata_ok(raw)
    assert end_offsets(bootstrap, topic_name, 1) == [0]


@pytest.mark.parametrize("name", ["bad/topic", "has space", "..", "é", "x" * 250])
def test_produce_to_invalid_topic_name(name, bootstrap):
    batch = build_batch([Record(timestamp=1_700_000_000_000, value=b"v")])
    with RawClient(bootstrap) as raw:
        part = produce_records(raw, name, batch)
        assert (part["error_code"], part["base_offset"]) == (INVALID_TOPIC_EXCEPTION, -1)
        response = raw.request(METADATA, 12, {"topics": [{"name": name, "topic_id": bytes(16)}],
                                              "allow_auto_topic_creation": True,
                                              "include_topic_authorized_operations": False})
        assert [t["error_code"] for t in response["topics"]] == [INVALID_TOPIC_EXCEPTION]
        assert metadata_ok(raw)


def test_pipelined_requests_answered_in_order(bootstrap):
    with RawClient(bootstrap) as raw:
        ids = [raw.send(METADATA, 1 + (i % 12), {"topics": None, "allow_auto_topic_creation": False,
                                                 "include_cluster_authorized_operations": False,
                                                 "include_topic_authorized_operations": False})
               for i in range(20)]
        got = [struct.unpack(">i", raw.read_frame()[:4])[0] for _ in ids]
    assert got == ids


def test_still_serving_at_the_end(bootstrap, topic_name):
    create_topic("kafka-python", bootstrap, topic_name, 1)
    with RawClient(bootstrap) as raw:
        assert metadata_ok(raw)
        part = produce_records(raw, topic_name, build_batch([Record(timestamp=1_700_000_000_000, value=b"ok")]))
        assert (part["error_code"], part["base_offset"]) == (0, 0)


def test_failed_acks0_produce_closes_the_connection(bootstrap):
    """acks=0 has no response to carry an error, so the broker closes the connection (as Kafka does)."""
    batch = build_batch([Record(timestamp=1_700_000_000_000, value=b"v")])
    with RawClient(bootstrap) as raw:
        raw.send(PRODUCE, 9, {"transactional_id": None, "acks": 0, "timeout_ms": 5000, "topic_data": [
            {"name": "bad/topic", "partition_data": [{"index": 0, "records": batch}]}]})
        assert raw.is_closed(wait_s=5)
