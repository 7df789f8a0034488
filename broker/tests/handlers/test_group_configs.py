"""Group configs (resource type GROUP, KIP-848 and KIP-932) over a real socket: DescribeConfigs shows
every group key with Kafka's sources, types and documentation, whether or not the group exists;
IncrementalAlterConfigs sets and deletes them, a share group's members see the change, it survives a
restart, and every refusal (Kafka's code and message) changes nothing."""

from __future__ import annotations

import pytest

from broker import config_catalog as catalog
from broker.groups.share.configs import KEYS as SERVICE_KEYS
from broker.tests.handlers.serving import create_topic
from broker.tests.handlers.test_alter_configs import incremental, legacy, ok
from broker.tests.handlers.test_describe_configs import configs_of, describe
from kproto.errors import ErrorCode as E
from kproto.messages import CONSUMER_GROUP_HEARTBEAT, SHARE_GROUP_HEARTBEAT

GROUP = 32
SET, DELETE, APPEND, SUBTRACT = 0, 1, 2, 3
DEFAULT, GROUP_CONFIG = 5, 8
STRING, INT = 2, 3

DEFAULTS = {   # the broker's group.* settings (Kafka's defaults), shown for a group without its own
    "consumer.heartbeat.interval.ms": "5000", "consumer.session.timeout.ms": "45000",
    "share.auto.offset.reset": "latest", "share.delivery.count.limit": "5", "share.heartbeat.interval.ms": "5000",
    "share.isolation.level": "read_uncommitted", "share.partition.max.record.locks": "2000",
    "share.record.lock.duration.ms": "30000", "share.session.timeout.ms": "45000"}


def shown(client, group: str) -> dict[str, tuple[str, int]]:
    return {name: (c["value"], c["config_source"]) for name, c in configs_of(client, GROUP, group).items()}


def test_the_catalogue_describes_every_key_the_group_service_keeps():
    assert set(catalog.GROUP_CONFIGS) == set(SERVICE_KEYS) == set(DEFAULTS)


@pytest.mark.parametrize("version", [0, 1, 2, 3, 4])
def test_a_group_nobody_configured_shows_the_defaults(client, version):
    configs = configs_of(client, GROUP, f"never-seen-{version}", version=version, documentation=True)
    assert {name: c["value"] for name, c in configs.items()} == DEFAULTS
    assert {(c["read_only"], c["is_sensitive"]) for c in configs.values()} == {(False, False)}
    if version >= 1:
        assert {c["config_source"] for c in configs.values()} == {DEFAULT}
    else:   # v0 has no sources: is_default says it
        assert {c["is_default"] for c in configs.values()} == {True}
    if version >= 3:
        assert (configs["share.record.lock.duration.ms"]["config_type"],
                configs["share.auto.offset.reset"]["config_type"]) == (INT, STRING)
        assert all(c["documentation"] for c in configs.values())


def test_set_and_delete_with_sources_synonyms_and_effect(client, topic):
    create_topic(client, topic)
    group = f"sg-{topic}"
    assert ok(incremental(client, GROUP, group, ("share.heartbeat.interval.ms", SET, " 7000 "),
                          ("share.auto.offset.reset", SET, "earliest")))
    # the value as Kafka shows it once parsed; the group's own values have the source GROUP_CONFIG
    assert shown(client, group) == {**{name: (value, DEFAULT) for name, value in DEFAULTS.items()},
                                    "share.heartbeat.interval.ms": ("7000", GROUP_CONFIG),
                                    "share.auto.offset.reset": ("earliest", GROUP_CONFIG)}
    with_synonyms = configs_of(client, GROUP, group, ["share.heartbeat.interval.ms", "share.session.timeout.ms"],
                               synonyms=True)
    assert {name: c["synonyms"] for name, c in with_synonyms.items()} == {
        "share.heartbeat.interval.ms": [{"name": "share.heartbeat.interval.ms", "value": "7000",
                                         "source": GROUP_CONFIG}],
        "share.session.timeout.ms": []}
    # a member of the share group is told the group's heartbeat interval
    joined = client.request(SHARE_GROUP_HEARTBEAT, 1, {"group_id": group, "member_id": "m1", "member_epoch": 0,
                                                       "rack_id": None, "subscribed_topic_names": [topic]})
    assert (joined["error_code"], joined["heartbeat_interval_ms"]) == (E.NONE, 7000)

    assert ok(incremental(client, GROUP, group, ("share.heartbeat.interval.ms", DELETE, None)))
    assert shown(client, group)["share.heartbeat.interval.ms"] == ("5000", DEFAULT)
    assert shown(client, group)["share.auto.offset.reset"] == ("earliest", GROUP_CONFIG)


