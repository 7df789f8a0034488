"""The controller's pure decisions: Kafka's four elections, replica placement (with and without
racks), the requests it builds, and the znode JSON it reads and writes."""

from __future__ import annotations

import json
import uuid
from collections import Counter

import pytest

from broker.cluster import znodes as zn
from broker.cluster.controller import election
from broker.cluster.controller.assignment import AssignmentError, assign_replicas
from broker.cluster.controller.state import ControllerContext, new_partition_state
from broker.cluster.znodes import BrokerInfo, LeaderAndIsr, TopicAssignment
from kproto.constants import AclOperation, AclPermissionType, PatternType, ResourceType


@pytest.mark.parametrize("assignment,isr,live,unclean,expected", [
    ([1, 2, 3], [1, 2, 3], {2, 3}, False, (2, [2, 3])),       # the first live replica in the ISR
    ([1, 2, 3], [3, 1], {2, 3}, False, (3, [3])),             # 2 is alive but not in the ISR
    ([1, 2, 3], [1], {2, 3}, False, None),                     # nobody in the ISR is alive: offline
    ([1, 2, 3], [1], {2, 3}, True, (2, [2])),                  # unclean: any live replica, alone in the ISR
    ([1, 2, 3], [], set(), True, None),
])
def test_offline_partition_election(assignment, isr, live, unclean, expected):
    assert election.offline_partition(assignment, isr, live, unclean) == expected


def test_the_other_elections():
    assert election.preferred_replica([2, 1, 3], [1, 2, 3], {1, 2, 3}) == (2, [1, 2, 3])
    assert election.preferred_replica([2, 1, 3], [1, 3], {1, 2, 3}) is None    # not in the ISR
    assert election.preferred_replica([2, 1, 3], [1, 2, 3], {1, 3}) is None    # not alive
    assert election.reassignment([4, 5], [1, 5, 4], {1, 4, 5}) == (4, [1, 5, 4])
    assert election.controlled_shutdown([1, 2, 3], [1, 2, 3], {1, 2, 3}, {1}) == (2, [2, 3])
    assert election.controlled_shutdown([1, 2, 3], [1], {1, 2, 3}, {1}) is None


def test_placement_without_racks_spreads_leaders_and_replicas():
    brokers = {1: None, 2: None, 3: None, 4: None}
    replicas = assign_replicas(brokers, 8, 3, start_index=0, shift=0)
    assert replicas[0] == [1, 2, 3] and replicas[1] == [2, 3, 4] and replicas[4] == [1, 3, 4]
    assert Counter(r[0] for r in replicas.values()) == {1: 2, 2: 2, 3: 2, 4: 2}
    assert all(len(set(r)) == 3 for r in replicas.values())
    assert assign_replicas(brokers, 2, 2, start_partition=8, start_index=0, shift=0).keys() == {8, 9}
    with pytest.raises(AssignmentError, match="larger than available brokers: 4"):
        assign_replicas(brokers, 1, 5)


def test_placement_with_racks_puts_each_replica_in_another_rack():
    brokers = {1: "a", 2: "a", 3: "b", 4: "b", 5: "c", 6: "c"}
    for start in range(6):
        replicas = assign_replicas(brokers, 12, 3, start_index=start, shift=start)
        for r in replicas.values():
            assert len({brokers[b] for b in r}) == 3, r
        assert Counter(r[0] for r in replicas.values()) == {b: 2 for b in brokers}


def test_requests_carry_the_states_and_the_live_brokers():
    ctx = ControllerContext(broker_id=1, epoch=7)
    ctx.brokers = {1: BrokerInfo(1, "h1", 9001, "a", epoch=11), 2: BrokerInfo(2, "h2", 9002, None, epoch=12)}
    topic_id = uuid.uuid4()
    ctx.assignments["t"] = TopicAssignment(topic_id, {0: [1, 2], 1: [2, 3]})
    ctx.states[("t", 0)] = LeaderAndIsr(1, 4, (1, 2), 7, zk_version=9)
    ctx.states[("t", 1)] = LeaderAndIsr(2, 0, (2,), 7, zk_version=0)
    body = ctx.leader_and_isr(2, ctx.partitions())
    assert body["broker_epoch"] == 12 and body["controller_epoch"] == 7
    states = body["topic_states"][0]["partition_states"]
    assert [(s["partition_index"], s["leader"], s["leader_epoch"], s["partition_epoch"]) for s in states] == [
        (0, 1, 4, 9), (1, 2, 0, 0)]
    assert body["topic_states"][0]["topic_id"] == topic_id.bytes
    assert ctx.leader_and_isr(3, [("t", 0)]) is None   # 3 replicates no partition of these
    update = ctx.update_metadata()
    assert [b["id"] for b in update["live_brokers"]] == [1, 2] and update["live_brokers"][0]["rack"] == "a"
    assert update["topic_states"][0]["partition_states"][1]["offline_replicas"] == [3]   # 3 is not alive
    assert ctx.offline() == [] and ctx.led_by(2) == [("t", 1)]
    del ctx.brokers[2]
    assert ctx.offline() == [("t", 1)]
    assert new_partition_state([3, 2, 1], {1, 2}, 7) == LeaderAndIsr(2, 0, (2, 1), 7)
    assert new_partition_state([3], {1, 2}, 7) is None


