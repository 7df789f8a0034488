"""The fault endpoints drive the broker's own fault injection and request log (broker/faults.py):
what a test in another language injects over HTTP, a Kafka client meets on the Kafka port."""

from __future__ import annotations

import time

import pytest

from kproto.errors import ErrorCode
from kproto.messages import API_VERSIONS, LIST_OFFSETS, METADATA

pytest.importorskip("broker.faults", reason="this build has no fault injection (broker/faults.py)")

METADATA_ALL = {"topics": None, "allow_auto_topic_creation": False, "include_topic_authorized_operations": False}
VERSIONS = {"client_software_name": "t", "client_software_version": "1"}


@pytest.fixture(autouse=True)
def clean(http):
    yield
    http.delete("/admin/faults")
    http.post("/admin/requests", {"enabled": False})
    http.delete("/admin/requests")


def list_offsets(client, topic: str) -> int:
    answer = client.request(LIST_OFFSETS, 7, {"replica_id": -1, "isolation_level": 0, "topics": [
        {"name": topic, "partitions": [{"partition_index": 0, "current_leader_epoch": -1, "timestamp": -1}]}]})
    return answer["topics"][0]["partitions"][0]["error_code"]


def test_an_error_injected_over_http_is_what_the_client_gets(served, http, client, topic):
    served.broker.storage.create_topic(topic, 1, {})
    added = http.post("/admin/faults", {"kind": "error", "api": "ListOffsets", "code": "NOT_LEADER_OR_FOLLOWER",
                                        "times": 1, "topic": topic})
    assert added.status == 201, added
    fault = added.json()["fault"]
    assert (fault["kind"], fault["api"], fault["code"], fault["times"]) == ("error", "ListOffsets", 6, 1)
    assert [f["id"] for f in http.ok("GET", "/admin/faults")["faults"]] == [fault["id"]]
    assert list_offsets(client, topic) == ErrorCode.NOT_LEADER_OR_FOLLOWER
    assert list_offsets(client, topic) == ErrorCode.NONE                  # used up
    assert http.ok("GET", "/admin/faults")["faults"] == []


def test_delay_disconnect_remove_and_clear(served, http):
    delay = http.post("/admin/faults", {"kind": "delay", "api": "ApiVersions", "ms": 300, "times": 1}).json()["fault"]
    with served.client() as client:
        started = time.monotonic()
        assert client.request(API_VERSIONS, 3, VERSIONS)["error_code"] == 0
        assert time.monotonic() - started >= 0.3                          # held as long as asked
    http.post("/admin/faults", {"kind": "disconnect", "api": "Metadata", "times": None})
    with served.client() as client:
        client.send(METADATA, 12, METADATA_ALL)
        assert client.is_closed()
    assert len(http.ok("GET", "/admin/faults")["faults"]) == 1           # the delay was used up
    kept = http.ok("GET", "/admin/faults")["faults"][0]
    assert http.ok("DELETE", f"/admin/faults/{kept['id']}") == {"removed": kept["id"]}
    with served.client() as client:
        assert client.request(METADATA, 12, METADATA_ALL)["brokers"]
    http.post("/admin/faults", {"kind": "error", "api": 18, "code": 35})
    assert http.ok("DELETE", "/admin/faults") == {"faults": []}
    assert delay["id"] < kept["id"]
    assert http.post("/admin/faults", {"kind": "error", "api": "Nope", "code": 6}).status == 400   # the broker's check
    assert http.post("/admin/faults", {"kind": "error", "api": "Produce", "code": "NO_SUCH"}).status == 400


def test_the_request_log_lists_what_clients_sent(served, http, client, topic):
    assert http.ok("GET", "/admin/requests") == {"requests": []}          # off by default
    assert http.ok("POST", "/admin/requests", {"enabled": True, "max_entries": 100}) == {"enabled": True}
    served.broker.storage.create_topic(topic, 1, {})
    client.request(API_VERSIONS, 3, VERSIONS)
    list_offsets(client, topic)
    seen = http.ok("GET", "/admin/requests")["requests"]
    assert [r["api"] for r in seen][-2:] == ["ApiVersions", "ListOffsets"]
    assert seen[-1]["topics"] == [topic] and seen[-1]["version"] == 7
    assert [r["api"] for r in http.ok("GET", "/admin/requests?api=ListOffsets")["requests"]] == ["ListOffsets"]
    assert http.get("/admin/requests?api=Nope").status == 400
    assert http.ok("DELETE", "/admin/requests") == {"requests": []}
    assert http.ok("GET", "/admin/requests") == {"requests": []}
