"""The authorizer on the APIs that came after it, over raw frames: what each checks, as Kafka's
KafkaApis does, and the error each client then sees, in its API's shape.

One broker for the module: a SASL_PLAINTEXT listener, the authorizer on, ``User:admin`` a super
user. Each test gives alice what she needs (and bob, at most, some of it) on names of its own,
then asks as both: alice is answered, bob refused.
"""

from __future__ import annotations

import pytest

from broker.tests.handlers.serving import batch, create_topic, fetch_body, produce, produce_body, running_broker
from broker.tests.handlers.test_new_groups import cg_beat, sg_beat
from broker.tests.handlers.test_old_versions import message_set
from broker.tests.handlers.test_security import JAAS, plain
from broker.tests.handlers.txn_requests import Txn, add_partitions, end_txn
from kproto.constants import AclOperation as Op, AclPermissionType as Permission, PatternType, ResourceType as R
from kproto.errors import ErrorCode as E
from kproto.messages import (
    ADD_OFFSETS_TO_TXN, ADD_PARTITIONS_TO_TXN, ALTER_SHARE_GROUP_OFFSETS, CONSUMER_GROUP_DESCRIBE, CREATE_ACLS,
    DELETE_RECORDS, DELETE_SHARE_GROUP_OFFSETS, DESCRIBE_PRODUCERS, DESCRIBE_SHARE_GROUP_OFFSETS,
    DESCRIBE_TRANSACTIONS, FETCH, LIST_OFFSETS, LIST_TRANSACTIONS, PRODUCE, SHARE_ACKNOWLEDGE, SHARE_FETCH,
    SHARE_GROUP_DESCRIBE, TXN_OFFSET_COMMIT, WRITE_TXN_MARKERS)

USERS = JAAS.replace('user_admin="admin-secret";', 'user_admin="admin-secret" user_bob="bob-secret";')
PASSWORDS = {"alice": "alice-secret", "bob": "bob-secret", "admin": "admin-secret"}


@pytest.fixture(scope="module")
def acl_served(tmp_path_factory):
    with running_broker(tmp_path_factory.mktemp("authz") / "data", listener_name="SASL_PLAINTEXT",
                        listener_protocol="SASL_PLAINTEXT",
                        security_properties={"sasl.jaas.config": USERS, "authorizer.class.name": "on",
                                             "super.users": "User:admin",
                                             "connection.failed.authentication.delay.ms": "0"}) as served:
        yield served


@pytest.fixture
def login(acl_served):
    """``login("alice")``: a connection authenticated as that user (closed after the test)."""
    clients = []

    def connect(user: str):
        client = acl_served.client()
        clients.append(client)
        assert plain(client, user, PASSWORDS[user])["error_code"] == 0
        return client

    yield connect
    for client in clients:
        client.close()


@pytest.fixture
def admin(login):
    return login("admin")


def allow(admin, resource_type: int, name: str, *operations: int, user: str = "alice") -> None:
    answer = admin.request(CREATE_ACLS, 3, {"creations": [
        {"resource_type": resource_type, "resource_name": name, "resource_pattern_type": PatternType.LITERAL,
         "principal": f"User:{user}", "host": "*", "operation": op, "permission_type": Permission.ALLOW}
        for op in operations]})
    assert [r["error_code"] for r in answer["results"]] == [0] * len(operations)


def codes(response: dict, topics_key: str = "topics", partitions_key: str = "partitions",
          code_key: str = "error_code") -> dict:
    """{(topic, partition): error code} of a response of topics and their partitions."""
    return {(t["name"], p["partition_index"]): p[code_key] for t in response[topics_key] for p in t[partitions_key]}


# -- DeleteRecords, and the legacy versions of Produce, Fetch and ListOffsets ----------------------

def test_delete_records_needs_delete_on_the_topic(admin, login, topic):
    create_topic(admin, topic)
    assert produce(admin, topic, batch(b"a", b"b", b"c"))["error_code"] == 0
    allow(admin, R.TOPIC, topic, Op.DELETE)

    def delete(client, name: str, offset: int) -> list[dict]:
        return client.request(DELETE_RECORDS, 2, {"topics": [{"name": name, "partitions": [
            {"partition_index": 0, "offset": offset}]}], "timeout_ms": 5000})["topics"][0]["partitions"]

    assert delete(login("bob"), topic, 2) == [{"partition_index": 0, "low_watermark": -1,
                                               "error_code": E.TOPIC_AUTHORIZATION_FAILED}]
    alice = login("alice")
    assert delete(alice, topic, 2) == [{"partition_index": 0, "low_watermark": 2, "error_code": 0}]
    # checked before the topic is looked up: an unknown topic is no answer to one the client may not see
    assert delete(alice, topic + "-absent", 0)[0]["error_code"] == E.TOPIC_AUTHORIZATION_FAILED


