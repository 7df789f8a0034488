"""Static membership (KIP-345, ``group.instance.id``) with confluent-kafka, members in processes
of their own: a static member that restarts within its session timeout gets its partitions
back and the other member sees no rebalance at all; one that stays away is removed after the
session timeout."""

from __future__ import annotations

import time
from collections import Counter

import pytest

from compat_tests.clients import Out, create_topic, produce
from compat_tests.group_clients import GroupMember, describe_group, wait_settled, wait_until

SESSION_MS = 6000
PARTITIONS = 6


def static_member(bootstrap, topic, group, tmp_path, instance) -> GroupMember:
    return GroupMember("confluent", bootstrap, topic, group, name=instance, client_id=instance, instance_id=instance,
                       log_dir=tmp_path, assignor="range", session_ms=SESSION_MS, heartbeat_ms=300, commit="auto",
                       auto_commit_ms=200)


def produce_values(bootstrap, topic, prefix, n) -> list[str]:
    vals = [f"{prefix}-{i:04d}" for i in range(n)]
    deliveries = produce("confluent", bootstrap, topic,
                         [Out(None, v.encode(), partition=i % PARTITIONS) for i, v in enumerate(vals)])
    assert [d.error for d in deliveries] == [None] * n
    return vals


def members_by_instance(bootstrap, group) -> dict[str, str]:
    described = describe_group(bootstrap, group)
    assert described["group_state"] == "Stable", described
    return {m["group_instance_id"]: m["member_id"] for m in described["members"]}


@pytest.mark.parametrize("stop", ["sigterm", "sigkill"])
def test_static_member_restart_causes_no_rebalance(stop, bootstrap, topic_name, tmp_path):
    create_topic("confluent", bootstrap, topic_name, PARTITIONS)
    group = f"g-{topic_name}"
    running = {name: static_member(bootstrap, topic_name, group, tmp_path, name) for name in ("inst-a", "inst-b")}
    everyone = list(running.values())
    produced: list[str] = []
    try:
        wait_settled(everyone, PARTITIONS, [3, 3])
        owned = {name: m.assignment for name, m in running.items()}
        ids = members_by_instance(bootstrap, group)
        assert sorted(ids) == ["inst-a", "inst-b"] and all(ids[i].startswith(i + "-") for i in ids)
        produced += produce_values(bootstrap, topic_name, "first", 300)
        wait_until(lambda: set(produced) <= {v for m in everyone for v in m.values()}, 30, "not consumed")

        # Restart each in turn (one of them is the leader): the other sees nothing.
        for name, other in (("inst-a", "inst-b"), ("inst-b", "inst-a")):
            old, peer = running[name], running[other]
            peer_events = len(peer.rebalance_events())
            stopped_at = time.monotonic()
            if stop == "sigterm":
                old.terminate()   # close(): librdkafka sends no LeaveGroup for a static member
                assert old.wait_exit(20) == 0 and old.has("closed")
            else:
                old.kill()
                old.wait_exit(20)
            # still a member, under its old member id: no LeaveGroup, no rebalance
            assert members_by_instance(bootstrap, group) == ids
            new = running[name] = static_member(bootstrap, topic_name, group, tmp_path, name)
            everyone.append(new)
            wait_until(lambda: new.assignment == owned[name], 20, lambda: f"{new} did not get {owned[name]} back")
            assert time.monotonic() - stopped_at < SESSION_MS / 1000, "restarted too slowly for this test"
            time.sleep(1.5)   # a rebalance would show up by now (heartbeat every 300 ms)
            assert [e["ev"] for e in new.rebalance_events()] == ["assign"], new.rebalance_events()
            assert len(peer.rebalance_events()) == peer_events, peer.rebalance_events()[peer_events:]
            assert peer.assignment == owned[other]
            # the instance kept its place with a new member id; the other member is untouched
            now = members_by_instance(bootstrap, group)
            assert now[other] == ids[other] and now[name] != ids[name] and now[name].startswith(name + "-")
            ids = now
            batch = produce_values(bootstrap, topic_name, f"after-{name}", 120)
            produced += batch
            wait_until(lambda: set(batch) <= set(new.values()) | set(peer.values()), 30, "not consumed")
            assert {int(v.split("-")[-1]) % PARTITIONS for v in new.values() if v in batch} == owned[name]

        time.sleep(0.3)
        consumed = Counter(v for m in everyone for v in m.values())
        assert set(consumed) == set(produced)
        if stop == "sigterm":   # close() committed: nothing redelivered
            assert set(consumed.values()) == {1}, [v for v, n in consumed.items() if n > 1][:10]

        # A static member that does not come back is removed when its session expires.
        leaver, stayer = running["inst-a"], running["inst-b"]
        gone_at = time.monotonic()
        leaver.terminate()
        assert leaver.wait_exit(20) == 0
        last = wait_settled([stayer], PARTITIONS, [PARTITIONS], quiet_s=0.5, timeout_s=SESSION_MS / 1000 + 15)
        assert last - gone_at >= SESSION_MS / 1000 - 1.0, last - gone_at
        assert members_by_instance(bootstrap, group) == {"inst-b": ids["inst-b"]}
    finally:
        for m in everyone:
            m.close()
