"""The admin endpoints: health and readiness, the Kafka listener paused and resumed, and the fault
injection endpoints (501 in a broker without fault injection; their checks of what is sent)."""

from __future__ import annotations

import socket

import pytest

from kproto.messages import API_VERSIONS


def kafka_accepts(served) -> bool:
    try:
        with served.client(timeout_s=2) as client:
            return client.request(API_VERSIONS, 3, {"client_software_name": "t",
                                                    "client_software_version": "1"})["error_code"] == 0
    except (OSError, ConnectionError):
        return False


def test_health_and_readiness(http):
    assert http.ok("GET", "/health") == {"status": "up"}
    assert http.ok("GET", "/ready") == {"status": "ready"}


def test_pause_and_resume_the_kafka_listener(served, http):
    with served.client() as open_before:
        paused = http.ok("POST", "/admin/listener/pause")
        assert paused["listening"] is False
        assert open_before.is_closed(), "connections are closed once answered"
    assert not kafka_accepts(served)
    ready = http.get("/ready")
    assert ready.status == 503 and "the Kafka listener is not serving" in ready.json()["reasons"]
    assert http.ok("GET", "/api/overview")["listening"] is False
    assert http.ok("POST", "/admin/listener/pause")["listening"] is False      # twice is fine
    resumed = http.ok("POST", "/admin/listener/resume")
    assert resumed["listening"] is True and kafka_accepts(served)
    assert http.ok("POST", "/admin/listener/resume")["listening"] is True
    assert http.ok("GET", "/ready")["status"] == "ready"


@pytest.mark.parametrize("body", [
    {"kind": "explode", "api": "Produce"},
    {"kind": "error", "api": "Produce"},                          # no code
    {"kind": "error", "api": ["Produce"], "code": 6},
    {"kind": "delay", "api": "Fetch", "ms": -1},
    {"kind": "delay", "api": "Fetch", "ms": "soon"},
    {"kind": "disconnect", "api": "Fetch", "times": "twice"},
    {"kind": "disconnect", "api": "Fetch", "code": 6},             # not a disconnect's field
    {"kind": "error", "api": "Produce", "code": 6, "topic": 7},
])
def test_fault_requests_are_checked_before_they_reach_the_broker(http, body):
    answer = http.post("/admin/faults", body)
    assert answer.status == 400, answer


def test_the_admin_endpoints_refuse_other_hosts_and_origins(served, http):
    port = served.broker.config.http_port
    with socket.create_connection(("127.0.0.1", port)) as sock:
        sock.sendall(b"POST /admin/listener/pause HTTP/1.1\r\nHost: attacker.example\r\nContent-Length: 0\r\n"
                     b"Connection: close\r\n\r\n")
        assert sock.recv(100).startswith(b"HTTP/1.1 421")
    answer = http.post("/admin/listener/pause", headers={"Origin": "http://attacker.example"})
    assert answer.status == 403
    assert kafka_accepts(served)
