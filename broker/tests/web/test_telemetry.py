"""KIP-714 over raw frames: a client gets an id and a subscription, pushes OTLP metrics, and they
show per client in the console's JSON and on /metrics; Kafka's refusals in each API's shape."""

from __future__ import annotations

import time
import uuid

from prometheus_client.parser import text_string_to_metric_families

from broker.otlp import encode_metrics_data
from kproto.errors import ErrorCode
from kproto.messages import GET_TELEMETRY_SUBSCRIPTIONS, PUSH_TELEMETRY

INTERVAL_S = 0.2     # telemetry.push.interval.ms of the shared broker (conftest)


def subscribe(client, instance_id: bytes = bytes(16)) -> dict:
    return client.request(GET_TELEMETRY_SUBSCRIPTIONS, 0, {"client_instance_id": instance_id})


def push(client, answer: dict, payload: bytes, **fields) -> int:
    body = {"client_instance_id": answer["client_instance_id"], "subscription_id": answer["subscription_id"],
            "terminating": False, "compression_type": 0, "metrics": payload, **fields}
    return client.request(PUSH_TELEMETRY, 0, body)["error_code"]


def test_a_client_pushes_and_its_metrics_show_per_client(served, http):
    with served.client(client_id="telemetry-test-client") as client:
        answer = subscribe(client)
        assert answer["error_code"] == 0 and answer["client_instance_id"] != bytes(16)
        assert answer["requested_metrics"] == ["*"] and answer["push_interval_ms"] == 200
        payload = encode_metrics_data({"client_rack": "r1"}, [
            ("org.apache.kafka.producer.record.queue.time.avg", "gauge", 1.5, {}),
            ("org.apache.kafka.producer.connection.creation.total", "sum", 3.0, {}),
            ("org.apache.kafka.producer.node.request.latency.max", "gauge", 7.0, {"node.id": "1"})])
        assert push(client, answer, payload) == 0
    instance = str(uuid.UUID(bytes=answer["client_instance_id"]))
    [shown] = [c for c in http.ok("GET", "/api/clients")["clients"] if c["client_instance_id"] == instance]
    assert shown["client_id"] == "telemetry-test-client" and shown["pushes"] == 1
    assert {(m["name"], m["value"]) for m in shown["metrics"]} == {
        ("org.apache.kafka.producer.record.queue.time.avg", 1.5),
        ("org.apache.kafka.producer.connection.creation.total", 3.0),
        ("org.apache.kafka.producer.node.request.latency.max", 7.0)}
    samples = {}
    for family in text_string_to_metric_families(http.get("/metrics").text):
        for sample in family.samples:
            if sample.labels.get("client_instance_id") == instance:
                samples[sample.name] = (sample.value, sample.labels)
    assert samples["org_apache_kafka_producer_record_queue_time_avg"][0] == 1.5
    assert samples["org_apache_kafka_producer_connection_creation_total"][0] == 3.0
    value, labels = samples["org_apache_kafka_producer_node_request_latency_max"]
    assert value == 7.0 and labels["node_id"] == "1" and labels["client_rack"] == "r1"
    assert labels["client_id"] == "telemetry-test-client"


def test_kafkas_refusals(client):
    answer = subscribe(client)
    payload = encode_metrics_data({}, [("m", "gauge", 1.0, {})])
    assert subscribe(client, answer["client_instance_id"])["error_code"] == ErrorCode.THROTTLING_QUOTA_EXCEEDED
    assert push(client, answer, payload, subscription_id=answer["subscription_id"] + 1) == \
        ErrorCode.UNKNOWN_SUBSCRIPTION_ID
    time.sleep(INTERVAL_S)
    assert push(client, answer, payload) == 0
    assert push(client, answer, payload) == ErrorCode.THROTTLING_QUOTA_EXCEEDED        # before the interval
    time.sleep(INTERVAL_S)
    assert push(client, answer, b"\x0a\xff\xff") == ErrorCode.INVALID_RECORD          # not OTLP
    time.sleep(INTERVAL_S)
    assert push(client, answer, payload, compression_type=9) == ErrorCode.UNSUPPORTED_COMPRESSION_TYPE
    assert push(client, answer, payload, client_instance_id=bytes(16)) == ErrorCode.INVALID_REQUEST
    time.sleep(INTERVAL_S)
    assert push(client, answer, payload, terminating=True) == 0
    assert push(client, answer, payload) == ErrorCode.INVALID_REQUEST      # nothing after a terminating push


def test_a_push_over_telemetry_max_bytes_is_too_large(client):
    answer = subscribe(client)
    big = encode_metrics_data({}, [(f"metric.{i}", "gauge", float(i), {"pad": "x" * 1000}) for i in range(1200)])
    assert len(big) > answer["telemetry_max_bytes"]
    assert push(client, answer, big) == ErrorCode.TELEMETRY_TOO_LARGE