def test_znodes_are_kafkas_json():
    info = zn.decode_broker(3, b'{"features":{},"listener_security_protocol_map":{"PLAINTEXT":"PLAINTEXT"},'
                               b'"endpoints":["PLAINTEXT://k3.example:9093"],"jmx_port":-1,"port":9093,'
                               b'"host":"k3.example","version":5,"timestamp":"1","rack":"r1"}', epoch=77)
    assert info == BrokerInfo(3, "k3.example", 9093, "r1", 77, (("PLAINTEXT", "PLAINTEXT", "k3.example", 9093),))
    assert zn.decode_broker(3, zn.encode_broker(info), 77) == info
    # every listener is registered; host and port are the inter-broker one's
    both = BrokerInfo(3, "10.0.0.3", 9094, None, 77, (("CLIENT", "SASL_SSL", "k3.example", 9093),
                                                      ("INTERNAL", "PLAINTEXT", "10.0.0.3", 9094)))
    value = json.loads(zn.encode_broker(both))
    assert value["endpoints"] == ["CLIENT://k3.example:9093", "INTERNAL://10.0.0.3:9094"]
    assert value["listener_security_protocol_map"] == {"CLIENT": "SASL_SSL", "INTERNAL": "PLAINTEXT"}
    assert zn.decode_broker(3, zn.encode_broker(both), 77) == both
    # ACLs as Kafka's AclAuthorizer writes them
    resource = (ResourceType.TRANSACTIONAL_ID, PatternType.PREFIXED, "tx-")
    assert zn.acl_resource_path(resource) == "/kafka-acl-extended/prefixed/TransactionalId/tx-"
    assert zn.acl_resource_path((ResourceType.TOPIC, PatternType.LITERAL, "t")) == "/kafka-acl/Topic/t"
    entries = [("User:alice", "*", AclOperation.CLUSTER_ACTION, AclPermissionType.ALLOW)]
    assert json.loads(zn.encode_acls(entries)) == {"version": 1, "acls": [
        {"principal": "User:alice", "permissionType": "Allow", "operation": "ClusterAction", "host": "*"}]}
    assert zn.decode_acls(zn.encode_acls(entries)) == entries
    assert zn.encode_acl_change((ResourceType.TOPIC, PatternType.LITERAL, "t")) == ("/kafka-acl-changes", b"Topic:t")
    directory, data = zn.encode_acl_change(resource)
    assert directory == "/kafka-acl-extended-changes" and json.loads(data) == {
        "version": 1, "resourceType": "TransactionalId", "name": "tx-", "patternType": "PREFIXED"}
    assignment = TopicAssignment(uuid.uuid4(), {0: [1, 2], 1: [2, 1]})
    assert zn.decode_topic(zn.encode_topic(assignment)) == assignment
    state = zn.decode_partition_state(b'{"controller_epoch":3,"leader":2,"version":1,"leader_epoch":5,'
                                      b'"isr":[2,1]}', zk_version=8)
    assert state == LeaderAndIsr(2, 5, (2, 1), 3, 8)
    assert zn.decode_partition_state(zn.encode_partition_state(state), 8) == state
    assert zn.decode_controller(zn.encode_controller(4)) == 4
    assert zn.decode_producer_id_block(zn.encode_producer_id_block(1, 1000, 1999)) == (1000, 1999)
    assert zn.decode_topic_config(zn.encode_topic_config({"retention.ms": "5"})) == {"retention.ms": "5"}


@pytest.mark.parametrize("names,path", [
    ({"user": "alice"}, "users/alice"),
    ({"user": None}, "users/<default>"),
    ({"user": "CN=Bob Smith,O=x", "client-id": "app*1"}, "users/CN%3DBob%20Smith%2CO%3Dx/clients/app%2A1"),
    ({"user": None, "client-id": None}, "users/<default>/clients/<default>"),
    ({"client-id": "päy~.-_"}, "clients/p%C3%A4y%7E.-_"),
    ({"ip": "::1"}, "ips/%3A%3A1"),
    ({"user": "<default>"}, "users/%3Cdefault%3E"),   # a user named so is not the default
])
def test_quota_entities_are_kafkas_sanitized_config_paths(names, path):
    assert zn.quota_entity_path(names) == path
    assert zn.quota_entity_of(path) == names
    assert zn.quota_entity_of("topics/t") is None and zn.quota_entity_of("users/a/clients") is None


def test_scram_credentials_and_quota_values_are_kafkas_strings():
    text = zn.encode_scram_credential(b"salt", b"stored", b"server", 4096)
    assert text == "salt=c2FsdA==,stored_key=c3RvcmVk,server_key=c2VydmVy,iterations=4096"
    assert zn.decode_scram_credential(text) == (b"salt", b"stored", b"server", 4096)
    with pytest.raises(ValueError):
        zn.decode_scram_credential("salt=c2FsdA==,iterations=4096")
    assert [zn.java_double(v) for v in (50.0, 0.001, 12.5, 1e7, 0.0001, 123456789.0, 1.5e-5)] == [
        "50.0", "0.001", "12.5", "1.0E7", "1.0E-4", "1.23456789E8", "1.5E-5"]
    assert (zn.quota_text("long", 1048576.0), zn.quota_text("int", 9.9999999), zn.quota_text("double", 50.0)) == (
        "1048576", "10", "50.0")
    assert json.loads(zn.encode_entity_config({"producer_byte_rate": "1024"})) == {
        "version": 1, "config": {"producer_byte_rate": "1024"}}
    assert zn.decode_entity_config(b"") == {}
