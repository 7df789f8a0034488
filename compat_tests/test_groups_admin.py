"""Group administration through confluent-kafka's and kafka-python's admin clients, against a
live group whose members run in processes of their own: list, describe, list / alter / delete
offsets, delete the group (refused while members remain)."""

from __future__ import annotations

import time

import pytest

from compat_tests.clients import Out, create_topic, produce
from compat_tests.group_clients import GroupMember, committed_offsets, wait_settled, wait_until

SESSION_MS = 6000


def setup_group(client, bootstrap, topic, group, tmp_path, assignor=None) -> list[GroupMember]:
    """Two partitions of 10 records each; two members, one partition each, that consumed and
    committed everything."""
    create_topic("confluent", bootstrap, topic, 2)
    deliveries = produce("confluent", bootstrap, topic,
                         [Out(None, f"v{i}".encode(), partition=i % 2) for i in range(20)])
    assert [d.error for d in deliveries] == [None] * 20
    members = [GroupMember(client, bootstrap, topic, group, name=f"{client}-m{i}", client_id=f"{client}-m{i}",
                           log_dir=tmp_path, assignor=assignor, session_ms=SESSION_MS, heartbeat_ms=500,
                           commit="manual") for i in (1, 2)]
    try:
        wait_settled(members, 2, [1, 1])
        wait_until(lambda: {p: o for m in members for p, o in m.commits().items()} == {0: 10, 1: 10}, 30,
                   lambda: f"commits {[m.commits() for m in members]}")
    except BaseException:
        for m in members:
            m.close()
        raise
    return members


def stop_all(members: list[GroupMember]) -> None:
    for m in members:
        m.terminate()
    for m in members:
        assert m.wait_exit(20) == 0, m.snapshot()[-3:]


def new_member_reads(client, bootstrap, topic, group, tmp_path, count) -> list[tuple]:
    """Records a new member of the group consumes (it starts at the committed offsets)."""
    m = GroupMember(client, bootstrap, topic, group, name=f"{client}-late", log_dir=tmp_path, session_ms=SESSION_MS,
                    heartbeat_ms=500, commit="none", reset="earliest")
    try:
        wait_until(lambda: len(m.records()) >= count, 30, lambda: f"got {m.records()}")
        time.sleep(0.5)
        return sorted(r[:2] for r in m.records())
    finally:
        m.close()


def test_confluent_admin(bootstrap, topic_name, tmp_path):
    from confluent_kafka import ConsumerGroupState, ConsumerGroupTopicPartitions, KafkaError, KafkaException, \
        TopicPartition
    from confluent_kafka.admin import AdminClient

    admin = AdminClient({"bootstrap.servers": bootstrap})
    group = f"g-{topic_name}"
    members = setup_group("confluent", bootstrap, topic_name, group, tmp_path, assignor="range")
    try:
        def listed():
            result = admin.list_consumer_groups(request_timeout=10).result()
            assert result.errors == []
            return {g.group_id: (g.state, g.is_simple_consumer_group) for g in result.valid}

        assert listed()[group] == (ConsumerGroupState.STABLE, False)

        described = admin.describe_consumer_groups([group], request_timeout=10)[group].result()
        assert (described.group_id, described.state, described.partition_assignor,
                described.is_simple_consumer_group) == (group, ConsumerGroupState.STABLE, "range", False)
        port = int(bootstrap.rsplit(":", 1)[1])
        assert (described.coordinator.id, described.coordinator.host, described.coordinator.port) == (
            1, "127.0.0.1", port)
        assert sorted((m.client_id, m.host, m.group_instance_id) for m in described.members) == [
            ("confluent-m1", "/127.0.0.1", None), ("confluent-m2", "/127.0.0.1", None)]
        for m in described.members:
            assert m.member_id.startswith(m.client_id + "-")
        assert {m.client_id: {(tp.topic, tp.partition) for tp in m.assignment.topic_partitions}
                for m in described.members} == {
            member.name: {(topic_name, p) for p in member.assignment} for member in members}

        offsets = admin.list_consumer_group_offsets([ConsumerGroupTopicPartitions(group)],
                                                    request_timeout=10)[group].result()
        assert sorted((tp.topic, tp.partition, tp.offset, tp.error) for tp in offsets.topic_partitions) == [
            (topic_name, 0, 10, None), (topic_name, 1, 10, None)]

        # members remain: offsets cannot be altered (Kafka: UNKNOWN_MEMBER_ID), the group not deleted
        altered = admin.alter_consumer_group_offsets(
            [ConsumerGroupTopicPartitions(group, [TopicPartition(topic_name, 0, 3)])], request_timeout=10)[group]
        assert [tp.error.code() for tp in altered.result().topic_partitions] == [KafkaError.UNKNOWN_MEMBER_ID]
        with pytest.raises(KafkaException) as refused:
            admin.delete_consumer_groups([group], request_timeout=10)[group].result()
        assert refused.value.args[0].code() == KafkaError.NON_EMPTY_GROUP

        stop_all(members)
        assert listed()[group] == (ConsumerGroupState.EMPTY, False)
        described = admin.describe_consumer_groups([group], request_timeout=10)[group].result()
        assert (described.state, described.members) == (ConsumerGroupState.EMPTY, [])

        # an empty group: alter, and a new member starts there
        altered = admin.alter_consumer_group_offsets(
            [ConsumerGroupTopicPartitions(group, [TopicPartition(topic_name, 0, 3), TopicPartition(topic_name, 1, 5)])],
            request_timeout=10)[group].result()
        assert sorted((tp.partition, tp.offset, tp.error) for tp in altered.topic_partitions) == [
            (0, 3, None), (1, 5, None)]
        assert committed_offsets(bootstrap, group, topic_name, 2) == {
            (topic_name, 0): (3, ""), (topic_name, 1): (5, "")}
        assert new_member_reads("confluent", bootstrap, topic_name, group, tmp_path, 12) == \
            [(0, o) for o in range(3, 10)] + [(1, o) for o in range(5, 10)]

        # delete the (empty again) group: gone from the list, its offsets too
        wait_until(lambda: listed()[group][0] == ConsumerGroupState.EMPTY, 10, "group not empty")
        assert admin.delete_consumer_groups([group], request_timeout=10)[group].result() is None
        assert group not in listed()
        assert committed_offsets(bootstrap, group, topic_name, 2) == {
            (topic_name, 0): (-1, ""), (topic_name, 1): (-1, "")}
        described = admin.describe_consumer_groups([group], request_timeout=10)[group].result()
        assert described.state == ConsumerGroupState.DEAD
    finally:
        for m in members:
            m.close()


