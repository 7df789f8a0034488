"""The console's JSON: topics listed, described, created, altered and deleted through the Kafka
handlers; messages browsed by window (newest, from an offset, up to one, from a time) reading only
that window; a message produced from the page. Data goes in with raw Produce requests."""

from __future__ import annotations

import base64
import time

from broker.tests.handlers.serving import TIMESTAMP, batch, create_topic, produce
from kproto.messages import DESCRIBE_CONFIGS, FETCH, OFFSET_COMMIT
from storage import Record, build_batch


def text_of(value: dict | None) -> str | None:
    return None if value is None else base64.b64decode(value["b64"]).decode()


def fill(client, topic: str, partitions: int, per_partition: int) -> None:
    create_topic(client, topic, partitions)
    for p in range(partitions):
        for start in range(0, per_partition, 10):
            values = [f"p{p}-{i}".encode() for i in range(start, min(start + 10, per_partition))]
            assert produce(client, topic, batch(*values, timestamp=TIMESTAMP + start), partition=p)["error_code"] == 0


def test_topics_list_and_detail_show_partitions_offsets_and_sizes(client, http, served, topic):
    fill(client, topic, 3, 25)
    [row] = [t for t in http.ok("GET", "/api/topics")["topics"] if t["name"] == topic]
    assert (row["partitions"], row["messages"], row["cleanup_policy"]) == (3, 75, "delete")
    assert row["size"] > 0 and row["retention_ms"] == 604800000
    detail = http.ok("GET", f"/api/topics/{topic}")
    assert [(p["partition"], p["earliest"], p["latest"], p["leader"], p["isr"]) for p in detail["partition_list"]] == \
        [(i, 0, 25, served.broker.node_id, [served.broker.node_id]) for i in range(3)]
    assert {c["name"]: c["value"] for c in detail["configs"]}["cleanup.policy"] == "delete"


def test_create_alter_and_delete_a_topic_as_an_admin_client_would(client, http, topic):
    made = http.ok("POST", "/api/topics", {"name": topic, "partitions": 2, "configs": {"retention.ms": "3600000"}})
    assert made["partitions"] == 2
    assert http.post("/api/topics", {"name": topic, "partitions": 2}).status == 409   # TOPIC_ALREADY_EXISTS
    bad = http.post("/api/topics", {"name": "bad name!", "partitions": 1})
    assert bad.status == 400 and "INVALID_TOPIC_EXCEPTION" in bad.json()["error"]

    changed = http.ok("POST", f"/api/topics/{topic}/configs", {"set": {"retention.ms": "7200000"}})
    assert {c["name"]: (c["value"], c["source"]) for c in changed["configs"]}["retention.ms"] == ("7200000", "topic")
    # what a Kafka admin client now sees: the same value, set on the topic
    described = client.request(DESCRIBE_CONFIGS, 4, {"resources": [{"resource_type": 2, "resource_name": topic,
                                                                     "configuration_keys": ["retention.ms"]}],
                                                     "include_synonyms": False, "include_documentation": False})
    assert [(c["value"], c["config_source"]) for c in described["results"][0]["configs"]] == [("7200000", 1)]
    refused = http.post(f"/api/topics/{topic}/configs", {"set": {"retention.ms": "soon"}})
    assert refused.status == 400 and "INVALID_CONFIG" in refused.json()["error"]
    unknown = http.post(f"/api/topics/{topic}/configs", {"set": {"no.such.key": "1"}})
    assert unknown.status == 400
    reset = http.ok("POST", f"/api/topics/{topic}/configs", {"delete": ["retention.ms"]})
    assert {c["name"]: c["source"] for c in reset["configs"]}["retention.ms"] != "topic"

    assert http.delete(f"/api/topics/{topic}").status == 200
    assert http.get(f"/api/topics/{topic}").status == 404
    assert http.delete(f"/api/topics/{topic}").status == 404
    assert http.delete("/api/topics/__consumer_offsets").status in (400, 404)


