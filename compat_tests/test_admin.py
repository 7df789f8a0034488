"""Topic administration through confluent-kafka's, kafka-python's and aiokafka's admin clients."""

from __future__ import annotations

import asyncio

import pytest
from confluent_kafka.admin import AdminClient

from broker.testing import RawClient
from compat_tests.clients import Out, consume, end_offsets, produce
from kproto.codec import decode_response
from kproto.messages import METADATA

CONFIGS = {"retention.ms": "3600000", "cleanup.policy": "delete", "max.message.bytes": "500000"}

# Kafka error codes
UNKNOWN_TOPIC_OR_PARTITION, INVALID_TOPIC_EXCEPTION, TOPIC_ALREADY_EXISTS = 3, 17, 36
INVALID_PARTITIONS, INVALID_REPLICATION_FACTOR, INVALID_CONFIG = 37, 38, 40


def topic_names(bootstrap) -> set[str]:
    """Every topic, by a raw Metadata v12 for all topics (creates nothing)."""
    with RawClient(bootstrap) as raw:
        response = raw.request(METADATA, 12, {"topics": None, "allow_auto_topic_creation": False,
                                              "include_topic_authorized_operations": False})
    return {t["name"] for t in response["topics"]}


# ------------------------------------------------------------------------------------------- confluent


@pytest.fixture
def confluent_admin(bootstrap):
    return AdminClient({"bootstrap.servers": bootstrap})


def confluent_create(admin, name, partitions=3, replication_factor=1, config=None, validate_only=False):
    """The Kafka error code of creating one topic (0: created)."""
    from confluent_kafka import KafkaException
    from confluent_kafka.admin import NewTopic
    future = admin.create_topics([NewTopic(name, num_partitions=partitions, replication_factor=replication_factor,
                                           config=config or {})],
                                 operation_timeout=10, request_timeout=15, validate_only=validate_only)[name]
    try:
        future.result(timeout=20)
        return 0
    except KafkaException as exc:
        return exc.args[0].code()


def confluent_delete(admin, name):
    from confluent_kafka import KafkaException
    future = admin.delete_topics([name], operation_timeout=10, request_timeout=15)[name]
    try:
        future.result(timeout=20)
        return 0
    except KafkaException as exc:
        return exc.args[0].code()


def test_confluent_create_describe_list_delete(confluent_admin, bootstrap, topic_name):
    assert confluent_create(confluent_admin, topic_name, 3, config=CONFIGS) == 0

    assert topic_name in confluent_admin.list_topics(timeout=10).topics   # all topics (see the trailing-bytes test)
    listed = confluent_admin.list_topics(topic_name, timeout=10)
    assert [(b.id, b.host, b.port) for b in listed.brokers.values()] == [
        (1, "127.0.0.1", int(bootstrap.rsplit(":", 1)[1]))]
    described = listed.topics[topic_name]
    assert described.error is None
    assert sorted(described.partitions) == [0, 1, 2]
    for p in described.partitions.values():
        assert (p.leader, p.replicas, p.isrs, p.error) == (1, [1], [1], None)

    # the topic's max.message.bytes took effect: 600 KB refused, 400 KB accepted
    deliveries = produce("confluent", bootstrap, topic_name, [Out(None, b"x" * 600_000, partition=0),
                                                              Out(None, b"y" * 400_000, partition=0)])
    assert [(d.error, d.offset) for d in deliveries] == [("MSG_SIZE_TOO_LARGE", None), (None, 0)]

    assert confluent_delete(confluent_admin, topic_name) == 0
    assert topic_name not in confluent_admin.list_topics(timeout=10).topics


def test_metadata_request_with_trailing_bytes(confluent_admin, bootstrap, topic_name):
    """The exact frame librdkafka 2.x sends for "all topics" (Metadata v12, as in list_topics()) carries 3 stray
    bytes after the body (a 4-byte array-count placeholder where one varint byte belongs). Kafka ignores
    trailing bytes; so must we, or list_topics() fails with _TRANSPORT."""
    assert confluent_create(confluent_admin, topic_name, 1) == 0
    # header v2 (api 3, v12, correlation 7, client "rdkafka", no tags), then topics as a 4-byte 0 (null + 3
    # stray bytes), allow_auto_topic_creation, include_topic_authorized_operations, no tags
    body = bytes.fromhex("0003000c00000007" "0007") + b"rdkafka" + bytes.fromhex("00" "00000000" "01" "00" "00")
    with RawClient(bootstrap) as raw:
        raw.send_raw(len(body).to_bytes(4, "big") + body)
        frame = raw.read_frame()
        assert frame, "the broker closed the connection"
        correlation_id, response = decode_response(frame, METADATA, 12)
    assert correlation_id == 7
    assert topic_name in {t["name"] for t in response["topics"]}