def test_kafka_python_admin(bootstrap, topic_name, tmp_path):
    from kafka import TopicPartition
    from kafka.admin import KafkaAdminClient
    from kafka.errors import GroupSubscribedToTopicError, NoError, UnknownMemberIdError
    from kafka.structs import OffsetAndMetadata

    admin = KafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=10000)
    group = f"g-{topic_name}"
    tp0, tp1 = TopicPartition(topic_name, 0), TopicPartition(topic_name, 1)
    members = setup_group("kafka-python", bootstrap, topic_name, group, tmp_path, assignor="roundrobin")
    try:
        def listed(**filters):
            return {g["group_id"]: (g["protocol_type"], g["group_state"]) for g in admin.list_groups(**filters)}

        assert listed()[group] == ("consumer", "Stable")
        assert group in listed(states_filter=["Stable"]) and group not in listed(states_filter=["Empty"])

        described = admin.describe_groups([group])[group]
        assert (described["group_state"], described["protocol_type"], described["protocol_data"],
                described["error"]) == ("Stable", "consumer", "roundrobin", None)
        assert sorted((m["client_id"], m["client_host"], m["group_instance_id"]) for m in described["members"]) == [
            ("kafka-python-m1", "/127.0.0.1", None), ("kafka-python-m2", "/127.0.0.1", None)]
        assert {m["client_id"]: {p for a in m["member_assignment"]["assigned_partitions"] for p in a["partitions"]}
                for m in described["members"]} == {member.name: member.assignment for member in members}
        assert all(m["member_metadata"]["topics"] == [topic_name] for m in described["members"])

        assert admin.list_group_offsets({group: None})[group] == {
            tp0: OffsetAndMetadata(10, "", -1), tp1: OffsetAndMetadata(10, "", -1)}

        # members remain: no alter, no offset deletion of a subscribed topic, no group deletion
        assert admin.alter_group_offsets(group, {tp0: OffsetAndMetadata(3, "", -1)}) == {tp0: UnknownMemberIdError}
        assert admin.delete_group_offsets(group, [tp0]) == {tp0: GroupSubscribedToTopicError}
        assert admin.delete_groups([group]) == {group: "NonEmptyGroupError"}

        stop_all(members)
        assert listed()[group] == ("consumer", "Empty")

        # an empty group: alter offsets, delete one (OffsetDelete), a new member starts there
        assert admin.alter_group_offsets(group, {tp0: OffsetAndMetadata(3, "m0", -1),
                                                 tp1: OffsetAndMetadata(5, "m1", -1)}) == {tp0: NoError, tp1: NoError}
        assert admin.list_group_offsets({group: None})[group] == {
            tp0: OffsetAndMetadata(3, "m0", -1), tp1: OffsetAndMetadata(5, "m1", -1)}
        assert admin.delete_group_offsets(group, [tp1]) == {tp1: NoError}
        assert admin.list_group_offsets({group: None})[group] == {tp0: OffsetAndMetadata(3, "m0", -1)}
        assert committed_offsets(bootstrap, group, topic_name, 2) == {
            (topic_name, 0): (3, "m0"), (topic_name, 1): (-1, "")}
        # partition 1 has no commit any more: auto.offset.reset (earliest) applies
        assert new_member_reads("kafka-python", bootstrap, topic_name, group, tmp_path, 17) == \
            [(0, o) for o in range(3, 10)] + [(1, o) for o in range(10)]

        wait_until(lambda: listed()[group] == ("consumer", "Empty"), 10, "group not empty")
        assert admin.delete_groups([group]) == {group: "OK"}
        assert group not in listed()
        assert admin.list_group_offsets({group: None})[group] == {}
        assert admin.describe_groups([group])[group]["group_state"] == "Dead"
    finally:
        for m in members:
            m.close()
        admin.close()