def test_produce_v0_to_v2_needs_write_and_create_as_v3_does(admin, login, topic):
    create_topic(admin, topic)
    allow(admin, R.TOPIC, topic, Op.WRITE)
    for version in (0, 1, 2):
        body = produce_body(topic, {0: message_set(min(version, 1), b"v")})
        [bob] = login("bob").request(PRODUCE, version, body)["responses"][0]["partition_responses"]
        assert (bob["error_code"], bob["base_offset"]) == (E.TOPIC_AUTHORIZATION_FAILED, -1)
        [alice] = login("alice").request(PRODUCE, version, body)["responses"][0]["partition_responses"]
        assert (alice["error_code"], alice["base_offset"]) == (0, version)
    # auto-creation needs CREATE too: without it, the topic stays unknown and is not made
    allow(admin, R.TOPIC, topic + "-new", Op.WRITE)
    body = produce_body(topic + "-new", {0: message_set(1, b"v")})
    [answer] = login("alice").request(PRODUCE, 2, body)["responses"][0]["partition_responses"]
    assert answer["error_code"] == E.UNKNOWN_TOPIC_OR_PARTITION
    allow(admin, R.TOPIC, topic + "-new", Op.CREATE)
    [answer] = login("alice").request(PRODUCE, 2, body)["responses"][0]["partition_responses"]
    assert (answer["error_code"], answer["base_offset"]) == (0, 0)


@pytest.mark.parametrize("version", [0, 3, 12])
def test_fetch_needs_read_at_every_version(admin, login, topic, version):
    create_topic(admin, topic)
    assert produce(admin, topic, batch(b"x"))["error_code"] == 0
    allow(admin, R.TOPIC, topic, Op.READ)
    [bob] = login("bob").request(FETCH, version, fetch_body(topic, {0: 0}))["responses"][0]["partitions"]
    assert (bob["error_code"], bob["records"] or b"") == (E.TOPIC_AUTHORIZATION_FAILED, b"")
    [alice] = login("alice").request(FETCH, version, fetch_body(topic, {0: 0}))["responses"][0]["partitions"]
    assert alice["error_code"] == 0 and alice["high_watermark"] == 1 and alice["records"]


def test_a_follower_fetch_needs_cluster_action_instead_of_read(admin, login, topic):
    create_topic(admin, topic)
    assert produce(admin, topic, batch(b"x"))["error_code"] == 0
    allow(admin, R.TOPIC, topic, Op.READ)
    follower = {**fetch_body(topic, {0: 0}), "replica_id": 1}
    [refused] = login("alice").request(FETCH, 4, follower)["responses"][0]["partitions"]
    assert refused["error_code"] == E.TOPIC_AUTHORIZATION_FAILED
    allow(admin, R.CLUSTER, "kafka-cluster", Op.CLUSTER_ACTION, user="bob")
    [served] = login("bob").request(FETCH, 4, follower)["responses"][0]["partitions"]
    assert served["error_code"] == 0 and served["records"]


def test_list_offsets_v0_needs_describe(admin, login, topic):
    create_topic(admin, topic)
    assert produce(admin, topic, batch(b"x", b"y"))["error_code"] == 0
    allow(admin, R.TOPIC, topic, Op.DESCRIBE)
    body = {"replica_id": -1, "topics": [{"name": topic, "partitions": [
        {"partition_index": 0, "timestamp": -1, "max_num_offsets": 1}]}]}
    [bob] = login("bob").request(LIST_OFFSETS, 0, body)["topics"][0]["partitions"]
    assert (bob["error_code"], bob["old_style_offsets"]) == (E.TOPIC_AUTHORIZATION_FAILED, [])
    [alice] = login("alice").request(LIST_OFFSETS, 0, body)["topics"][0]["partitions"]
    assert (alice["error_code"], alice["old_style_offsets"]) == (0, [2])


