"""Consumer groups with real clients, each member in a process of its own.

One scenario per client (confluent-kafka with the range, roundrobin and cooperative-sticky
assignors, kafka-python, aiokafka): three members share a 6-partition topic, a fourth joins,
one is killed (SIGKILL: the session timeout decides), one closes (LeaveGroup: at once).
What is consumed is checked record by record against what was produced.
"""

from __future__ import annotations

import time
from collections import Counter

import pytest

from broker.testing import BrokerProcess
from compat_tests.clients import Out, create_topic, produce
from compat_tests.group_clients import GroupMember, broker_assignments, describe_group, wait_settled, wait_until

PARTITIONS = 6
SESSION_MS = 5000
HEARTBEAT_MS = 300
SLACK_S = 1.0           # heartbeat interval + scheduling on a loaded 2-core machine
QUIET_S = 1.0           # no assignment change for this long: the group is settled
SETTLE_TIMEOUT_S = 40

CASES = [
    pytest.param("confluent", "range", id="confluent-range"),
    pytest.param("confluent", "roundrobin", id="confluent-roundrobin"),
    pytest.param("confluent", "cooperative-sticky", id="confluent-cooperative-sticky"),
    pytest.param("kafka-python", "range", id="kafka-python"),
    pytest.param("aiokafka", "roundrobin", id="aiokafka"),
]


@pytest.fixture(scope="module")
def group_broker(tmp_path_factory):
    """A broker that accepts short session timeouts."""
    root = tmp_path_factory.mktemp("groups-members")
    process = BrokerProcess(root / "data", log_path=root / "broker.log",
                            overrides={"group.min.session.timeout.ms": "1000"}).start()
    yield process
    assert process.stop() == 0


def values(phase: str, n: int) -> list[str]:
    return [f"{phase}-{i:05d}" for i in range(n)]


def produce_phase(bootstrap: str, topic: str, phase: str, n: int) -> list[str]:
    """``n`` values, round-robin over the partitions (explicitly: each partition gets n/6)."""
    vals = values(phase, n)
    deliveries = produce("confluent", bootstrap, topic,
                         [Out(f"k{i}".encode(), v.encode(), partition=i % PARTITIONS) for i, v in enumerate(vals)])
    assert [d.error for d in deliveries] == [None] * n
    return vals


def settle(members: list[GroupMember], sizes: list[int], bootstrap: str, group: str, topic: str) -> float:
    """Wait until the group settled (see wait_settled); the broker must agree: Stable, same assignments."""
    last = wait_settled(members, PARTITIONS, sizes, quiet_s=QUIET_S, timeout_s=SETTLE_TIMEOUT_S)
    for m in members:
        assert m.alive(), f"{m} exited: {m.snapshot()[-3:]}"
    assert broker_assignments(bootstrap, group, topic) == {m.name: m.assignment for m in members}
    return last


def wait_consumed(members: list[GroupMember], wanted: list[str]) -> None:
    want = set(wanted)

    def done():
        got = set()
        for m in members:
            got.update(m.values())
        return want <= got

    wait_until(done, 60, lambda: f"not all consumed: missing {len(want - {v for m in members for v in m.values()})}"
               f" of {len(want)}; {members}")


def deliveries_of(members: list[GroupMember], phase: str) -> Counter:
    return Counter(r[3] for m in members for r in m.records() if r[3].startswith(phase + "-"))


