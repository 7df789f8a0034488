"""What Kafka 4 added for admin clients, through confluent-kafka and kafka-python 3: group configs
(ConfigResource type GROUP, KIP-848 and KIP-932) described and altered, with the change taking effect
for a share consumer; DescribeCluster v2 (KIP-1073) and DescribeGroups v6 (KIP-1043) as kafka-python
3, which speaks the newest versions a broker offers, uses them."""

from __future__ import annotations

import time

import pytest
from confluent_kafka import KafkaException, Producer, ShareConsumer
from confluent_kafka.admin import AdminClient, AlterConfigOpType, ConfigEntry, ConfigResource, ConfigSource

from compat_tests.clients import create_topic

SET, DELETE = AlterConfigOpType.SET, AlterConfigOpType.DELETE
INVALID_CONFIG = 40


@pytest.fixture
def admin(bootstrap):
    return AdminClient({"bootstrap.servers": bootstrap})


def group_configs(admin, group: str) -> dict[str, tuple[str, int]]:
    resource = ConfigResource("GROUP", group)
    return {name: (entry.value, entry.source) for name, entry in admin.describe_configs([resource])[resource].result(20).items()}


def alter_group(admin, group: str, *ops) -> None:
    resource = ConfigResource("GROUP", group, incremental_configs=[
        ConfigEntry(key, value, incremental_operation=op) for key, op, value in ops])
    admin.incremental_alter_configs([resource])[resource].result(20)


def test_confluent_group_configs_and_a_share_consumer_reading_from_earliest(admin, bootstrap, topic_name):
    """The usual start of a share group: records are already there, so the group is set to read
    from the earliest offset before its first consumer comes (the default, latest, would skip them)."""
    group = f"sg-{topic_name}"
    default = ConfigSource.DEFAULT_CONFIG.value
    before = group_configs(admin, group)
    assert (before["share.auto.offset.reset"], before["share.record.lock.duration.ms"]) == (
        ("latest", default), ("30000", default))

    create_topic("confluent", bootstrap, topic_name, 1)
    producer = Producer({"bootstrap.servers": bootstrap, "linger.ms": 0})
    for i in range(5):
        producer.produce(topic_name, b"v%d" % i, partition=0)
    assert producer.flush(20) == 0

    alter_group(admin, group, ("share.auto.offset.reset", SET, "earliest"),
                ("share.record.lock.duration.ms", SET, "15000"))
    after = group_configs(admin, group)
    assert (after["share.auto.offset.reset"], after["share.record.lock.duration.ms"]) == (
        ("earliest", ConfigSource.GROUP_CONFIG.value), ("15000", ConfigSource.GROUP_CONFIG.value))
    assert after["consumer.session.timeout.ms"] == ("45000", default)

    with pytest.raises(KafkaException) as refused:
        alter_group(admin, group, ("share.record.lock.duration.ms", SET, "999"))
    assert refused.value.args[0].code() == INVALID_CONFIG
    assert "at least 1000" in refused.value.args[0].str()
    assert group_configs(admin, group) == after

    consumer = ShareConsumer({"bootstrap.servers": bootstrap, "group.id": group})
    consumer.subscribe([topic_name])
    try:
        got, deadline = [], time.monotonic() + 30
        while time.monotonic() < deadline and len(got) < 5:
            for message in consumer.poll(0.2):
                assert message.error() is None, message.error()
                got.append(message.value())
        assert sorted(got) == [b"v%d" % i for i in range(5)]
    finally:
        consumer.close()

    alter_group(admin, group, ("share.record.lock.duration.ms", DELETE, None))
    assert group_configs(admin, group)["share.record.lock.duration.ms"] == ("30000", default)


def test_kafka_python_group_configs(bootstrap):
    from kafka.admin import ConfigResource as KPConfigResource, ConfigResourceType, KafkaAdminClient
    admin = KafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=10000)
    try:
        group = "kp-configured-group"
        resource = KPConfigResource(ConfigResourceType.GROUP, group, {"consumer.heartbeat.interval.ms": "3000"})
        assert admin.alter_configs([resource]) == {"group": {group: "OK"}}
        bad = KPConfigResource(ConfigResourceType.GROUP, group, {"consumer.heartbeat.interval.ms": "often"})
        assert admin.alter_configs([bad]) == {"group": {group: (
            "[Error 40] InvalidConfigurationError: Invalid value often for configuration "
            "consumer.heartbeat.interval.ms: Not a number of type INT")}}
        described = admin.describe_configs([KPConfigResource(ConfigResourceType.GROUP, group)])
        [configs] = described["group"].values()
        # kafka-python lists only the modified ones by default: the group's own values
        assert {name: c["value"] for name, c in configs.items()} == {"consumer.heartbeat.interval.ms": "3000"}
    finally:
        admin.close()


def test_kafka_python_describe_cluster_v2_and_describe_groups_v6(bootstrap):
    from kafka.admin import KafkaAdminClient
    admin = KafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=10000)
    try:
        cluster = admin.describe_cluster()
        port = int(bootstrap.rsplit(":", 1)[1])
        assert [(b["broker_id"], b["host"], b["port"], b["is_fenced"]) for b in cluster["brokers"]] == [
            (1, "127.0.0.1", port, False)]
        described = admin.describe_groups(["no-such-group"])["no-such-group"]
        assert described["group_state"] == "Dead"
        assert "GroupIdNotFound" in described["error"] and "Group no-such-group not found." in described["error"]
    finally:
        admin.close()