# -- transactions ----------------------------------------------------------------------------------

def txn_commit(client, txn: Txn, group: str, offsets: dict[str, int]) -> dict:
    """TxnOffsetCommit v3 of partition 0 of each topic: {(topic, 0): error code}."""
    return codes(client.request(TXN_OFFSET_COMMIT, 3, {
        "transactional_id": txn.transactional_id, "group_id": group, "producer_id": txn.producer_id,
        "producer_epoch": txn.epoch, "generation_id": -1, "member_id": "", "group_instance_id": None,
        "topics": [{"name": t, "partitions": [{"partition_index": 0, "committed_offset": o,
                                               "committed_leader_epoch": -1, "committed_metadata": ""}]}
                   for t, o in offsets.items()]}))


def add_offsets(client, txn: Txn, group: str) -> int:
    return client.request(ADD_OFFSETS_TO_TXN, 3, {"transactional_id": txn.transactional_id,
                                                  "producer_id": txn.producer_id, "producer_epoch": txn.epoch,
                                                  "group_id": group})["error_code"]


def test_transaction_apis_need_write_on_the_transactional_id_and_the_rest(admin, login, topic):
    txn_id, group, other = f"tx-{topic}", f"g-{topic}", f"{topic}-other"
    create_topic(admin, topic)
    create_topic(admin, other)
    allow(admin, R.TRANSACTIONAL_ID, txn_id, Op.WRITE)
    allow(admin, R.TOPIC, topic, Op.WRITE, Op.READ)
    allow(admin, R.GROUP, group, Op.READ)
    alice = login("alice")
    txn = Txn(alice, txn_id)
    bob = login("bob")
    # bob, with alice's producer id and epoch, may not touch her transaction
    refused = add_partitions(bob, txn_id, txn.producer_id, txn.epoch, {topic: [0]})
    assert codes(refused, "results_by_topic_v3_and_below", "results_by_partition", "partition_error_code") == {
        (topic, 0): E.TRANSACTIONAL_ID_AUTHORIZATION_FAILED}
    assert add_offsets(bob, txn, group) == E.TRANSACTIONAL_ID_AUTHORIZATION_FAILED
    assert txn_commit(bob, txn, group, {topic: 1}) == {(topic, 0): E.TRANSACTIONAL_ID_AUTHORIZATION_FAILED}
    assert end_txn(bob, txn_id, txn.producer_id, txn.epoch, True) == E.TRANSACTIONAL_ID_AUTHORIZATION_FAILED
    # alice: a topic she may not write fails the whole AddPartitionsToTxn
    answer = add_partitions(alice, txn_id, txn.producer_id, txn.epoch, {topic: [0], other: [0]})
    assert codes(answer, "results_by_topic_v3_and_below", "results_by_partition", "partition_error_code") == {
        (topic, 0): E.OPERATION_NOT_ATTEMPTED, (other, 0): E.TOPIC_AUTHORIZATION_FAILED}
    assert txn.add(topic, 0) == [(0, 0)]
    assert txn.produce(topic, 0, b"in")["error_code"] == 0
    assert add_offsets(alice, txn, group + "-other") == E.GROUP_AUTHORIZATION_FAILED
    assert add_offsets(alice, txn, group) == 0
    # TxnOffsetCommit: READ on each topic, the others committed
    assert txn_commit(alice, txn, group, {topic: 1, other: 1}) == {(topic, 0): 0,
                                                                   (other, 0): E.TOPIC_AUTHORIZATION_FAILED}
    assert txn.end(True) == 0


