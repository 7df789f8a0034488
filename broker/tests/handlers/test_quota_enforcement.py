"""request_percentage, controller_mutation_rate and connection_creation_rate enforced over real
sockets, as Kafka enforces them: a client over its request time is answered with a throttle
time (a fetch answered empty) and others are not; topic changes over the mutation rate are
refused THROTTLING_QUOTA_EXCEEDED from the versions that know it and made but throttled before;
a client IP over its connection rate gets new connections closed unserved, and the broker-wide
rate makes the broker take a new connection later, never refuse it. Quotas are tiny, so every
outcome is decided by the first request or two, whatever the machine's speed; a throttled
connection is muted, so each throttled request goes on a connection of its own."""

from __future__ import annotations

import socket

from broker.tests.handlers.serving import batch, create_topic, fetch_body, produce
from kproto.codec import decode_response, encode_request
from kproto.errors import ErrorCode as E
from kproto.messages import (ALTER_CLIENT_QUOTAS, API_VERSIONS, CREATE_PARTITIONS, CREATE_TOPICS, DELETE_TOPICS,
                             FETCH, METADATA)

HELLO = {"client_software_name": "test", "client_software_version": "1"}
THROTTLED = "The throttling quota has been exceeded."


def set_quota(client, entity: list[tuple[str, str | None]], key: str, value: float) -> None:
    answer = client.request(ALTER_CLIENT_QUOTAS, 1, {"entries": [
        {"entity": [{"entity_type": t, "entity_name": n} for t, n in entity],
         "ops": [{"key": key, "value": value, "remove": False}]}], "validate_only": False})
    assert [e["error_code"] for e in answer["entries"]] == [0]


def metadata(client, topics=None) -> dict:
    return client.request(METADATA, 12, {"topics": topics, "allow_auto_topic_creation": False,
                                         "include_topic_authorized_operations": False})


def test_a_client_over_its_request_time_is_throttled_and_others_are_not(own_broker, topic):
    with own_broker() as served, served.client(client_id="admin") as admin:
        create_topic(admin, topic)
        produce(admin, topic, batch(b"v"))
        set_quota(admin, [("client-id", "busy")], "request_percentage", 1e-9)
        for _ in range(3):    # no quota: never throttled, whatever the others do
            assert metadata(admin)["throttle_time_ms"] == 0
        # the cached answer for every topic, one topic's, a fetch: each over the quota at once
        with served.client(client_id="busy") as busy:
            answer = metadata(busy)
            assert 0 < answer["throttle_time_ms"] <= 1000 and answer["topics"]   # at most one sample's span
        with served.client(client_id="busy") as busy:
            answer = busy.request(FETCH, 12, fetch_body(topic, {0: 0}))
            assert answer["throttle_time_ms"] > 0 and answer["responses"] == []   # answered empty, as Kafka does
        with served.client(client_id="busy") as busy:
            answer = metadata(busy, [{"name": topic, "topic_id": bytes(16)}])
            assert answer["throttle_time_ms"] > 0 and answer["topics"][0]["error_code"] == 0
            # the connection was muted meanwhile, not closed: the next request is answered
            assert busy.request(API_VERSIONS, 3, HELLO)["error_code"] == 0
        with served.client(client_id="admin") as admin_again:
            assert metadata(admin_again)["throttle_time_ms"] == 0



def test_a_request_an_injected_delay_held_is_timed_and_throttled_too(own_broker, topic):
    """A tapped request (a fault's delay) is handled after the tap as any other: counted against the
    client's request quota and answered with the throttle."""
    with own_broker() as served, served.client(client_id="admin") as admin:
        create_topic(admin, topic)
        set_quota(admin, [("client-id", "busy")], "request_percentage", 1e-9)
        served.call(lambda: served.broker.faults.delay("Metadata", 1, times=1))
        with served.client(client_id="busy") as busy:
            answer = metadata(busy, [{"name": topic, "topic_id": bytes(16)}])
            assert answer["throttle_time_ms"] > 0 and answer["topics"][0]["error_code"] == 0

def create(client, version: int, *topics: tuple[str, int]) -> tuple[int, list[tuple[int, str | None]]]:
    answer = client.request(CREATE_TOPICS, version, {"topics": [
        {"name": name, "num_partitions": count, "replication_factor": 1, "assignments": [], "configs": []}
        for name, count in topics], "timeout_ms": 5000, "validate_only": False})
    return answer["throttle_time_ms"], [(t["error_code"], t.get("error_message")) for t in answer["topics"]]


