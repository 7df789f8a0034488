"""``/metrics`` read as Prometheus reads it (prometheus_client's parser), after known traffic."""

from __future__ import annotations

import uuid

from prometheus_client.parser import text_string_to_metric_families

from broker.tests.handlers.serving import batch, create_topic, fetch_body, produce
from kproto.messages import FETCH, OFFSET_COMMIT


def scrape(http) -> dict[str, dict[tuple, float]]:
    """Samples by name, each by its sorted labels."""
    answer = http.get("/metrics")
    assert answer.status == 200 and answer.headers["content-type"].startswith("text/plain; version=0.0.4")
    samples: dict[str, dict[tuple, float]] = {}
    for family in text_string_to_metric_families(answer.text):
        for sample in family.samples:
            samples.setdefault(sample.name, {})[tuple(sorted(sample.labels.items()))] = sample.value
    return samples


def value(samples, name: str, **labels) -> float:
    return samples[name][tuple(sorted((k, str(v)) for k, v in labels.items()))]


def test_traffic_shows_in_topic_request_and_log_metrics(client, http, topic):
    before = scrape(http)
    create_topic(client, topic, 2)
    batches = [batch(*(f"m{i}".encode() for i in range(7))), batch(b"a", b"b", b"c")]
    for partition, records in enumerate(batches):
        assert produce(client, topic, records, partition=partition)["error_code"] == 0
    fetched = client.request(FETCH, 12, fetch_body(topic, {0: 0, 1: 0}))
    assert all(p["records"] for p in fetched["responses"][0]["partitions"])
    topic_id = uuid.UUID(http.ok("GET", f"/api/topics/{topic}")["topic_id"]).bytes
    client.request(FETCH, 16, fetch_body(topic, {0: 0}, topic_id=topic_id))   # v13+ names the topic by id

    after = scrape(http)
    assert value(after, "kafka_server_brokertopicmetrics_messagesin_total", topic=topic) == 10
    assert value(after, "kafka_server_brokertopicmetrics_bytesin_total", topic=topic) == sum(map(len, batches))
    assert value(after, "kafka_server_brokertopicmetrics_bytesout_total", topic=topic) == \
        sum(map(len, batches)) + len(batches[0])
    for partition, records in enumerate(batches):
        assert value(after, "kafka_log_log_logendoffset", topic=topic, partition=partition) == (7, 3)[partition]
        assert value(after, "kafka_log_log_logstartoffset", topic=topic, partition=partition) == 0
        assert value(after, "kafka_log_log_size", topic=topic, partition=partition) == len(records)

    def requests(name: str, samples) -> float:
        return samples.get("kafka_network_requestmetrics_requests_total", {}).get((("request", name),), 0)

    assert requests("Produce", after) - requests("Produce", before) == 2
    assert requests("Fetch", after) - requests("Fetch", before) == 2
    assert requests("CreateTopics", after) - requests("CreateTopics", before) == 1
    count = value(after, "kafka_network_requestmetrics_totaltimems_count", request="Produce")
    assert count == value(after, "kafka_network_requestmetrics_totaltimems_bucket", request="Produce", le="+Inf")
    assert value(after, "kafka_network_requestmetrics_totaltimems_sum", request="Produce") > 0
    assert value(after, "kafka_server_replicamanager_underreplicatedpartitions") == 0
    assert value(after, "kafka_server_socketservermetrics_connection_count", listener="PLAINTEXT") >= 1
    assert value(after, "process_cpu_seconds_total") > 0
    assert value(after, "process_resident_memory_bytes") > 10_000_000


def test_consumer_lag_per_group_and_partition(client, http, topic):
    create_topic(client, topic, 2)
    produce(client, topic, batch(*[b"x"] * 9), partition=0)
    produce(client, topic, batch(*[b"y"] * 4), partition=1)
    group = f"g-{topic}"
    committed = client.request(OFFSET_COMMIT, 8, {
        "group_id": group, "generation_id_or_member_epoch": -1, "member_id": "", "group_instance_id": None,
        "topics": [{"name": topic, "partitions": [
            {"partition_index": 0, "committed_offset": 5, "committed_leader_epoch": -1, "committed_metadata": ""},
            {"partition_index": 1, "committed_offset": 4, "committed_leader_epoch": -1, "committed_metadata": ""}]}]})
    assert all(p["error_code"] == 0 for p in committed["topics"][0]["partitions"])
    samples = scrape(http)
    assert value(samples, "kafka_consumergroup_lag", consumergroup=group, topic=topic, partition=0) == 4
    assert value(samples, "kafka_consumergroup_lag", consumergroup=group, topic=topic, partition=1) == 0
    assert value(samples, "kafka_consumergroup_current_offset", consumergroup=group, topic=topic, partition=0) == 5
    assert value(samples, "kafka_consumergroup_lag_sum", consumergroup=group) == 4
    [row] = [g for g in http.ok("GET", "/api/groups")["groups"] if g["group_id"] == group]
    assert (row["state"], row["lag"], row["partitions"], row["topics"]) == ("Empty", 4, 2, [topic])


def test_a_topic_name_that_needs_escaping_is_escaped(client, http):
    """Topic names cannot hold quotes; group ids can: label values are escaped."""
    group = 'odd "group"\\name\nline'
    create_topic(client, "escape-check", 1)
    client.request(OFFSET_COMMIT, 8, {
        "group_id": group, "generation_id_or_member_epoch": -1, "member_id": "", "group_instance_id": None,
        "topics": [{"name": "escape-check", "partitions": [
            {"partition_index": 0, "committed_offset": 0, "committed_leader_epoch": -1, "committed_metadata": ""}]}]})
    samples = scrape(http)
    assert value(samples, "kafka_consumergroup_lag_sum", consumergroup=group) == 0
