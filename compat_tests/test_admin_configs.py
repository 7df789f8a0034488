"""Topic and broker configs and partition counts through the admin clients of confluent-kafka, kafka-python
and aiokafka: describe, alter and incrementally alter, see the change take effect (a smaller segment.bytes
rolls segments, visible as files), keep it across a restart, and get Kafka's errors for bad input with
nothing changed. kafkajs does the same in test_kafkajs.py."""

from __future__ import annotations

import asyncio
import warnings

import pytest
from confluent_kafka import KafkaError, KafkaException
from confluent_kafka.admin import (AdminClient, AlterConfigOpType, ConfigEntry, ConfigResource, ConfigSource,
                                   NewPartitions, NewTopic)

from compat_tests.clients import Out, consume, end_offsets, produce

SET, DELETE, APPEND = AlterConfigOpType.SET, AlterConfigOpType.DELETE, AlterConfigOpType.APPEND
INVALID_PARTITIONS, INVALID_CONFIG, INVALID_REQUEST = 37, 40, 42


def segment_files(process, topic: str, partition: int = 0) -> list[str]:
    return sorted(p.name for p in (process.data_dir / f"{topic}-{partition}").glob("*.log"))


def one_at_a_time(bootstrap: str, topic: str, count: int, size: int = 600) -> None:
    """``count`` records to partition 0, each in a request of its own (so each is a batch of its own)."""
    for i in range(count):
        [delivery] = produce("confluent", bootstrap, topic, [Out(b"k", bytes([65 + i]) * size, partition=0)])
        assert delivery.error is None


# ------------------------------------------------------------------------------------------- confluent


@pytest.fixture
def admin(bootstrap):
    return AdminClient({"bootstrap.servers": bootstrap})


def create(admin, name: str, partitions: int = 1, config: dict | None = None) -> None:
    admin.create_topics([NewTopic(name, partitions, 1, config=config or {})])[name].result(20)


def describe(admin, kind: str, name: str) -> dict:
    resource = ConfigResource(kind, name)
    return admin.describe_configs([resource])[resource].result(20)


def alter(admin, kind: str, name: str, *ops: tuple[str, AlterConfigOpType, str | None]) -> int:
    """IncrementalAlterConfigs; the Kafka error code (0: done)."""
    resource = ConfigResource(kind, name, incremental_configs=[
        ConfigEntry(key, value, incremental_operation=op) for key, op, value in ops])
    try:
        admin.incremental_alter_configs([resource])[resource].result(20)
        return 0
    except KafkaException as exc:
        return exc.args[0].code()


def shown(entries: dict, *keys: str) -> dict:
    return {key: (entries[key].value, entries[key].source) for key in keys}


def test_confluent_topic_configs_take_effect(admin, broker, bootstrap, topic_name):
    create(admin, topic_name, config={"retention.ms": "3600000"})
    entries = describe(admin, "TOPIC", topic_name)
    assert shown(entries, "retention.ms", "segment.bytes", "cleanup.policy") == {
        "retention.ms": ("3600000", ConfigSource.DYNAMIC_TOPIC_CONFIG.value),
        "segment.bytes": ("1073741824", ConfigSource.DEFAULT_CONFIG.value),
        "cleanup.policy": ("delete", ConfigSource.DEFAULT_CONFIG.value)}
    assert not any(e.is_read_only or e.is_sensitive for e in entries.values())

    one_at_a_time(bootstrap, topic_name, 2)
    assert len(segment_files(broker, topic_name)) == 1
    assert alter(admin, "TOPIC", topic_name, ("segment.bytes", SET, "1000"), ("retention.ms", DELETE, None),
                 ("cleanup.policy", APPEND, "compact")) == 0
    entries = describe(admin, "TOPIC", topic_name)
    assert shown(entries, "retention.ms", "segment.bytes", "cleanup.policy") == {
        "retention.ms": ("604800000", ConfigSource.DEFAULT_CONFIG.value),
        "segment.bytes": ("1000", ConfigSource.DYNAMIC_TOPIC_CONFIG.value),
        "cleanup.policy": ("delete,compact", ConfigSource.DYNAMIC_TOPIC_CONFIG.value)}
    one_at_a_time(bootstrap, topic_name, 3)   # ~670-byte batches: each starts a new segment of 1000 bytes
    assert len(segment_files(broker, topic_name)) == 4
    assert [r.value[:1] for r in consume("confluent", bootstrap, topic_name, [0], 5)] == [b"A", b"B", b"A", b"B", b"C"]


