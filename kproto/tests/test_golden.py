"""Golden frames written out by hand from the protocol guide's layouts (golden_frames.py).

Each frame is decoded to the expected header and body (every field of the version,
the ones it lacks at their defaults) and encoded back to the same bytes.
Frames captured from real clients are checked by test_golden_clients.py.
"""

from __future__ import annotations

import pytest

from kproto.codec import decode_request, decode_response, encode_request, encode_response, peek_request_header
from kproto.messages import BY_KEY
from kproto.tests.golden_frames import GOLDEN_REQUESTS, GOLDEN_RESPONSES, Golden


def _frame(golden: Golden) -> bytes:
    frame = bytes.fromhex(golden.hex)
    assert int.from_bytes(frame[:4], "big") == len(frame) - 4, f"{golden.name}: size prefix is off"
    return frame


@pytest.mark.parametrize("golden", GOLDEN_REQUESTS, ids=lambda g: g.name)
def test_golden_request(golden: Golden):
    frame = _frame(golden)
    message = BY_KEY[golden.api_key]
    assert peek_request_header(frame[4:]) == (golden.api_key, golden.version, golden.header["correlation_id"])
    header, body = decode_request(frame[4:], message, golden.version)
    assert header == golden.header
    assert body == golden.body
    again = encode_request(message, golden.version, header["correlation_id"], body, client_id=header["client_id"])
    assert again.hex() == frame.hex()


@pytest.mark.parametrize("golden", GOLDEN_RESPONSES, ids=lambda g: g.name)
def test_golden_response(golden: Golden):
    frame = _frame(golden)
    message = BY_KEY[golden.api_key]
    correlation_id, body = decode_response(frame[4:], message, golden.version)
    assert correlation_id == golden.header
    assert body == golden.body
    again = b"".join(encode_response(message, golden.version, correlation_id, body))
    assert again.hex() == frame.hex()
