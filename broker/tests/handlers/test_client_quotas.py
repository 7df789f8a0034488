"""DescribeClientQuotas and AlterClientQuotas over a real socket: Kafka's validation of entities,
keys and values, its filter rules (exact, default, any specified; strict), validate_only, and
quotas kept across a restart. Each test has a broker of its own: a quota would touch others."""

from __future__ import annotations

import pytest

from broker.quotas import ByteRateQuotas, ClientQuotas, Rate
from kproto.errors import ErrorCode as E
from kproto.messages import ALTER_CLIENT_QUOTAS, DESCRIBE_CLIENT_QUOTAS

EXACT, DEFAULT, SPECIFIED = 0, 1, 2


def entity(**names) -> list[dict]:
    return [{"entity_type": kind.replace("_", "-"), "entity_name": name} for kind, name in names.items()]


def alter(client, *entries, validate_only=False, version=1) -> list[tuple[int, str | None]]:
    """``entries``: (entity, {key: value or None to remove}); [(error code, message)] per entry."""
    body = {"entries": [{"entity": e, "ops": [{"key": k, "value": v or 0.0, "remove": v is None}
                                                for k, v in ops.items()]} for e, ops in entries],
            "validate_only": validate_only}
    return [(r["error_code"], r["error_message"]) for r in client.request(ALTER_CLIENT_QUOTAS, version, body)["entries"]]


def describe(client, *components, strict=False, version=1):
    """{((type, name), ...): {key: value}}, or (error code, message)."""
    answer = client.request(DESCRIBE_CLIENT_QUOTAS, version, {"components": [
        {"entity_type": t, "match_type": m, "match": n} for t, m, n in components], "strict": strict})
    if answer["error_code"]:
        assert answer["entries"] is None
        return answer["error_code"], answer["error_message"]
    return {tuple((e["entity_type"], e["entity_name"]) for e in entry["entity"]):
            {v["key"]: v["value"] for v in entry["values"]} for entry in answer["entries"]}


@pytest.mark.parametrize("version", [0, 1])
def test_set_describe_remove_and_keep_across_a_restart(own_broker, version):
    with own_broker() as served, served.client() as client:
        assert alter(client, (entity(user="alice"), {"producer_byte_rate": 1024, "consumer_byte_rate": 2048}),
                     (entity(user="alice", client_id="app"), {"request_percentage": 12.5}),
                     (entity(user=None), {"producer_byte_rate": 100}),
                     (entity(client_id=None), {"consumer_byte_rate": 300}),
                     (entity(ip="127.0.0.1"), {"connection_creation_rate": 5}),
                     (entity(ip=None), {"connection_creation_rate": 50}), version=version) == [(0, None)] * 6
        everything = describe(client, version=version)
        assert everything == {
            (("user", "alice"),): {"producer_byte_rate": 1024.0, "consumer_byte_rate": 2048.0},
            (("client-id", "app"), ("user", "alice")): {"request_percentage": 12.5},
            (("user", None),): {"producer_byte_rate": 100.0},
            (("client-id", None),): {"consumer_byte_rate": 300.0},
            (("ip", "127.0.0.1"),): {"connection_creation_rate": 5.0},
            (("ip", None),): {"connection_creation_rate": 50.0}}
        # filters: exact name, default, any specified; strict leaves out entities with other types
        assert set(describe(client, ("user", EXACT, "alice"))) == {
            (("user", "alice"),), (("client-id", "app"), ("user", "alice"))}
        assert set(describe(client, ("user", EXACT, "alice"), strict=True)) == {(("user", "alice"),)}
        assert set(describe(client, ("user", DEFAULT, None))) == {(("user", None),)}
        assert set(describe(client, ("user", SPECIFIED, None), ("client-id", SPECIFIED, None))) == {
            (("client-id", "app"), ("user", "alice"))}
        assert set(describe(client, ("ip", SPECIFIED, None))) == {(("ip", "127.0.0.1"),), (("ip", None),)}
        assert describe(client, ("user", EXACT, "bob")) == {}
        # removing: one key, then the entity's last
        assert alter(client, (entity(user="alice"), {"producer_byte_rate": None})) == [(0, None)]
        assert alter(client, (entity(ip=None), {"connection_creation_rate": None})) == [(0, None)]
        assert alter(client, (entity(ip="10.0.0.1"), {"connection_creation_rate": None})) == [(0, None)]   # nothing to remove
        expected = describe(client)
        assert expected[(("user", "alice"),)] == {"consumer_byte_rate": 2048.0} and (("ip", None),) not in expected
    with own_broker() as served, served.client() as client:
        assert describe(client) == expected