def test_a_consumer_groups_members_are_told_its_heartbeat_interval(client, topic):
    """KIP-848: consumer.heartbeat.interval.ms of the group over group.consumer.heartbeat.interval.ms."""
    create_topic(client, topic)
    group = f"cg-{topic}"

    def join(member: str) -> dict:
        return client.request(CONSUMER_GROUP_HEARTBEAT, 1, {
            "group_id": group, "member_id": member, "member_epoch": 0, "instance_id": None, "rack_id": None,
            "rebalance_timeout_ms": 30000, "subscribed_topic_names": [topic], "subscribed_topic_regex": None,
            "server_assignor": None, "topic_partitions": []})

    assert join("m1")["heartbeat_interval_ms"] == 5000
    assert ok(incremental(client, GROUP, group, ("consumer.heartbeat.interval.ms", SET, "2500")))
    assert join("m2")["heartbeat_interval_ms"] == 2500


def test_validate_only_changes_nothing(client):
    group = "validate-only-group"
    assert ok(incremental(client, GROUP, group, ("consumer.session.timeout.ms", SET, "30000"), validate_only=True))
    assert shown(client, group)["consumer.session.timeout.ms"] == ("45000", DEFAULT)


BAD_GROUP_CONFIGS = {
    "unknown key": ([("no.such.key", SET, "1")], E.INVALID_CONFIG, "Unknown group config name: no.such.key"),
    "not a number": ([("share.record.lock.duration.ms", SET, "soon")], E.INVALID_CONFIG,
                     "Invalid value soon for configuration share.record.lock.duration.ms: Not a number of type INT"),
    "below Kafka's bound": ([("share.record.lock.duration.ms", SET, "999")], E.INVALID_CONFIG,
                            "Invalid value 999 for configuration share.record.lock.duration.ms: "
                            "Value must be at least 1000"),
    "not one of": ([("share.isolation.level", SET, "sometimes")], E.INVALID_CONFIG,
                   "Invalid value sometimes for configuration share.isolation.level: "
                   "String must be one of: read_committed, read_uncommitted"),
    "append": ([("share.delivery.count.limit", APPEND, "3")], E.INVALID_CONFIG,
               "Can't APPEND to key share.delivery.count.limit because its type is not LIST."),
    "subtract": ([("consumer.session.timeout.ms", SUBTRACT, "3")], E.INVALID_CONFIG,
                 "Can't SUBTRACT to key consumer.session.timeout.ms because its type is not LIST."),
    "one good, one bad": ([("share.auto.offset.reset", SET, "earliest"), ("share.delivery.count.limit", SET, "1")],
                          E.INVALID_CONFIG, "Invalid value 1 for configuration share.delivery.count.limit: "
                                            "Value must be at least 2"),
}


@pytest.mark.parametrize("ops,code,message", list(BAD_GROUP_CONFIGS.values()), ids=list(BAD_GROUP_CONFIGS))
def test_bad_group_configs_change_nothing(client, ops, code, message):
    group = "bad-configs-group"
    before = shown(client, group)
    result = incremental(client, GROUP, group, *ops)
    assert (result["error_code"], result["error_message"]) == (code, message)
    assert shown(client, group) == before


def test_out_of_the_brokers_range_is_invalid_config(client):
    """Values the type allows but the broker's range does not are the group service's to refuse."""
    result = incremental(client, GROUP, "range-group", ("share.delivery.count.limit", SET, "1000"))
    assert result["error_code"] == E.INVALID_CONFIG and "share.delivery.count.limit" in result["error_message"]
    assert shown(client, "range-group")["share.delivery.count.limit"] == ("5", DEFAULT)


def test_refusals_in_the_resources_error_shape(client):
    [unnamed] = describe(client, (GROUP, "", None))
    assert (unnamed["error_code"], unnamed["error_message"], unnamed["configs"]) == (
        E.INVALID_REQUEST, "Group name must not be empty", [])
    assert incremental(client, GROUP, "", ("share.delivery.count.limit", SET, "3"))["error_code"] == E.INVALID_GROUP_ID
    # AlterConfigs (legacy) takes topic and broker resources only
    assert legacy(client, GROUP, "legacy-group", {"share.delivery.count.limit": "3"})["error_code"] == E.INVALID_REQUEST
    assert shown(client, "legacy-group")["share.delivery.count.limit"] == ("5", DEFAULT)


def test_group_configs_survive_a_restart(own_broker):
    with own_broker() as served, served.client() as client:
        assert ok(incremental(client, GROUP, "kept", ("share.record.lock.duration.ms", SET, "15000")))
    with own_broker() as served, served.client() as client:
        assert shown(client, "kept")["share.record.lock.duration.ms"] == ("15000", GROUP_CONFIG)
