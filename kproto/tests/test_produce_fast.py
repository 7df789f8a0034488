"""The Produce success shortcut (kproto/produce_fast.py) writes exactly the declarative encoder's bytes."""

import random

import pytest

from kproto.codec import encode_response_body
from kproto.messages import PRODUCE
from kproto.produce_fast import encode_success_body

VERSIONS = range(PRODUCE.versions.low, PRODUCE.versions.high + 1)
INT64_EDGES = [0, -1, 1, 2**31, 2**63 - 1, -(2**63)]


def _inputs(seed: int) -> list:
    """Responses of 0-3 topics of 0-40 partitions, names of 0-300 characters (UTF-8 included)."""
    rng = random.Random(seed)
    shapes = [[], [("t", [(0, 0, -1, 0)])], [("", [])], [("é" * 70, [(2**31 - 1, 2**63 - 1, -1, 5)])],
              [("t", [(1, 7, -1, 0)])], [("x" * 200, [(3, 2**40, 2**41, 9)])]]   # one partition: cached around its pack
    for _ in range(60):
        topics = []
        for _ in range(rng.randint(0, 3)):
            name = "".join(rng.choice("abc._-é漢") for _ in range(rng.choice([1, 5, 63, 127, 128, 300])))
            partitions = [(rng.randint(-(2**31), 2**31 - 1), rng.choice(INT64_EDGES + [rng.getrandbits(40)]),
                           rng.choice([-1, rng.getrandbits(41)]), rng.choice(INT64_EDGES + [rng.getrandbits(20)]))
                          for _ in range(rng.choice([0, 1, 2, 40]))]
            topics.append((name, partitions))
        shapes.append(topics)
    return shapes


def _declarative(version: int, topics: list) -> bytes:
    body = {"throttle_time_ms": 0, "responses": [
        {"name": name, "partition_responses": [
            {"index": index, "error_code": 0, "base_offset": base, "log_append_time_ms": append_time,
             "log_start_offset": start} for index, base, append_time, start in partitions]}
        for name, partitions in topics]}
    return encode_response_body(PRODUCE, version, body)


@pytest.mark.parametrize("version", VERSIONS)
def test_success_bytes_match_the_declarative_encoder(version):
    for topics in _inputs(version):
        assert encode_success_body(version, topics) == _declarative(version, topics), (version, topics)


def test_versions_outside_the_message_are_not_covered():
    assert encode_success_body(PRODUCE.versions.high + 1, [("t", [(0, 0, -1, 0)])]) is None


# -- the request -------------------------------------------------------------------------------

from kproto.codec import REQUEST_HEADER, encode_request  # noqa: E402
from kproto.produce_fast import Shape, decode_request as fast_decode  # noqa: E402
from kproto._wire import Reader  # noqa: E402

REQUEST_VERSIONS = range(3, PRODUCE.versions.high + 1)


def _declarative_request(frame: bytes, version: int):
    io = Reader(frame)
    header = REQUEST_HEADER.read(io, PRODUCE.request_header_version(version))
    return header, PRODUCE.request.read(io, version)


def _request_bodies(seed: int) -> list:
    rng = random.Random(seed)
    bodies = [{"transactional_id": None, "acks": 1, "timeout_ms": 30000, "topic_data": []}]
    for _ in range(40):
        topics = rng.choice([0, 1, 2, 130])
        bodies.append({
            "transactional_id": rng.choice([None, "", "txn-é", "t" * 200]), "acks": rng.choice([-1, 0, 1, 7]),
            "timeout_ms": rng.randint(-(2**31), 2**31 - 1),
            "topic_data": [{"name": "".join(rng.choice("ab.é_-") for _ in range(rng.choice([1, 20, 130]))),
                            "partition_data": [{"index": rng.randint(-5, 2**31 - 1),
                                                "records": rng.choice([None, b"", rng.randbytes(rng.choice([1, 61, 200]))])}
                                               for _ in range(rng.choice([0, 1, 3, 130] if topics < 3 else [0, 1]))]}
                           for _ in range(topics)]})
    return bodies