def test_confluent_errors(confluent_admin, bootstrap, topic_name):
    from confluent_kafka import KafkaError
    assert confluent_create(confluent_admin, topic_name, 2) == 0
    assert confluent_create(confluent_admin, topic_name, 2) == KafkaError.TOPIC_ALREADY_EXISTS
    for bad in ("has space", "slash/in/name", "..", "x" * 250):
        assert confluent_create(confluent_admin, bad, 1) == KafkaError.TOPIC_EXCEPTION, bad
    assert confluent_create(confluent_admin, topic_name + "-rf3", 1, replication_factor=3) == \
        KafkaError.INVALID_REPLICATION_FACTOR
    assert confluent_create(confluent_admin, topic_name + "-p0", 0) == KafkaError.INVALID_PARTITIONS
    assert confluent_create(confluent_admin, topic_name + "-cfg", 1, config={"retention.ms": "soon"}) == \
        KafkaError.INVALID_CONFIG
    assert confluent_delete(confluent_admin, topic_name + "-never-created") == KafkaError.UNKNOWN_TOPIC_OR_PART
    # none of the refused topics exist
    topics = topic_names(bootstrap)
    assert {topic_name + s for s in ("-rf3", "-p0", "-cfg")} & topics == set()
    assert topic_name in topics


def test_confluent_validate_only_creates_nothing(confluent_admin, bootstrap, topic_name):
    assert confluent_create(confluent_admin, topic_name, 2, validate_only=True) == 0
    assert topic_name not in topic_names(bootstrap)
    assert confluent_create(confluent_admin, topic_name, 2) == 0


def test_delete_then_recreate_starts_empty(confluent_admin, bootstrap, topic_name):
    assert confluent_create(confluent_admin, topic_name, 1) == 0
    produce("confluent", bootstrap, topic_name, [Out(b"k", b"old-%d" % i) for i in range(5)])
    assert end_offsets(bootstrap, topic_name, 1) == [5]
    assert confluent_delete(confluent_admin, topic_name) == 0
    assert confluent_create(confluent_admin, topic_name, 2) == 0
    assert end_offsets(bootstrap, topic_name, 2) == [0, 0]
    produce("confluent", bootstrap, topic_name, [Out(b"k", b"new", partition=1)])
    assert [(r.partition, r.offset, r.value) for r in consume("kafka-python", bootstrap, topic_name, 2, 1)] == [
        (1, 0, b"new")]


# ---------------------------------------------------------------------------------------- kafka-python


@pytest.fixture
def kp_admin(bootstrap):
    from kafka.admin import KafkaAdminClient
    admin = KafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=10000)
    yield admin
    admin.close()


def kp_error(call):
    """The Kafka error code a kafka-python admin call raised (0: none)."""
    from kafka.errors import KafkaError
    try:
        call()
        return 0
    except KafkaError as exc:
        return exc.errno


def test_kafka_python_create_describe_list_delete(kp_admin, topic_name):
    result = kp_admin.create_topics({topic_name: {"num_partitions": 4, "replication_factor": 1, "configs": CONFIGS}})
    [created] = result["topics"]
    assert (created["name"], created["error_code"], created["num_partitions"], created["replication_factor"]) == \
        (topic_name, 0, 4, 1)
    # CreateTopics v5+ echoes every config with its source
    assert {k: (created["configs"][k]["value"], created["configs"][k]["config_source"]) for k in CONFIGS} == \
        {k: (v, "DYNAMIC_TOPIC_CONFIG") for k, v in CONFIGS.items()}
    assert created["configs"]["segment.bytes"]["config_source"] == "DEFAULT_CONFIG"

    assert topic_name in kp_admin.list_topics()
    [described] = kp_admin.describe_topics([topic_name])
    assert (described["name"], described["error_code"], described["is_internal"]) == (topic_name, 0, False)
    assert sorted((p["partition_index"], p["leader_id"], p["replica_nodes"], p["isr_nodes"])
                  for p in described["partitions"]) == [(i, 1, [1], [1]) for i in range(4)]

    kp_admin.delete_topics([topic_name])
    assert topic_name not in kp_admin.list_topics()


