"""Consumer groups across a broker restart: a running member keeps consuming from its committed
offsets, and the group itself is remembered as Kafka remembers it (its GroupMetadata record)."""

from __future__ import annotations

import time
from collections import Counter

import pytest

from broker.testing import RawClient
from compat_tests.clients import CLIENTS, Out, create_topic, produce
from compat_tests.group_clients import GroupMember, committed_offsets, wait_until
from compat_tests.raw_groups import NONE, commit, heartbeat, stable_member
from kproto.messages import LIST_GROUPS

PARTITIONS = 3


def produce_values(bootstrap, topic, prefix, n) -> list[str]:
    vals = [f"{prefix}-{i:04d}" for i in range(n)]
    deliveries = produce("confluent", bootstrap, topic,
                         [Out(None, v.encode(), partition=i % PARTITIONS) for i, v in enumerate(vals)])
    assert [d.error for d in deliveries] == [None] * n
    return vals


@pytest.mark.parametrize("client", CLIENTS)
def test_member_keeps_consuming_across_a_broker_restart(client, own_broker, topic_name, tmp_path):
    """The member reconnects, rejoins and resumes at its committed (durable) offsets: nothing
    produced after the restart is missed, nothing committed before it is read again. (Should a
    client rejoin after the restart, records it read after the restart but before the rejoin
    were not committed and may come again, after the rebalance.)"""
    own_broker.start()
    bootstrap = own_broker.bootstrap
    create_topic("confluent", bootstrap, topic_name, PARTITIONS)
    group = f"g-{topic_name}"
    member = GroupMember(client, bootstrap, topic_name, group, log_dir=tmp_path, session_ms=6000, heartbeat_ms=500,
                         commit="auto", auto_commit_ms=200)
    try:
        before = produce_values(bootstrap, topic_name, "before", 90)
        wait_until(lambda: set(before) <= set(member.values()), 30, "not consumed before the restart")
        wait_until(lambda: committed_offsets(bootstrap, group, topic_name, PARTITIONS) == {
            (topic_name, p): (30, "") for p in range(PARTITIONS)}, 20, "auto commit did not reach the end")
        own_broker.restart()
        restarted_at = time.monotonic()
        after = produce_values(bootstrap, topic_name, "after", 90)
        wait_until(lambda: set(after) <= set(member.values()), 60,
                   lambda: f"after the restart: {len(set(after) & set(member.values()))} of 90 consumed")
        time.sleep(0.3)
        counts = Counter(member.values())
        assert sorted(counts) == sorted(before + after)
        assert {v for v, n in counts.items() if n > 1} <= set(after)
        if any(e["at"] > restarted_at for e in member.rebalance_events()):
            assert max(counts.values()) <= 2
        else:
            assert set(counts.values()) == {1}
        assert member.alive()
    finally:
        member.close()


def test_stable_member_survives_a_broker_restart(own_broker, topic_name):
    """Kafka: a member's heartbeat after the coordinator reloaded the group succeeds (same
    member id, same generation), so a restart costs no rebalance."""
    own_broker.start()
    bootstrap = own_broker.bootstrap
    create_topic("confluent", bootstrap, topic_name, 1)
    group = f"g-{topic_name}"
    with RawClient(bootstrap) as raw:
        member_id, generation = stable_member(raw, group, topic_name, [0], session_ms=30000)
        assert commit(raw, group, {(topic_name, 0): 1}, generation=generation, member_id=member_id) == {
            (topic_name, 0): NONE}
    own_broker.restart()
    with RawClient(bootstrap) as raw:
        assert heartbeat(raw, group, generation, member_id) == NONE


def test_empty_consumer_group_keeps_its_protocol_type_after_a_restart(own_broker, topic_name, tmp_path):
    """Kafka lists a consumer group that became Empty as ("consumer", "Empty") after a restart,
    not as a simple group (protocol type "")."""
    own_broker.start()
    bootstrap = own_broker.bootstrap
    create_topic("confluent", bootstrap, topic_name, PARTITIONS)
    group = f"g-{topic_name}"
    member = GroupMember("confluent", bootstrap, topic_name, group, log_dir=tmp_path, session_ms=6000,
                         commit="manual")
    try:
        produce_values(bootstrap, topic_name, "v", 3)
        wait_until(lambda: member.commits(), 30, "nothing committed")
    finally:
        member.close()

    def listed():
        with RawClient(bootstrap) as raw:
            return {g["group_id"]: (g["protocol_type"], g["group_state"])
                    for g in raw.request(LIST_GROUPS, 4, {"states_filter": []})["groups"]}

    assert listed()[group] == ("consumer", "Empty")
    own_broker.restart()
    assert listed()[group] == ("consumer", "Empty")