def test_add_partitions_to_txn_from_brokers_and_write_txn_markers_need_cluster_rights(admin, login, topic):
    txn_id = f"tx-{topic}"
    create_topic(admin, topic)
    allow(admin, R.TRANSACTIONAL_ID, txn_id, Op.WRITE)
    allow(admin, R.TOPIC, topic, Op.WRITE)
    alice = login("alice")
    txn = Txn(alice, txn_id)
    assert txn.add(topic, 0) == [(0, 0)]
    verify = {"transactions": [{"transactional_id": txn_id, "producer_id": txn.producer_id,
                                "producer_epoch": txn.epoch, "verify_only": True,
                                "topics": [{"name": topic, "partitions": [0]}]}]}
    refused = alice.request(ADD_PARTITIONS_TO_TXN, 4, verify)
    assert (refused["error_code"], refused["results_by_transaction"]) == (E.CLUSTER_AUTHORIZATION_FAILED, [])
    [checked] = admin.request(ADD_PARTITIONS_TO_TXN, 4, verify)["results_by_transaction"]
    assert checked["topic_results"][0]["results_by_partition"][0]["partition_error_code"] == 0
    markers = {"markers": [{"producer_id": txn.producer_id, "producer_epoch": txn.epoch, "transaction_result": False,
                            "coordinator_epoch": 0, "topics": [{"name": topic, "partition_indexes": [0]}]}]}
    refused = alice.request(WRITE_TXN_MARKERS, 1, markers)["markers"][0]["topics"][0]["partitions"]
    assert refused == [{"partition_index": 0, "error_code": E.CLUSTER_AUTHORIZATION_FAILED}]
    allow(admin, R.CLUSTER, "kafka-cluster", Op.ALTER, user="bob")   # ALTER does, as CLUSTER_ACTION would
    written = login("bob").request(WRITE_TXN_MARKERS, 1, markers)["markers"][0]["topics"][0]["partitions"]
    assert written == [{"partition_index": 0, "error_code": 0}]


def test_describe_and_list_transactions_and_describe_producers(admin, login, topic):
    txn_id = f"tx-{topic}"
    create_topic(admin, topic)
    allow(admin, R.TRANSACTIONAL_ID, txn_id, Op.WRITE)
    allow(admin, R.TOPIC, topic, Op.WRITE, Op.READ)
    alice, bob = login("alice"), login("bob")
    txn = Txn(alice, txn_id)
    assert txn.add(topic, 0) == [(0, 0)]
    assert txn.produce(topic, 0, b"in")["error_code"] == 0

    def described(client) -> dict:
        [state] = client.request(DESCRIBE_TRANSACTIONS, 0, {"transactional_ids": [txn_id]})["transaction_states"]
        return state

    def listed(client) -> list[str]:
        answer = client.request(LIST_TRANSACTIONS, 1, {"state_filters": [], "producer_id_filters": [txn.producer_id],
                                                       "duration_filter": -1})
        return [s["transactional_id"] for s in answer["transaction_states"]]

    assert described(bob) == {"error_code": E.TRANSACTIONAL_ID_AUTHORIZATION_FAILED, "transactional_id": txn_id,
                              "transaction_state": "", "transaction_timeout_ms": 0, "transaction_start_time_ms": 0,
                              "producer_id": 0, "producer_epoch": 0, "topics": []}
    assert listed(bob) == [] and listed(alice) == [txn_id]
    state = described(alice)
    assert (state["error_code"], state["transaction_state"], state["topics"]) == (
        0, "Ongoing", [{"topic": topic, "partitions": [0]}])
    # DESCRIBE on the id, not on the topic: the topic's partitions are left out
    allow(admin, R.TRANSACTIONAL_ID, txn_id, Op.DESCRIBE, user="bob")
    state = described(bob)
    assert (state["error_code"], state["producer_id"], state["topics"]) == (0, txn.producer_id, [])
    assert listed(bob) == [txn_id]
    # DescribeProducers: READ on the topic
    body = {"topics": [{"name": topic, "partition_indexes": [0]}]}
    [refused] = bob.request(DESCRIBE_PRODUCERS, 0, body)["topics"][0]["partitions"]
    assert (refused["error_code"], refused["error_message"], refused["active_producers"]) == (
        E.TOPIC_AUTHORIZATION_FAILED, "Topic authorization failed.", [])
    [part] = alice.request(DESCRIBE_PRODUCERS, 0, body)["topics"][0]["partitions"]
    assert part["error_code"] == 0 and [p["producer_id"] for p in part["active_producers"]] == [txn.producer_id]
    # a name no topic can have is answered so before any ACL is asked; an unknown topic after
    odd = bob.request(DESCRIBE_PRODUCERS, 0, {"topics": [{"name": "a b", "partition_indexes": [0]}]})
    assert [(p["error_code"], p["error_message"]) for p in odd["topics"][0]["partitions"]] == [
        (E.INVALID_TOPIC_EXCEPTION, "Topic name is invalid: 'a b' contains one or more characters other than "
                                    "ASCII alphanumerics, '.', '_' and '-'")]
    allow(admin, R.TOPIC, topic + "-absent", Op.READ)
    absent = alice.request(DESCRIBE_PRODUCERS, 0, {"topics": [{"name": topic + "-absent", "partition_indexes": [0]}]})
    assert [(p["error_code"], p["error_message"]) for p in absent["topics"][0]["partitions"]] == [
        (E.UNKNOWN_TOPIC_OR_PARTITION, "This server does not host this topic-partition.")]
    assert txn.end(False) == 0


