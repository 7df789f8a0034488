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