def test_topic_changes_over_the_mutation_rate_are_refused_or_throttled_by_version(own_broker, topic):
    """0.01 partitions a second over 2 samples: the bucket holds 0.02, so the first topic is taken
    whole (a strict quota refuses only once the credits are spent) and the next is refused."""
    with own_broker(controller_quota_window_num=2) as served:
        with served.client(client_id="admin") as admin:
            set_quota(admin, [("client-id", "admin")], "controller_mutation_rate", 0.01)
        a, b, c, d = (f"{topic}-{x}" for x in "abcd")

        def on_its_own(call, *args):   # a throttled connection is muted: each request on a new one
            with served.client(client_id="admin") as client:
                return call(client, *args)

        throttle_ms, results = on_its_own(create, 7, (a, 2), (b, 1))
        assert results == [(0, None), (E.THROTTLING_QUOTA_EXCEEDED, THROTTLED)] and throttle_ms > 0
        throttle_ms, results = on_its_own(create, 5, (b, 1))       # v5 cannot know the error: made, throttled
        assert results == [(0, None)] and throttle_ms > 0

        def delete(client, version, name):
            body = {"topics": [{"name": name, "topic_id": bytes(16)}]} if version >= 6 else {"topic_names": [name]}
            answer = client.request(DELETE_TOPICS, version, {**body, "timeout_ms": 5000})
            return answer["throttle_time_ms"], [r["error_code"] for r in answer["responses"]]

        assert on_its_own(delete, 6, a)[1] == [E.THROTTLING_QUOTA_EXCEEDED]
        throttle_ms, codes = on_its_own(delete, 4, a)
        assert codes == [0] and throttle_ms > 0

        def grow(client, version, name):
            answer = client.request(CREATE_PARTITIONS, version, {"topics": [
                {"name": name, "count": 2, "assignments": None}], "timeout_ms": 5000, "validate_only": False})
            return answer["throttle_time_ms"], [(r["error_code"], r["error_message"]) for r in answer["results"]]

        assert on_its_own(grow, 3, b)[1] == [(E.THROTTLING_QUOTA_EXCEEDED, THROTTLED)]
        throttle_ms, results = on_its_own(grow, 2, b)
        assert results == [(0, None)] and throttle_ms > 0
        with served.client(client_id="other") as other:    # another client: no quota
            assert create(other, 7, (c, 3), (d, 3)) == (0, [(0, None), (0, None)])
        with served.client(client_id="admin") as admin:
            names = {t["name"]: len(t["partitions"]) for t in metadata(admin)["topics"]}
        assert (a in names, names[b], names[c]) == (False, 2, 3)


def test_a_client_ip_over_its_connection_rate_gets_new_connections_closed_unserved(own_broker):
    """1 a second over 11 samples: ten connections in the first ten seconds, the eleventh is over."""
    with own_broker() as served:
        with served.client() as admin:
            set_quota(admin, [("ip", "127.0.0.1")], "connection_creation_rate", 1)
        admitted = [served.client() for _ in range(10)]
        over = served.client()
        over.send(API_VERSIONS, 3, HELLO)
        assert over.is_closed(wait_s=10)          # closed (reset: it held unread bytes), its request unanswered
        assert all(c.request(API_VERSIONS, 3, HELLO)["error_code"] == 0 for c in admitted)
        assert served.broker.connection_rates.closed == 1
        # another address of this host has no quota (its own IP entity, no default)
        with socket.create_connection(("127.0.0.1", served.port), timeout=10, source_address=("127.0.0.2", 0)) as sock:
            sock.sendall(encode_request(API_VERSIONS, 3, 1, HELLO, "other"))
            size = int.from_bytes(sock.recv(4, socket.MSG_WAITALL), "big")
            assert decode_response(sock.recv(size, socket.MSG_WAITALL), API_VERSIONS, 3)[1]["error_code"] == 0
        over.close()
        for c in admitted:
            c.close()


def test_over_the_broker_wide_connection_rate_a_connection_is_taken_later_not_refused(own_broker):
    with own_broker(max_connection_creation_rate=1) as served:
        clients = [served.client() for _ in range(11)]     # 1 a second over 11 samples: the eleventh waits
        assert all(c.request(API_VERSIONS, 3, HELLO)["error_code"] == 0 for c in clients)
        assert served.broker.connection_rates.delayed == 1
        for c in clients:
            c.close()
