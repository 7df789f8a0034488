"""Random request sequences: bookkeeping invariants hold after every call (checked by
the harness), every parked request is answered exactly once, and once all clients go
silent every parked request is answered and every group ends up Empty."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from broker.tests.group_harness import E, Harness, S

PROTOCOL_SETS = [
    (("range", b"r"),),
    (("range", b"r2"),),
    (("roundrobin", b"x"), ("range", b"r")),
    (("roundrobin", b"x"),),
]

operation = st.one_of(
    st.tuples(st.just("join"), st.integers(0, 3), st.sampled_from([None, "i0", "i1"]),
              st.booleans(), st.integers(0, len(PROTOCOL_SETS) - 1)),
    st.tuples(st.just("rejoin"), st.integers(0, 9), st.sampled_from([0, 0, 0, 1, 2])),
    st.tuples(st.just("sync"), st.integers(0, 9), st.booleans()),
    st.tuples(st.just("leader_sync"), st.booleans()),
    st.tuples(st.just("heartbeat"), st.integers(0, 9)),
    st.tuples(st.just("leave"), st.integers(0, 9)),
    st.tuples(st.just("commit"), st.integers(0, 9)),
    st.tuples(st.just("advance"), st.integers(0, 12_000)),
)


@settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(operation, max_size=40), st.sampled_from([0, 3000]),
       st.sampled_from([2, 100]))
def test_random_sequences(operations, initial_delay_ms, max_size):
    h = Harness(group_initial_rebalance_delay_ms=initial_delay_ms, group_max_size=max_size,
                group_new_member_join_timeout_ms=20_000)
    issued: dict[str, str | None] = {}             # token -> group instance id sent
    known: list[tuple[str, str | None]] = []       # (member_id, group_instance_id)

    def member(i):
        return known[i % len(known)] if known else ("nobody", None)

    def join(token, member_id, instance, v4, protocols, client="c"):
        issued[token] = instance
        h.join(token, member_id, client=client, instance=instance, v4=v4,
               session=10_000, rebalance=15_000, protocols=PROTOCOL_SETS[protocols])

    def sync(token, member_id, generation, assignments, instance):
        issued[token] = None
        h.sync(token, member_id, generation, assignments, instance=instance)

    for n, op in enumerate(operations):
        kind = op[0]
        if kind == "join":
            _, client, instance, v4, protocols = op
            join(f"join-{n}", "", instance, v4, protocols, client=f"c{client}")
        elif kind == "rejoin":
            member_id, instance = member(op[1])
            join(f"join-{n}", member_id, instance, True, op[2])
        elif kind == "sync":
            _, i, with_assignment = op
            member_id, instance = member(i)
            assignments = [(m, m.encode()) for m, _ in known] if with_assignment else []
            sync(f"sync-{n}", member_id, h.generation() or 0, assignments, instance)
        elif kind == "leader_sync":
            group = h.gc._groups.get("g")
            leader = group.leader_id if group else None
            if leader is not None:
                assignments = [(m, m.encode()) for m in group.members] if op[1] else []
                sync(f"sync-{n}", leader, group.generation_id, assignments,
                     group.members[leader].group_instance_id)
        elif kind == "heartbeat":
            member_id, instance = member(op[1])
            h.heartbeat(member_id, h.generation() or 0, instance=instance)
        elif kind == "leave":
            h.leave(member(op[1]))
        elif kind == "commit":
            member_id, instance = member(op[1])
            h.commit(member_id, h.generation() or 0, instance=instance)
        else:
            h.advance(h.now + op[1])
        for token, response in h.answers.items():
            if token.startswith("join") and response["error_code"] in (
                    E.NONE, E.MEMBER_ID_REQUIRED):
                identity = (response["member_id"], issued[token])
                if identity not in known:
                    known.append(identity)

    # Everyone goes silent: every parked request gets its answer, groups empty out.
    h.advance(h.now + 10_000_000)
    assert set(h.answers) == set(issued)
    assert h.gc.next_deadline_ms() is None
    assert h.state() in (None, S.EMPTY)