def test_validate_only_and_every_refusal_change_nothing(own_broker):
    with own_broker() as served, served.client() as client:
        results = alter(
            client,
            (entity(user="a"), {"producer_byte_rate": 10}),                       # fine, but validate_only
            (entity(), {"producer_byte_rate": 10}),
            (entity(topic="t"), {"producer_byte_rate": 10}),
            (entity(user=""), {"producer_byte_rate": 10}),
            (entity(ip="127.0.0.1", user="a"), {"connection_creation_rate": 1}),
            (entity(ip="not-an-address"), {"connection_creation_rate": 1}),
            (entity(client_id="c"), {"connection_creation_rate": 1}),
            (entity(client_id="d"), {"producer_byte_rate": 0}),
            (entity(client_id="e"), {"producer_byte_rate": 10.5}),
            (entity(ip="127.0.0.1"), {"connection_creation_rate": 2**31}),
            (entity(user="a", client_id="z"), {"no_such_key": 1}),
            validate_only=True)
        assert results[0] == (0, None)
        assert [code for code, _ in results[1:]] == [E.INVALID_REQUEST] * 10
        assert [message for _, message in results[1:]] == [
            "Invalid empty client quota entity",
            "Unhandled client quota entity type: topic",
            "Empty user not supported",
            "Invalid quota entity combination, IP entity should not be combined with User or ClientId",
            "not-an-address is not a valid IP or resolvable host.",
            "Invalid configuration key connection_creation_rate",
            "Quota producer_byte_rate must be greater than 0",
            "producer_byte_rate cannot be a fractional value.",
            "Proposed value for connection_creation_rate is too large for an INT.",
            "Invalid configuration key no_such_key"]
        # a key twice, an entity twice: refused; the first entity still applies
        body = {"entries": [
            {"entity": entity(user="b"), "ops": [{"key": "producer_byte_rate", "value": 1.0, "remove": False},
                                                  {"key": "producer_byte_rate", "value": 2.0, "remove": False}]},
            {"entity": entity(user="c"), "ops": [{"key": "producer_byte_rate", "value": 1.0, "remove": False}]},
            {"entity": entity(user="c"), "ops": [{"key": "consumer_byte_rate", "value": 1.0, "remove": False}]}],
            "validate_only": False}
        codes = [r["error_code"] for r in client.request(ALTER_CLIENT_QUOTAS, 1, body)["entries"]]
        assert codes == [E.INVALID_REQUEST, E.NONE, E.INVALID_REQUEST]
        assert describe(client) == {(("user", "c"),): {"producer_byte_rate": 1.0}}


@pytest.mark.parametrize("components, code, message", [
    ([("user", EXACT, None)], E.INVALID_REQUEST, "Request specified MATCH_TYPE_EXACT, but set match string to null."),
    ([("user", DEFAULT, "x")], E.INVALID_REQUEST,
     "Request specified MATCH_TYPE_DEFAULT, but also specified a match string."),
    ([("user", SPECIFIED, "x")], E.INVALID_REQUEST,
     "Request specified MATCH_TYPE_SPECIFIED, but also specified a match string."),
    ([("user", 7, None)], E.INVALID_REQUEST, "Unknown match type 7"),
    ([("user", EXACT, "a"), ("user", DEFAULT, None)], E.INVALID_REQUEST,
     "Entity type user cannot appear more than once in the filter."),
    ([("", EXACT, "a")], E.INVALID_REQUEST, "Invalid empty entity type."),
    ([("topic", EXACT, "a")], E.UNSUPPORTED_VERSION, "Unsupported entity type topic"),
    ([("ip", SPECIFIED, None), ("user", SPECIFIED, None)], E.INVALID_REQUEST,
     "Invalid entity filter component combination. IP filter component should not be used with user or "
     "clientId filter component."),
])
def test_bad_filters_are_refused_whole(own_broker, components, code, message):
    with own_broker() as served, served.client() as client:
        assert describe(client, *components) == (code, message)


def test_the_rate_spans_the_whole_window_and_the_throttle_brings_it_back():
    """Kafka's Rate over 11 one-second samples: a first burst is spread over 10 s; the throttle
    time is how long the rate needs to come back to the quota."""
    rate = Rate(11, 1000)
    rate.record(10_000, 0)
    assert rate.window_ms(0) == 10_000 and rate.per_second(0) == 1000
    rate.record(10_000, 10_500)
    assert rate.window_ms(10_500) == 10_500
    assert rate.window_ms(12_000) == 10_500     # the first sample aged out: 1.5 s, padded to 9 full samples more
    assert rate.per_second(12_000) == 10_000 / 10.5
    store = ClientQuotas(None)
    store.alter([{"entity": entity(client_id="app"), "ops": [
        {"key": "producer_byte_rate", "value": 1000.0, "remove": False}]}], False)
    quotas = ByteRateQuotas(store, "producer_byte_rate")
    assert quotas.record("alice", "app", 10_000, 0) == 0              # 1000 B/s: at the quota
    assert quotas.record("alice", "app", 10_000, 0) == 10_000         # 2000 B/s: 10 s to come back
    assert quotas.record("alice", "other", 10**9, 0) == 0             # no quota for this client
    assert quotas.max_bytes_in_window("bob", "app") == 10_000 and quotas.max_bytes_in_window("bob", "x") is None


def test_the_quota_that_applies_follows_kafkas_order():
    """<user, client-id> first, down to <default client-id>; the clients sharing one rate follow
    the level that matched (every user of a client id share its <client-id> quota)."""
    store = ClientQuotas(None)
    levels = [entity(user="u", client_id="c"), entity(user="u", client_id=None), entity(user="u"),
              entity(user=None, client_id="c"), entity(user=None, client_id=None), entity(user=None),
              entity(client_id="c"), entity(client_id=None)]
    quotas = ByteRateQuotas(store, "consumer_byte_rate")
    for value, e in reversed(list(enumerate(levels, start=1))):   # the lowest first, each one then wins
        store.alter([{"entity": e, "ops": [{"key": "consumer_byte_rate", "value": float(value), "remove": False}]}],
                    False)
        assert quotas.max_bytes_in_window("u", "c") == value * 10
    # <client-id> shared by every user of the client id; <user> by all the user's clients
    store.alter([{"entity": e, "ops": [{"key": "consumer_byte_rate", "value": 0.0, "remove": True}]}
                 for e in levels[:6]], False)
    assert quotas.record("u1", "c", 50, 0) == 0 and quotas.record("u2", "c", 30, 0) > 0   # 80 B in 10 s > 7 B/s