@pytest.mark.parametrize("client,assignor", CASES)
def test_group_join_kill_close(client, assignor, group_broker, topic_name, tmp_path):
    bootstrap = group_broker.bootstrap
    create_topic("confluent", bootstrap, topic_name, PARTITIONS)
    group = f"g-{topic_name}"
    everyone: list[GroupMember] = []

    def spawn(name: str) -> GroupMember:
        member = GroupMember(client, bootstrap, topic_name, group, name=name, log_dir=tmp_path,
                             client_id=name, assignor=assignor, session_ms=SESSION_MS, heartbeat_ms=HEARTBEAT_MS,
                             max_poll_ms=20000, commit="auto", auto_commit_ms=300, reset="earliest")
        everyone.append(member)
        return member

    # Which member owned each partition in each settled generation, in order.
    owners: list[dict[int, str]] = []

    def snapshot_owners(members):
        owners.append({p: m.name for m in members for p in m.assignment})

    try:
        # -- three members, two partitions each, 6,000 records exactly once -----------------
        a, b, c = spawn("a"), spawn("b"), spawn("c")
        settle([a, b, c], [2, 2, 2], bootstrap, group, topic_name)
        snapshot_owners([a, b, c])
        assert describe_group(bootstrap, group)["protocol_data"] == assignor
        produced = produce_phase(bootstrap, topic_name, "A", 6000)
        wait_consumed([a, b, c], produced)
        time.sleep(0.3)   # a duplicate would show up now
        counts = deliveries_of([a, b, c], "A")
        assert sorted(counts) == produced and set(counts.values()) == {1}, \
            f"duplicates: {[v for v, n in counts.items() if n > 1][:10]}"
        for m in (a, b, c):   # each consumed exactly its own partitions
            assert {r[0] for r in m.records()} == m.assignment, m
            assert len(m.records()) == 2000

        # -- a fourth joins: rebalance, everything produced after it consumed exactly once ---
        d = spawn("d")
        settle([a, b, c, d], [1, 1, 2, 2], bootstrap, group, topic_name)
        snapshot_owners([a, b, c, d])
        b_values = produce_phase(bootstrap, topic_name, "B", 1200)
        produced += b_values
        wait_consumed([a, b, c, d], b_values)
        time.sleep(0.3)
        counts = deliveries_of([a, b, c, d], "B")
        assert sorted(counts) == b_values and set(counts.values()) == {1}
        for m in (a, b, c, d):   # each B record by the member that owns its partition
            assert {r[0] for r in m.records() if r[3].startswith("B-")} == m.assignment, m

        # -- one is killed: its partitions move after the session timeout -------------------
        victim = c
        killed_at = time.monotonic()
        victim.kill()
        survivors = [a, b, d]
        c_values = produce_phase(bootstrap, topic_name, "C", 600)
        produced += c_values
        last = settle(survivors, [2, 2, 2], bootstrap, group, topic_name)
        snapshot_owners(survivors)
        takeover_s = last - killed_at
        print(f"{client}/{assignor}: partitions of the killed member taken over after {takeover_s:.2f} s")
        assert SESSION_MS / 1000 - SLACK_S <= takeover_s <= SESSION_MS / 1000 + 8, takeover_s
        wait_consumed(survivors + [victim], c_values)

        # -- one closes: LeaveGroup, its partitions move at once ------------------------------
        leaver = b
        closed_at = time.monotonic()
        leaver.terminate()
        survivors = [a, d]
        d_values = produce_phase(bootstrap, topic_name, "D", 600)
        produced += d_values
        last = settle(survivors, [3, 3], bootstrap, group, topic_name)
        snapshot_owners(survivors)
        handover_s = last - closed_at
        print(f"{client}/{assignor}: partitions of the closed member handed over after {handover_s:.2f} s")
        assert handover_s < SESSION_MS / 1000 / 2, handover_s
        assert leaver.wait_exit(20) == 0 and leaver.has("closed")
        wait_consumed(survivors + [leaver, victim], d_values)
        time.sleep(0.3)

        # -- nothing missed; redelivery only of partitions that changed hands ----------------
        consumed = Counter(r[3] for m in everyone for r in m.records())
        assert set(produced) <= set(consumed), sorted(set(produced) - set(consumed))[:10]
        assert set(consumed) <= set(produced)
        moved = {p for before, after in zip(owners, owners[1:]) for p in before if before[p] != after.get(p)}
        print(f"{client}/{assignor}: {sum(n - 1 for n in consumed.values())} redeliveries; moved partitions {moved}")
        for value, n in consumed.items():
            if n > 1:
                partition = int(value.split("-")[1]) % PARTITIONS
                assert partition in moved, f"{value} consumed {n} times, partition {partition} never moved"
        for m in everyone:   # never twice by one member within one assignment
            seen = Counter(m.deliveries())
            assert max(seen.values(), default=1) == 1, [x for x, n in seen.items() if n > 1][:5]
        errors = {m.name: m.errors() for m in everyone if m.errors()}
        assert not errors, errors
    finally:
        for m in everyone:
            m.close()