# -- client quotas ------------------------------------------------------------------------------------

def test_client_quotas_need_describe_configs_and_alter_configs_on_the_cluster(admin, login, topic):
    from kproto.messages import ALTER_CLIENT_QUOTAS, DESCRIBE_CLIENT_QUOTAS
    bob = login("bob")
    describe = {"components": [{"entity_type": "client-id", "match_type": 0, "match": topic}], "strict": False}
    alter = {"entries": [{"entity": [{"entity_type": "client-id", "entity_name": topic}],
                          "ops": [{"key": "request_percentage", "value": 50.0, "remove": False}]}],
             "validate_only": False}
    refused = bob.request(DESCRIBE_CLIENT_QUOTAS, 1, describe)
    assert (refused["error_code"], refused["entries"]) == (E.CLUSTER_AUTHORIZATION_FAILED, None)
    assert [e["error_code"] for e in bob.request(ALTER_CLIENT_QUOTAS, 1, alter)["entries"]] == [
        E.CLUSTER_AUTHORIZATION_FAILED]
    assert [e["error_code"] for e in admin.request(ALTER_CLIENT_QUOTAS, 1, alter)["entries"]] == [E.NONE]
    assert [v["value"] for v in admin.request(DESCRIBE_CLIENT_QUOTAS, 1, describe)["entries"][0]["values"]] == [50.0]


# -- KIP-848 and share groups ----------------------------------------------------------------------

def test_consumer_group_heartbeat_and_describe(admin, login, topic):
    group, hidden = f"cg-{topic}", f"{topic}-hidden"
    create_topic(admin, topic)
    create_topic(admin, hidden)
    allow(admin, R.GROUP, group, Op.READ)
    allow(admin, R.TOPIC, topic, Op.DESCRIBE)
    alice, bob = login("alice"), login("bob")
    assert cg_beat(bob, group, "m1", 0, [topic])["error_code"] == E.GROUP_AUTHORIZATION_FAILED
    refused = cg_beat(alice, group, "m1", 0, [topic, hidden])
    assert (refused["error_code"], refused["member_id"], refused["member_epoch"]) == (
        E.TOPIC_AUTHORIZATION_FAILED, None, 0)
    assert cg_beat(alice, group, "m1", 0, [topic])["member_epoch"] == 1

    def described(client) -> dict:
        [answer] = client.request(CONSUMER_GROUP_DESCRIBE, 1, {"group_ids": [group],
                                                               "include_authorized_operations": False})["groups"]
        return answer

    assert described(bob)["error_code"] == E.GROUP_AUTHORIZATION_FAILED
    assert described(alice)["members"][0]["assignment"]["topic_partitions"][0]["topic_name"] == topic
    allow(admin, R.GROUP, group, Op.DESCRIBE, user="bob")   # the group, not its topic
    hidden_from_bob = described(bob)
    assert (hidden_from_bob["error_code"], hidden_from_bob["error_message"], hidden_from_bob["members"]) == (
        E.TOPIC_AUTHORIZATION_FAILED,
        "The group has described topic(s) that the client is not authorized to describe.", [])