def test_kafka_python_errors(kp_admin, topic_name):
    def create(name, partitions=1, rf=1, configs=None):
        return kp_error(lambda: kp_admin.create_topics(
            {name: {"num_partitions": partitions, "replication_factor": rf, "configs": configs or {}}}))
    assert create(topic_name) == 0
    assert create(topic_name) == TOPIC_ALREADY_EXISTS
    assert create("bad name!") == INVALID_TOPIC_EXCEPTION
    assert create(topic_name + "-rf3", rf=3) == INVALID_REPLICATION_FACTOR
    assert create(topic_name + "-p0", partitions=0) == INVALID_PARTITIONS
    assert create(topic_name + "-cfg", configs={"cleanup.policy": "sometimes"}) == INVALID_CONFIG
    assert create(topic_name + "-unk", configs={"no.such.config": "1"}) == INVALID_CONFIG
    assert kp_error(lambda: kp_admin.delete_topics([topic_name + "-never-created"])) == UNKNOWN_TOPIC_OR_PARTITION
    assert set(kp_admin.list_topics()) & {topic_name + s for s in ("-rf3", "-p0", "-cfg", "-unk")} == set()


# -------------------------------------------------------------------------------------------- aiokafka


def test_aiokafka_create_list_delete(bootstrap, topic_name):
    from aiokafka.admin import AIOKafkaAdminClient, NewTopic

    async def run():
        admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=10000)
        await admin.start()
        try:
            created = await admin.create_topics([NewTopic(topic_name, 3, 1, topic_configs={"retention.ms": "1000"})])
            again = await admin.create_topics([NewTopic(topic_name, 3, 1)])
            listed = await admin.list_topics()
            [described] = await admin.describe_topics([topic_name])
            deleted = await admin.delete_topics([topic_name])
            after = await admin.list_topics()
            return created, again, listed, described, deleted, after
        finally:
            await admin.close()

    created, again, listed, described, deleted, after = asyncio.run(run())
    assert [tuple(t[:2]) for t in created.topic_errors] == [(topic_name, 0)]
    assert [tuple(t[:2]) for t in again.topic_errors] == [(topic_name, TOPIC_ALREADY_EXISTS)]
    assert topic_name in listed
    assert (described["topic"], described["error_code"], len(described["partitions"])) == (topic_name, 0, 3)
    assert [tuple(t[:2]) for t in deleted.topic_error_codes] == [(topic_name, 0)]
    assert topic_name not in after


def test_delete_topic_with_the_longest_legal_name(own_broker):
    own_broker.start()
    from kafka.admin import KafkaAdminClient
    name = "long-" + "n" * 244   # 249 characters: the longest legal topic name
    admin = KafkaAdminClient(bootstrap_servers=own_broker.bootstrap, request_timeout_ms=10000)
    try:
        assert kp_error(lambda: admin.create_topics({name: {"num_partitions": 1, "replication_factor": 1}})) == 0
        produce("confluent", own_broker.bootstrap, name, [Out(b"k", b"v")])
        assert kp_error(lambda: admin.delete_topics([name])) == 0
        assert name not in topic_names(own_broker.bootstrap)
        assert kp_error(lambda: admin.create_topics({name: {"num_partitions": 1, "replication_factor": 1}})) == 0
        assert end_offsets(own_broker.bootstrap, name, 1) == [0]
    finally:
        admin.close()


def test_create_with_common_kafka_topic_configs(kp_admin, topic_name):
    """Kafka topic configs that change nothing on one broker are accepted (tools set them routinely)."""
    common = {"min.insync.replicas": "1", "compression.type": "producer", "unclean.leader.election.enable": "false"}
    result = kp_admin.create_topics({topic_name: {"num_partitions": 1, "replication_factor": 1, "configs": common}})
    [created] = result["topics"]
    assert created["error_code"] == 0
    assert {k: created["configs"][k]["value"] for k in common} == common