def test_mixed_clients_share_a_group(group_broker, topic_name, tmp_path):
    """confluent-kafka, kafka-python and aiokafka in one group: their subscriptions (different
    ConsumerProtocol versions) meet in the "range" protocol, whoever leads assigns for all."""
    bootstrap = group_broker.bootstrap
    create_topic("confluent", bootstrap, topic_name, PARTITIONS)
    group = f"g-{topic_name}"
    members = [GroupMember(client, bootstrap, topic_name, group, name=client, client_id=client, log_dir=tmp_path,
                           assignor="range", session_ms=SESSION_MS, heartbeat_ms=HEARTBEAT_MS, commit="auto",
                           auto_commit_ms=300)
               for client in ("confluent", "kafka-python", "aiokafka")]
    leaving = None
    try:
        settle(members, [2, 2, 2], bootstrap, group, topic_name)
        assert describe_group(bootstrap, group)["protocol_data"] == "range"
        first = produce_phase(bootstrap, topic_name, "A", 1200)
        wait_consumed(members, first)
        time.sleep(0.3)
        counts = deliveries_of(members, "A")
        assert sorted(counts) == first and set(counts.values()) == {1}
        for m in members:
            assert {r[0] for r in m.records()} == m.assignment

        leaving = members.pop(1)
        leaving.terminate()
        assert leaving.wait_exit(20) == 0
        settle(members, [3, 3], bootstrap, group, topic_name)
        second = produce_phase(bootstrap, topic_name, "B", 600)
        wait_consumed(members, second)
        time.sleep(0.3)
        counts = deliveries_of(members, "B")
        assert sorted(counts) == second and set(counts.values()) == {1}
        errors = {m.name: m.errors() for m in members + [leaving] if m.errors()}
        assert not errors, errors
    finally:
        for m in members + ([leaving] if leaving else []):
            m.close()


def test_replacing_a_killed_member_waits_for_its_session_only(group_broker, topic_name, tmp_path):
    """A member is killed and a new one joins at once: the rebalance the newcomer starts must wait
    for the dead member (it is still in the group) but only until its session expires, not for
    the rebalance timeout (max.poll.interval.ms, 20 s here)."""
    bootstrap = group_broker.bootstrap
    create_topic("confluent", bootstrap, topic_name, PARTITIONS)
    group = f"g-{topic_name}"

    def spawn(name):
        return GroupMember("confluent", bootstrap, topic_name, group, name=name, client_id=name, log_dir=tmp_path,
                           assignor="range", session_ms=SESSION_MS, heartbeat_ms=HEARTBEAT_MS, max_poll_ms=20000,
                           commit="auto", auto_commit_ms=300)

    everyone = [spawn("a"), spawn("b")]
    try:
        settle(everyone, [3, 3], bootstrap, group, topic_name)
        killed_at = time.monotonic()
        everyone[1].kill()
        everyone.append(spawn("c"))
        last = settle([everyone[0], everyone[2]], [3, 3], bootstrap, group, topic_name)
        assert SESSION_MS / 1000 - SLACK_S <= last - killed_at <= SESSION_MS / 1000 + 8, last - killed_at
        produced = produce_phase(bootstrap, topic_name, "A", 600)
        wait_consumed([everyone[0], everyone[2]], produced)
    finally:
        for m in everyone:
            m.close()