def test_a_regex_subscription_resolves_only_to_topics_the_member_may_describe(admin, login, topic):
    """Kafka 4 filters what a KIP-848 regex resolves to by the heartbeating client's DESCRIBE
    rights: the hidden topic is neither assigned nor described, until alice may see it."""
    group, seen, hidden = f"cg-{topic}", f"{topic}-seen", f"{topic}-hidden"
    topic_id = create_topic(admin, seen)
    hidden_id = create_topic(admin, hidden)
    allow(admin, R.GROUP, group, Op.READ, Op.DESCRIBE)
    allow(admin, R.TOPIC, seen, Op.DESCRIBE)
    alice = login("alice")
    joined = cg_beat(alice, group, "m1", 0, regex=f"{topic}-.*")
    assert joined["error_code"] == E.NONE
    assert joined["assignment"] == {"topic_partitions": [{"topic_id": topic_id, "partitions": [0]}]}
    [described] = alice.request(CONSUMER_GROUP_DESCRIBE, 1, {"group_ids": [group],
                                                            "include_authorized_operations": False})["groups"]
    assert described["error_code"] == E.NONE
    assert [t["topic_name"] for t in described["members"][0]["target_assignment"]["topic_partitions"]] == [seen]
    allow(admin, R.TOPIC, hidden, Op.DESCRIBE)   # now she may see it: the next heartbeat resolves it too
    beat = cg_beat(alice, group, "m1", 1, owned=[{"topic_id": topic_id, "partitions": [0]}])
    assigned = beat["assignment"] or cg_beat(alice, group, "m1", beat["member_epoch"],
                                             owned=[{"topic_id": topic_id, "partitions": [0]}])["assignment"]
    assert sorted(t["topic_id"] for t in assigned["topic_partitions"]) == sorted([topic_id, hidden_id])


def share_fetch(client, group: str, member: str, epoch: int, topic_ids: list[bytes], acks=None) -> dict:
    """ShareFetch v1 of partition 0 of each topic; {topic id: (error, acknowledge error, records)} or the
    top-level error code."""
    answer = client.request(SHARE_FETCH, 1, {
        "group_id": group, "member_id": member, "share_session_epoch": epoch, "max_wait_ms": 0, "min_bytes": 1,
        "max_bytes": 1 << 20, "max_records": 500, "batch_size": 500, "share_acquire_mode": 0, "is_renew_ack": False,
        "topics": [{"topic_id": t, "partitions": [{"partition_index": 0, "acknowledgement_batches": acks or []}]}
                   for t in topic_ids], "forgotten_topics_data": []})
    if answer["error_code"]:
        return answer["error_code"]
    return {t["topic_id"]: (p["error_code"], p["acknowledge_error_code"], bool(p["records"]))
            for t in answer["responses"] for p in t["partitions"]}