def _same(fast, declarative) -> bool:
    """Equal, records compared by their bytes (both are views of the frame)."""
    def plain(value):
        if isinstance(value, memoryview):
            return ("records", bytes(value))
        if isinstance(value, dict):
            return {k: plain(v) for k, v in value.items()}
        if isinstance(value, list):
            return [plain(v) for v in value]
        return value
    return plain(fast) == plain(declarative)


@pytest.mark.parametrize("version", REQUEST_VERSIONS)
def test_request_decodes_as_the_declarative_decoder(version):
    decoded = 0
    for body in _request_bodies(version):
        for client_id in (None, "rdkafka", "é" * 3):
            frame = encode_request(PRODUCE, version, 7, body, client_id)[4:]
            fast = fast_decode(frame, version)
            if fast is not None:
                decoded += 1
                assert _same(fast, _declarative_request(frame, version))
    assert decoded > 30    # the plain shape is taken, not left to the declarative decoder


@pytest.mark.parametrize("version", [3, 8, 9, 12])
def test_request_damaged_is_decoded_alike_or_left_to_the_declarative_decoder(version):
    """Cut, flipped or extended frames: the shortcut gives the declarative result, or None."""
    rng = random.Random(version)
    for body in _request_bodies(version + 100)[:15]:
        frame = encode_request(PRODUCE, version, 7, body, "c")[4:]
        variants = [frame[:n] for n in range(0, min(len(frame), 120))] + [frame + b"\0\1"]
        for _ in range(150):
            damaged = bytearray(frame)
            damaged[rng.randrange(len(damaged))] = rng.randrange(256)
            variants.append(bytes(damaged))
        for variant in variants:
            fast = fast_decode(variant, version)
            if fast is None:
                continue
            try:
                expected = _declarative_request(variant, version)
            except Exception as exc:   # noqa: BLE001 - the shortcut accepted what the decoder refuses
                pytest.fail(f"shortcut decoded a frame the declarative decoder refuses ({exc!r}): {variant.hex()}")
            assert _same(fast, expected), variant.hex()


def test_request_shapes_left_to_the_declarative_decoder():
    body = {"transactional_id": None, "acks": 1, "timeout_ms": 1,
            "topic_data": [{"name": "t", "partition_data": [{"index": 0, "records": b"x"}]}]}
    frame = encode_request(PRODUCE, 9, 1, body, "c")[4:]
    assert _same(fast_decode(bytearray(frame), 9), _declarative_request(frame, 9))   # a large frame's buffer
    assert fast_decode(memoryview(frame), 9) is None          # bytes or bytearray only
    assert fast_decode(frame, 2) is None                      # v0-2: message sets, another handler
    tagged = {**body, "_unknown_tagged_fields": {5: b"zz"}}   # a tagged field the shortcut does not keep
    assert fast_decode(encode_request(PRODUCE, 9, 1, tagged, "c")[4:], 9) is None


@pytest.mark.parametrize("version", [3, 8, 9, 12])
def test_request_after_one_of_the_same_shape_decodes_alike(version):
    """With a Shape kept from request to request (a connection's pipelined requests), every frame
    (same shape, others, cut, extended, damaged) decodes as without it."""
    rng = random.Random(version)
    shape = Shape()
    frames = []
    for acks, name, records in ((1, "t", b"r" * 100), (1, "t", b"s" * 200), (-1, "t", b"r"), (1, "u", b"r" * 100)):
        body = {"transactional_id": None, "acks": acks, "timeout_ms": 30000,
                "topic_data": [{"name": name, "partition_data": [{"index": 0, "records": records}]}]}
        frame = encode_request(PRODUCE, version, rng.randint(0, 99), body, "c")[4:]
        damaged = bytearray(frame)
        damaged[rng.randrange(len(damaged))] ^= 0x10
        frames += [frame, frame, frame[:-1], frame + b"\0", bytes(damaged), frame]
    frames += [encode_request(PRODUCE, version, 3, body, "c")[4:] for body in _request_bodies(version)[:10]]
    for frame in frames + frames:
        assert _same(fast_decode(frame, version, shape), fast_decode(frame, version))
