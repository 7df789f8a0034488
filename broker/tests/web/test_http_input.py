"""The HTTP port under bad input: every malformed, oversized or misdirected request gets its 4xx
(or 5xx for what HTTP says the server does not do), the port keeps serving, and the Kafka port
never notices."""

from __future__ import annotations

import socket
import time

import pytest

from broker.tests.web.http import status_of
from broker.web.httpserver import HEAD_MAX_BYTES
from kproto.messages import API_VERSIONS, METADATA


def kafka_still_answers(served) -> None:
    with served.client() as client:
        answer = client.request(API_VERSIONS, 3, {"client_software_name": "t", "client_software_version": "1"})
        assert answer["error_code"] == 0
        assert client.request(METADATA, 12, {"topics": [], "allow_auto_topic_creation": False,
                                             "include_topic_authorized_operations": False})["brokers"]


@pytest.mark.parametrize("raw, status", [
    (b"GET /nowhere HTTP/1.1\r\nHost: localhost\r\n\r\n", 404),
    (b"PUT /api/topics HTTP/1.1\r\nHost: localhost\r\nContent-Length: 0\r\n\r\n", 405),
    (b"BREW /api/topics HTTP/1.1\r\nHost: localhost\r\n\r\n", 501),
    (b"GET /api/topics HTTP/2.0\r\nHost: localhost\r\n\r\n", 505),
    (b"GET /api/topics\r\nHost: localhost\r\n\r\n", 400),
    (b"GET api/topics HTTP/1.1\r\nHost: localhost\r\n\r\n", 400),
    (b"GET /api/topics HTTP/1.1\r\n\r\n", 400),                                  # no Host
    (b"GET /api/topics HTTP/1.1\r\nHost: localhost\r\nbad header\r\n\r\n", 400),
    (b"GET /api/\xfftopics HTTP/1.1\r\nHost: localhost\r\n\r\n", 400),
    (b"GET /api/topics/%ff HTTP/1.1\r\nHost: localhost\r\n\r\n", 400),             # not UTF-8
    (b"POST /api/topics HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 411),
    (b"POST /api/topics HTTP/1.1\r\nHost: localhost\r\nContent-Length: -5\r\n\r\n", 400),
    (b"POST /api/topics HTTP/1.1\r\nHost: localhost\r\nContent-Length: 99999999999\r\n\r\n", 413),
    (b"POST /api/topics HTTP/1.1\r\nHost: localhost\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab", 400),
    (b"GET /api/topics HTTP/1.1\r\nHost: evil.example\r\n\r\n", 421),             # DNS rebinding
    (b"GET /api/topics HTTP/1.1\r\nHost: localhost\r\nX-Big: " + b"a" * (HEAD_MAX_BYTES + 10) + b"\r\n\r\n", 431),
])
def test_malformed_requests_get_their_status_and_the_kafka_port_is_unaffected(served, http, raw, status):
    assert status_of(http.raw(raw)) == status
    kafka_still_answers(served)


@pytest.mark.parametrize("body, headers, status", [
    (b"{not json", {"Content-Type": "application/json"}, 400),
    (b'{"name": "x"}', {"Content-Type": "text/plain"}, 415),                        # a form post cannot pass
    (b"[1, 2]", {"Content-Type": "application/json"}, 400),
    (b'{"name": 5, "partitions": "many"}', {"Content-Type": "application/json"}, 400),
    (b'{"name": "ok-name", "partitions": 1, "configs": {"retention.ms": {"a": 1}}}',
     {"Content-Type": "application/json"}, 400),
])
def test_bad_bodies_get_4xx(served, http, body, headers, status):
    answer = http.request("POST", "/api/topics", body, headers)
    assert answer.status == status, answer
    assert "error" in answer.json()
    kafka_still_answers(served)


def test_a_body_over_the_limit_is_refused_and_the_connection_closed(served, http):
    head = b"POST /api/topics HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
    answer = http.raw(head + b"Content-Length: 3000000\r\n\r\n" + b"x" * 100)
    assert status_of(answer) == 413
    kafka_still_answers(served)


def test_cross_origin_changes_are_refused_and_same_origin_pass(served, http, topic):
    port = served.broker.config.http_port
    body = {"name": topic, "partitions": 1}
    refused = http.post("/api/topics", body, headers={"Origin": "http://evil.example"})
    assert refused.status == 403
    assert http.get(f"/api/topics/{topic}").status == 404
    made = http.post("/api/topics", body, headers={"Origin": f"http://127.0.0.1:{port}"})
    assert made.status == 200, made


def test_every_answer_carries_the_security_headers(http):
    for path in ("/", "/api/topics", "/nowhere"):
        headers = http.get(path).headers
        assert headers["x-content-type-options"] == "nosniff"
        assert "default-src 'self'" in headers["content-security-policy"]
        assert headers["x-frame-options"] == "DENY"


def test_keep_alive_answers_pipelined_requests_in_order(http):
    raw = b"".join(f"GET {path} HTTP/1.1\r\nHost: localhost\r\n\r\n".encode()
                   for path in ("/health", "/nowhere", "/ready"))
    raw += b"GET /health HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"
    answers = http.raw(raw).split(b"HTTP/1.1 ")[1:]
    assert [int(a[:3]) for a in answers] == [200, 404, 200, 200]


def test_head_answers_without_a_body(http):
    raw = http.raw(b"HEAD /api/topics HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
    head, _, body = raw.partition(b"\r\n\r\n")
    assert status_of(raw) == 200 and body == b""
    assert int(dict(line.split(b": ", 1) for line in head.split(b"\r\n")[1:])[b"Content-Length"]) > 0


def test_a_slow_or_silent_client_does_not_hold_the_port(served, http):
    """Connections that send half a head or nothing are held apart: others are served meanwhile."""
    silent = [socket.create_connection(("127.0.0.1", http.port)) for _ in range(5)]
    try:
        for sock in silent[:3]:
            sock.sendall(b"GET /api/topics HTTP/1.1\r\nHo")
        started = time.monotonic()
        assert http.get("/health").status == 200
        assert time.monotonic() - started < 5
        kafka_still_answers(served)
    finally:
        for sock in silent:
            sock.close()


def test_static_files_are_served_with_an_etag(http):
    first = http.get("/app.js")
    assert first.status == 200 and first.headers["content-type"].startswith("text/javascript")
    again = http.get("/app.js", headers={"If-None-Match": first.headers["etag"]})
    assert again.status == 304 and again.body == b""
    page = http.get("/")
    assert b'<script src="/app.js"' in page.body and b"<script>" not in page.body   # no inline script