@pytest.mark.parametrize("key,value", [("no.such.config", "1"), ("retention.ms", "a week"), ("segment.bytes", "-1"),
                                       ("segment.bytes", "99999999999"), ("max.message.bytes", "huge"),
                                       ("cleanup.policy", "sometimes"), ("min.cleanable.dirty.ratio", "7")])
def test_confluent_bad_topic_configs_change_nothing(admin, topic_name, key, value):
    create(admin, topic_name, config={"retention.ms": "3600000"})
    before = {name: (e.value, e.source) for name, e in describe(admin, "TOPIC", topic_name).items()}
    assert alter(admin, "TOPIC", topic_name, ("flush.ms", SET, "5000"), (key, SET, value)) == \
        KafkaError.INVALID_CONFIG
    resource = ConfigResource("TOPIC", topic_name, set_config={key: value})
    with pytest.raises(KafkaException) as refused, warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)   # confluent-kafka would have incremental_alter_configs
        admin.alter_configs([resource])[resource].result(20)
    assert refused.value.args[0].code() == KafkaError.INVALID_CONFIG
    assert {name: (e.value, e.source) for name, e in describe(admin, "TOPIC", topic_name).items()} == before


def test_confluent_create_partitions(admin, bootstrap, topic_name):
    create(admin, topic_name, 2)
    produce("confluent", bootstrap, topic_name, [Out(b"k", b"first", partition=1)])
    admin.create_partitions([NewPartitions(topic_name, 5)], validate_only=True)[topic_name].result(20)
    assert len(admin.list_topics(topic_name, timeout=10).topics[topic_name].partitions) == 2
    admin.create_partitions([NewPartitions(topic_name, 5)])[topic_name].result(20)
    assert len(admin.list_topics(topic_name, timeout=10).topics[topic_name].partitions) == 5
    produce("confluent", bootstrap, topic_name, [Out(b"k", b"new", partition=4)])
    assert end_offsets(bootstrap, topic_name, 5) == [0, 1, 0, 0, 1]
    with pytest.raises(KafkaException) as refused:
        admin.create_partitions([NewPartitions(topic_name, 3)])[topic_name].result(20)
    assert refused.value.args[0].code() == KafkaError.INVALID_PARTITIONS


def test_confluent_broker_configs(own_broker, topic_name):
    """This broker's own dynamic configs (confluent-kafka cannot name the cluster default, ""): they reach
    every topic without an override at once, and stay after a restart."""
    own_broker.start()
    admin = AdminClient({"bootstrap.servers": own_broker.bootstrap})
    entries = describe(admin, "BROKER", "1")
    assert {"advertised.listeners", "listeners", "log.retention.ms", "log.retention.hours", "num.partitions",
            "log.dirs", "auto.create.topics.enable", "message.max.bytes"} <= set(entries)
    assert (entries["num.partitions"].value, entries["num.partitions"].is_read_only) == ("1", True)
    assert (entries["log.segment.bytes"].value, entries["log.segment.bytes"].is_read_only) == ("1073741824", False)
    assert entries["log.dirs"].value == str(own_broker.data_dir)

    create(admin, topic_name)
    assert alter(admin, "BROKER", "1", ("log.segment.bytes", SET, "1000"), ("log.retention.ms", SET, "7200000")) == 0
    assert shown(describe(admin, "BROKER", "1"), "log.segment.bytes") == {
        "log.segment.bytes": ("1000", ConfigSource.DYNAMIC_BROKER_CONFIG.value)}
    assert shown(describe(admin, "TOPIC", topic_name), "segment.bytes", "retention.ms") == {
        "segment.bytes": ("1000", ConfigSource.DYNAMIC_BROKER_CONFIG.value),
        "retention.ms": ("7200000", ConfigSource.DYNAMIC_BROKER_CONFIG.value)}
    one_at_a_time(own_broker.bootstrap, topic_name, 3)
    assert len(segment_files(own_broker, topic_name)) == 3
    # Kafka answers a broker config it cannot apply with INVALID_REQUEST
    assert alter(admin, "BROKER", "1", ("num.partitions", SET, "3")) == KafkaError.INVALID_REQUEST
    assert alter(admin, "BROKER", "1", ("log.retention.ms", SET, "soon")) == KafkaError.INVALID_REQUEST
    assert alter(admin, "BROKER", "1", ("log.segment.bytes", SET, "-1")) == KafkaError.INVALID_REQUEST
    entries = describe(admin, "BROKER", "1")
    assert (entries["num.partitions"].value, entries["log.segment.bytes"].value) == ("1", "1000")

    own_broker.restart()   # dynamic configs are kept in the data directory
    admin = AdminClient({"bootstrap.servers": own_broker.bootstrap})
    assert shown(describe(admin, "TOPIC", topic_name), "segment.bytes") == {
        "segment.bytes": ("1000", ConfigSource.DYNAMIC_BROKER_CONFIG.value)}
    one_at_a_time(own_broker.bootstrap, topic_name, 1)
    assert len(segment_files(own_broker, topic_name)) == 4