def test_share_group_apis(admin, login, topic):
    group, hidden = f"sg-{topic}", f"{topic}-hidden"
    topic_id, hidden_id = create_topic(admin, topic), create_topic(admin, hidden)
    for name in (topic, hidden):
        assert produce(admin, name, batch(b"r"))["error_code"] == 0
    allow(admin, R.GROUP, group, Op.READ, Op.DELETE)
    allow(admin, R.TOPIC, topic, Op.READ)
    alice, bob = login("alice"), login("bob")
    # ShareGroupHeartbeat: READ on the group, DESCRIBE on what it subscribes to
    assert sg_beat(bob, group, "m1", 0, [topic])["error_code"] == E.GROUP_AUTHORIZATION_FAILED
    refused = sg_beat(alice, group, "m1", 0, [topic, hidden])
    assert (refused["error_code"], refused["member_epoch"]) == (E.TOPIC_AUTHORIZATION_FAILED, 0)
    assert sg_beat(alice, group, "m1", 0, [topic])["member_epoch"] == 1
    # ShareFetch and ShareAcknowledge: READ on the group, then on each topic
    assert share_fetch(bob, group, "m1", 0, [topic_id]) == E.GROUP_AUTHORIZATION_FAILED
    assert share_fetch(alice, group, "m1", 0, [topic_id, hidden_id]) == {
        topic_id: (0, 0, False), hidden_id: (E.TOPIC_AUTHORIZATION_FAILED, 0, False)}   # starts at the end
    assert produce(admin, topic, batch(b"s"))["error_code"] == 0
    accept = [{"first_offset": 1, "last_offset": 1, "acknowledge_types": [1]}]
    assert share_fetch(alice, group, "m1", 1, [hidden_id], acks=accept) == {
        hidden_id: (E.TOPIC_AUTHORIZATION_FAILED, E.TOPIC_AUTHORIZATION_FAILED, False),
        topic_id: (0, 0, True)}
    ack = {"group_id": group, "member_id": "m1", "share_session_epoch": 2, "is_renew_ack": False, "topics": [
        {"topic_id": t, "partitions": [{"partition_index": 0, "acknowledgement_batches": accept}]}
        for t in (topic_id, hidden_id)]}
    assert bob.request(SHARE_ACKNOWLEDGE, 1, ack)["error_code"] == E.GROUP_AUTHORIZATION_FAILED
    answer = alice.request(SHARE_ACKNOWLEDGE, 1, ack)
    assert {t["topic_id"]: t["partitions"][0]["error_code"] for t in answer["responses"]} == {
        topic_id: 0, hidden_id: E.TOPIC_AUTHORIZATION_FAILED}
    # ShareGroupDescribe: DESCRIBE on the group, and on the topics assigned
    describe = {"group_ids": [group], "include_authorized_operations": False}
    assert bob.request(SHARE_GROUP_DESCRIBE, 1, describe)["groups"][0]["error_code"] == E.GROUP_AUTHORIZATION_FAILED
    assert alice.request(SHARE_GROUP_DESCRIBE, 1, describe)["groups"][0]["members"][0]["member_id"] == "m1"
    allow(admin, R.GROUP, group, Op.DESCRIBE, user="bob")
    [hidden_group] = bob.request(SHARE_GROUP_DESCRIBE, 1, describe)["groups"]
    assert (hidden_group["error_code"], hidden_group["members"]) == (E.TOPIC_AUTHORIZATION_FAILED, [])
    assert sg_beat(alice, group, "m1", -1)["error_code"] == 0   # leaves: the offsets may be altered
    # DescribeShareGroupOffsets: DESCRIBE on the group, and on each topic
    named = {"groups": [{"group_id": group, "topics": [{"topic_name": topic, "partitions": [0]}]}]}
    every = {"groups": [{"group_id": group, "topics": None}]}
    [mine] = alice.request(DESCRIBE_SHARE_GROUP_OFFSETS, 1, named)["groups"]
    assert [(t["topic_name"], p["start_offset"]) for t in mine["topics"] for p in t["partitions"]] == [(topic, 2)]
    [not_bobs] = bob.request(DESCRIBE_SHARE_GROUP_OFFSETS, 1, named)["groups"]
    assert not_bobs["topics"] == [{"topic_name": topic, "topic_id": bytes(16), "partitions": [{
        "partition_index": 0, "start_offset": -1, "leader_epoch": 0, "lag": -1,
        "error_code": E.TOPIC_AUTHORIZATION_FAILED, "error_message": "Topic authorization failed."}]}]
    assert bob.request(DESCRIBE_SHARE_GROUP_OFFSETS, 1, every)["groups"][0]["topics"] == []
    other_group = {"groups": [{"group_id": group + "-other", "topics": None}]}
    assert alice.request(DESCRIBE_SHARE_GROUP_OFFSETS, 1, other_group)["groups"][0]["error_code"] == \
        E.GROUP_AUTHORIZATION_FAILED
    # AlterShareGroupOffsets: READ on the group and each topic; DeleteShareGroupOffsets: DELETE on the group
    alter = {"group_id": group, "topics": [{"topic_name": t, "partitions": [{"partition_index": 0, "start_offset": 0}]}
                                           for t in (topic, hidden)]}
    refused = bob.request(ALTER_SHARE_GROUP_OFFSETS, 0, alter)
    assert (refused["error_code"], refused["error_message"], refused["responses"]) == (
        E.GROUP_AUTHORIZATION_FAILED, "Group authorization failed.", [])
    altered = alice.request(ALTER_SHARE_GROUP_OFFSETS, 0, alter)
    assert altered["error_code"] == 0
    assert {(t["topic_name"], t["topic_id"]): [(p["error_code"], p["error_message"]) for p in t["partitions"]]
            for t in altered["responses"]} == {(topic, topic_id): [(0, None)], (hidden, hidden_id): [
                (E.TOPIC_AUTHORIZATION_FAILED, "Topic authorization failed.")]}
    delete = {"group_id": group, "topics": [{"topic_name": topic}, {"topic_name": hidden}]}
    refused = bob.request(DELETE_SHARE_GROUP_OFFSETS, 0, delete)
    assert (refused["error_code"], refused["error_message"]) == (E.GROUP_AUTHORIZATION_FAILED,
                                                                 "Group authorization failed.")
    deleted = alice.request(DELETE_SHARE_GROUP_OFFSETS, 0, delete)
    assert (deleted["error_code"], {t["topic_name"]: t["error_code"] for t in deleted["responses"]}) == (
        0, {topic: 0, hidden: E.TOPIC_AUTHORIZATION_FAILED})