def test_browsing_newest_first_by_offset_and_by_time(client, http, topic):
    fill(client, topic, 2, 40)
    newest = http.ok("GET", f"/api/topics/{topic}/messages?partition=1&limit=5")
    assert [(m["offset"], text_of(m["value"])) for m in newest["messages"]] == \
        [(i, f"p1-{i}") for i in (39, 38, 37, 36, 35)]
    up_to = http.ok("GET", f"/api/topics/{topic}/messages?partition=0&end=12&limit=3")
    assert [m["offset"] for m in up_to["messages"]] == [12, 11, 10]
    start = http.ok("GET", f"/api/topics/{topic}/messages?partition=0&start=3&limit=4")
    assert [m["offset"] for m in start["messages"]] == [6, 5, 4, 3]
    # batches of 10 made at TIMESTAMP + 0, 10, 20, 30 with records 1 ms apart: offset 20 is at TIMESTAMP + 20
    by_time = http.ok("GET", f"/api/topics/{topic}/messages?partition=0&timestamp={TIMESTAMP + 20}&limit=2")
    assert [(m["offset"], m["timestamp"]) for m in by_time["messages"]] == [(21, TIMESTAMP + 21), (20, TIMESTAMP + 20)]
    after_all = http.ok("GET", f"/api/topics/{topic}/messages?partition=0&timestamp={TIMESTAMP + 10 ** 9}")
    assert after_all["messages"] == []
    everything = http.ok("GET", f"/api/topics/{topic}/messages?partition=-1&limit=4")
    assert len(everything["messages"]) == 4 and {m["partition"] for m in everything["messages"]} <= {0, 1}
    for bad in ("partition=9", "limit=0", "limit=100000", "end=abc"):
        assert http.get(f"/api/topics/{topic}/messages?{bad}").status == 400


def test_browsing_reads_only_the_window_asked_for(client, http, topic):
    create_topic(client, topic, 1)
    value = b"v" * 1000
    for start in range(0, 2000, 100):
        assert produce(client, topic, build_batch([Record(timestamp=TIMESTAMP, value=value)] * 100))["error_code"] == 0
    window = http.ok("GET", f"/api/topics/{topic}/messages?partition=0&start=1000&limit=10")
    assert [m["offset"] for m in window["messages"]] == list(range(1009, 999, -1))
    log_size = http.ok("GET", f"/api/topics/{topic}")["size"]
    assert log_size > 2_000_000
    assert window["bytes_read"] < 120_000      # the one batch of 100 records holding offsets 1000..1009


def test_keys_values_and_headers_come_back_exact_and_unrendered(client, http, topic):
    create_topic(client, topic, 1)
    evil = '<img src=x onerror="alert(1)"><script>alert(2)</script>'
    record = Record(timestamp=TIMESTAMP, key=evil.encode(), value=b"\x00\xffbinary",
                    headers=[("trace", b"<b>x</b>"), ("none", None)])
    assert produce(client, topic, build_batch([record]))["error_code"] == 0
    [message] = http.ok("GET", f"/api/topics/{topic}/messages")["messages"]
    assert text_of(message["key"]) == evil
    assert base64.b64decode(message["value"]["b64"]) == b"\x00\xffbinary"
    assert [(h["key"], h["value"] and text_of(h["value"])) for h in message["headers"]] == \
        [("trace", "<b>x</b>"), ("none", None)]


def test_a_message_produced_from_the_page_is_fetched_by_clients(client, http, topic):
    create_topic(client, topic, 4)
    made = http.ok("POST", f"/api/topics/{topic}/messages",
                   {"key": "user-7", "value": '{"a": 1}', "headers": [{"key": "h", "value": "v"}]})
    from broker.partitioner import murmur2

    assert made["partition"] == (murmur2(b"user-7") & 0x7FFFFFFF) % 4   # where Java's default partitioner puts it
    fetched = client.request(FETCH, 12, {
        "max_wait_ms": 0, "min_bytes": 0, "max_bytes": 1 << 20, "isolation_level": 0, "session_id": 0,
        "session_epoch": -1, "topics": [{"topic": topic, "topic_id": bytes(16), "partitions": [
            {"partition": made["partition"], "fetch_offset": 0, "partition_max_bytes": 1 << 20,
             "current_leader_epoch": -1}]}], "forgotten_topics_data": [], "rack_id": ""})
    from storage import decode_records

    [record] = decode_records(fetched["responses"][0]["partitions"][0]["records"])
    assert (record.key, record.value, record.headers) == (b"user-7", b'{"a": 1}', [("h", b"v")])
    hexed = http.ok("POST", f"/api/topics/{topic}/messages", {"partition": 1, "value": "00ff", "encoding": "hex"})
    assert hexed == {"topic": topic, "partition": 1, "offset": 0}
    for bad in ({"partition": 9, "value": "x"}, {"value": "zz", "encoding": "hex"}, {"value": 5},
                {"value": "x", "encoding": "rot13"}, {"value": "x", "headers": "h"}):
        assert http.post(f"/api/topics/{topic}/messages", bad).status == 400, bad
    assert http.post("/api/topics/no-such-topic-here/messages", {"value": "x"}).status == 404
    too_big = http.post(f"/api/topics/{topic}/messages", {"partition": 0, "value": "x" * 1_500_000})
    assert too_big.status == 400 and "MESSAGE_TOO_LARGE" in too_big.json()["error"]