def test_confluent_describe_cluster_and_elect_leaders(admin, bootstrap, topic_name):
    from confluent_kafka import ElectionType, TopicPartition
    cluster = admin.describe_cluster().result(20)
    assert (cluster.controller.id, [(n.id, n.host, n.port) for n in cluster.nodes]) == (
        1, [(1, "127.0.0.1", int(bootstrap.rsplit(":", 1)[1]))])
    assert cluster.cluster_id
    create(admin, topic_name)
    elected = admin.elect_leaders(ElectionType.PREFERRED, [TopicPartition(topic_name, 0)]).result(20)
    assert {tp.partition: error.code() for tp, error in elected.items()} == {0: KafkaError.ELECTION_NOT_NEEDED}


# ---------------------------------------------------------------------------------------- kafka-python


@pytest.fixture
def kp_admin(bootstrap):
    from kafka.admin import KafkaAdminClient
    client = KafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=10000)
    yield client
    client.close()


def kp_topic(name: str, configs=None):
    from kafka.admin import ConfigResource as KafkaResource, ConfigResourceType
    return KafkaResource(ConfigResourceType.TOPIC, name, configs=configs)


def test_kafka_python_configs(kp_admin, topic_name):
    kp_admin.create_topics({topic_name: {"num_partitions": 1, "replication_factor": 1,
                                         "configs": {"retention.ms": "3600000"}}})
    assert kp_admin.describe_configs([kp_topic(topic_name)])["topic"][topic_name]["retention.ms"]["value"] == "3600000"
    assert kp_admin.alter_configs([kp_topic(topic_name, {"segment.bytes": "50000", "retention.ms": ("DELETE", None)})])
    modified = kp_admin.describe_configs([kp_topic(topic_name)])["topic"][topic_name]
    assert {name: (entry["value"], entry["config_source"]) for name, entry in modified.items()} == {
        "segment.bytes": ("50000", "DYNAMIC_TOPIC_CONFIG")}
    assert modified["segment.bytes"]["config_type"] == "INT"
    # kafka-python reports a refused resource as its error, in the result
    assert kp_admin.alter_configs([kp_topic(topic_name, {"segment.bytes": "-50"})]) == {"topic": {topic_name: (
        "[Error 40] InvalidConfigurationError: segment.bytes: -50 is outside [14, 2147483647]")}}
    refused = kp_admin.alter_configs([kp_topic(topic_name, {"segment.bytes": "60000", "no.such.config": "1"})],
                                     incremental=False, raise_on_unknown=False)
    assert refused == {"topic": {topic_name: (
        "[Error 40] InvalidConfigurationError: Unknown topic config name: no.such.config")}}
    assert kp_admin.describe_configs([kp_topic(topic_name)])["topic"][topic_name]["segment.bytes"]["value"] == "50000"
    kp_admin.reset_configs([kp_topic(topic_name, ["segment.bytes"])])
    assert kp_admin.describe_configs([kp_topic(topic_name)])["topic"][topic_name] == {}


def test_kafka_python_broker_configs(own_broker, topic_name):
    """kafka-python checks keys against what DescribeConfigs says can change at run time, then alters."""
    from kafka.admin import ConfigResource as KafkaResource, ConfigResourceType, KafkaAdminClient

    def this_broker(configs=None):
        return KafkaResource(ConfigResourceType.BROKER, "1", configs=configs)
    own_broker.start()
    client = KafkaAdminClient(bootstrap_servers=own_broker.bootstrap, request_timeout_ms=10000)
    try:
        client.create_topics({topic_name: {"num_partitions": 1, "replication_factor": 1}})
        assert client.alter_configs([this_broker({"log.segment.bytes": "1000", "log.retention.ms": "60000"})]) == {
            "broker": {"1": "OK"}}
        modified = client.describe_configs([this_broker()])["broker"]["1"]
        assert {k: (modified[k]["value"], modified[k]["config_source"], modified[k]["read_only"])
                for k in ("log.segment.bytes", "log.retention.ms")} == {
            "log.segment.bytes": ("1000", "DYNAMIC_BROKER_CONFIG", False),
            "log.retention.ms": ("60000", "DYNAMIC_BROKER_CONFIG", False)}
        with pytest.raises(ValueError, match="num.partitions"):   # read-only, as DescribeConfigs told it
            client.alter_configs([this_broker({"num.partitions": "4"})])
        assert client.alter_configs([this_broker({"num.partitions": "4"})], raise_on_unknown=False) == {
            "broker": {"1": "[Error 42] InvalidRequestError: Cannot update these configs dynamically: "
                            "Set(num.partitions)"}}
        one_at_a_time(own_broker.bootstrap, topic_name, 2)
        assert len(segment_files(own_broker, topic_name)) == 2
        client.reset_configs([this_broker(["log.segment.bytes"])])
        assert "log.segment.bytes" not in client.describe_configs([this_broker()])["broker"]["1"]
        one_at_a_time(own_broker.bootstrap, topic_name, 2)   # back to 1 GB segments: no more rolls
        assert len(segment_files(own_broker, topic_name)) == 2
    finally:
        client.close()