def test_overview_counts_what_the_broker_holds(client, http, topic):
    fill(client, topic, 2, 10)
    overview = http.ok("GET", "/api/overview")
    topics = http.ok("GET", "/api/topics")["topics"]
    assert overview["topics"] + overview["internal_topics"] == len(topics)
    assert overview["partitions"] + overview["internal_partitions"] == sum(t["partitions"] for t in topics)
    assert overview["topics"] == sum(1 for t in topics if not t["internal"])
    assert overview["log_bytes"] == sum(t["size"] for t in topics)
    assert overview["listening"] and overview["connections"] >= 1
    assert overview["disk"]["free"] > 0 and overview["messages_in"] >= 20


def commit(client, group: str, topic: str, offsets: dict[int, int]) -> None:
    answer = client.request(OFFSET_COMMIT, 8, {
        "group_id": group, "generation_id_or_member_epoch": -1, "member_id": "", "group_instance_id": None,
        "topics": [{"name": topic, "partitions": [
            {"partition_index": p, "committed_offset": o, "committed_leader_epoch": -1, "committed_metadata": ""}
            for p, o in offsets.items()]}]})
    assert all(p["error_code"] == 0 for p in answer["topics"][0]["partitions"])


def test_group_lag_reset_and_delete(client, http, topic):
    fill(client, topic, 2, 30)
    group = f"g-{topic}"
    commit(client, group, topic, {0: 10, 1: 30})
    detail = http.ok("GET", f"/api/groups/{group}")
    assert (detail["state"], detail["lag"]) == ("Empty", 20)
    assert [(p["partition"], p["committed"], p["end"], p["lag"]) for p in detail["partitions"]] == \
        [(0, 10, 30, 20), (1, 30, 30, 0)]
    assert http.ok("POST", f"/api/groups/{group}/reset", {"to": "earliest"})["offsets"] == \
        [{"topic": topic, "partition": 0, "offset": 0}, {"topic": topic, "partition": 1, "offset": 0}]
    assert http.ok("GET", f"/api/groups/{group}")["lag"] == 60
    http.ok("POST", f"/api/groups/{group}/reset", {"to": "timestamp", "timestamp": TIMESTAMP + 20, "topic": topic})
    assert [p["committed"] for p in http.ok("GET", f"/api/groups/{group}")["partitions"]] == [20, 20]
    http.ok("POST", f"/api/groups/{group}/reset", {"to": "latest"})
    assert http.ok("GET", f"/api/groups/{group}")["lag"] == 0
    for bad in ({"to": "middle"}, {"to": "timestamp"}, {"to": "earliest", "topic": "no-such-topic-x"}):
        assert http.post(f"/api/groups/{group}/reset", bad).status in (400, 404), bad
    deadline = time.monotonic() + 5      # the lag is sampled every 100 ms here: wait for a sample after the reset
    while [h["lag"] for h in http.ok("GET", f"/api/groups/{group}")["history"][-1:]] != [0] \
            and time.monotonic() < deadline:
        time.sleep(0.05)
    history = http.ok("GET", f"/api/groups/{group}")["history"]
    assert history[-1]["lag"] == 0 and {h["lag"] for h in history} <= {0, 20, 60}
    assert http.delete(f"/api/groups/{group}").status == 200
    assert http.get(f"/api/groups/{group}").status == 404
    assert http.delete(f"/api/groups/{group}").status == 404
    assert http.post("/api/groups/never-was/reset", {"to": "earliest"}).status == 404