def test_kafka_python_partitions_and_log_dirs(kp_admin, broker, bootstrap, topic_name):
    from kafka.errors import InvalidPartitionsError
    kp_admin.create_topics({topic_name: {"num_partitions": 1, "replication_factor": 1}})
    produce("kafka-python", bootstrap, topic_name, [Out(b"k", b"x" * 1000, partition=0)])
    kp_admin.create_partitions({topic_name: 3})
    assert end_offsets(bootstrap, topic_name, 3) == [1, 0, 0]
    with pytest.raises(InvalidPartitionsError):
        kp_admin.create_partitions({topic_name: 2})
    [answer] = kp_admin.describe_log_dirs({topic_name: [0, 1, 2]})
    [log_dir] = answer["log_dirs"]
    sizes = {p["partition_index"]: p["partition_size"] for t in log_dir["topics"] if t["name"] == topic_name
             for p in t["partitions"]}
    on_disk = {p: sum(f.stat().st_size for f in (broker.data_dir / f"{topic_name}-{p}").glob("*.log"))
               for p in range(3)}
    assert sizes == on_disk and sizes[0] > 1000
    partitions = kp_admin.describe_topic_partitions([topic_name])["topics"][0]["partitions"]
    assert [(p["partition_index"], p["leader_id"]) for p in partitions] == [(0, 1), (1, 1), (2, 1)]
    assert kp_admin.list_partition_reassignments() == {}


# -------------------------------------------------------------------------------------------- aiokafka


def test_aiokafka_configs_and_partitions(bootstrap, topic_name):
    from aiokafka.admin import AIOKafkaAdminClient, NewPartitions as AioNewPartitions, NewTopic as AioNewTopic
    from aiokafka.admin.config_resource import ConfigResource as AioResource, ConfigResourceType
    from aiokafka.errors import InvalidPartitionsError

    async def run():
        client = AIOKafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=10000)
        await client.start()
        try:
            await client.create_topics([AioNewTopic(topic_name, 1, 1)])
            topic = AioResource(ConfigResourceType.TOPIC, topic_name)
            altered = await client.alter_configs([AioResource(ConfigResourceType.TOPIC, topic_name,
                                                              {"retention.ms": "5000"})])
            bad = await client.alter_configs([AioResource(ConfigResourceType.TOPIC, topic_name,
                                                          {"retention.ms": "-7"})])
            [described] = await client.describe_configs([topic])
            [broker] = await client.describe_configs([AioResource(ConfigResourceType.BROKER, "1")])
            await client.create_partitions({topic_name: AioNewPartitions(3)})
            try:
                await client.create_partitions({topic_name: AioNewPartitions(3)})
                again = None
            except InvalidPartitionsError as exc:
                again = exc
            return altered, bad, described, broker, again
        finally:
            await client.close()

    altered, bad, described, broker, again = asyncio.run(run())
    assert [tuple(r[:2]) for r in altered[0].resources] == [(0, None)]
    assert bad[0].resources[0][0] == INVALID_CONFIG
    [(error_code, _, _, _, entries)] = described.resources
    values = {e[0]: (e[1], e[3]) for e in entries}
    assert (error_code, values["retention.ms"], values["segment.bytes"]) == (0, ("5000", 1), ("1073741824", 5))
    assert {e[0] for e in broker.resources[0][4]} >= {"advertised.listeners", "num.partitions", "log.retention.hours"}
    assert again is not None
    assert end_offsets(bootstrap, topic_name, 3) == [0, 0, 0]
