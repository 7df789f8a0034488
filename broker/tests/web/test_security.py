"""The HTTP port of a broker with a SASL listener and ACLs: HTTP Basic credentials of the broker's
SASL users (PLAIN's and SCRAM's), and each page shown only to whom the ACLs allow it.

One broker for the module: a SASL_PLAINTEXT listener, PLAIN users alice and admin (a super user),
the authorizer on. ACLs and SCRAM credentials are made over the Kafka port, as an admin client would.
"""

from __future__ import annotations

import base64
import hashlib
import os

import pytest

pytest.importorskip("broker.security", reason="this build has no SASL listeners or ACLs (broker/security)")

from broker.tests.handlers.serving import running_broker   # noqa: E402
from broker.tests.web.http import Http   # noqa: E402
from kproto.constants import AclOperation as Op   # noqa: E402
from kproto.errors import ErrorCode   # noqa: E402
from kproto.messages import ALTER_USER_SCRAM_CREDENTIALS, CREATE_ACLS, SASL_AUTHENTICATE, SASL_HANDSHAKE  # noqa: E402

JAAS = ('org.apache.kafka.common.security.plain.PlainLoginModule required user_alice="alice-secret" '
        'user_admin="admin-secret";')
TOPIC, GROUP, LITERAL, ALLOW = 2, 3, 3, 3


@pytest.fixture(scope="module")
def secured(tmp_path_factory):
    with running_broker(tmp_path_factory.mktemp("web-secured") / "data", http_port=0,
                        listener_name="SASL_PLAINTEXT", listener_protocol="SASL_PLAINTEXT",
                        security_properties={"sasl.jaas.config": JAAS, "authorizer.class.name": "x",
                                             "super.users": "User:admin",
                                             "connection.failed.authentication.delay.ms": "0"}) as served:
        yield served


def basic(user: str, password: str) -> dict:
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}


def value(message: dict) -> bytes:
    return base64.b64decode(message["value"]["b64"])


ADMIN, ALICE = basic("admin", "admin-secret"), basic("alice", "alice-secret")


def admin_request(served, message, version: int, body: dict) -> dict:
    with served.client() as client:
        assert client.request(SASL_HANDSHAKE, 1, {"mechanism": "PLAIN"})["error_code"] == 0
        assert client.request(SASL_AUTHENTICATE, 2, {"auth_bytes": b"\0admin\0admin-secret"})["error_code"] == 0
        return client.request(message, version, body)


def allow_alice(served, resource_type: int, name: str, operation: int) -> None:
    answer = admin_request(served, CREATE_ACLS, 3, {"creations": [{
        "resource_type": resource_type, "resource_name": name, "resource_pattern_type": LITERAL,
        "principal": "User:alice", "host": "*", "operation": operation, "permission_type": ALLOW}]})
    assert answer["results"] == [{"error_code": 0, "error_message": None}]


@pytest.fixture
def http(secured) -> Http:
    return Http(secured.broker.config.http_port)


def test_every_page_asks_credentials_but_health(http):
    for method, path in (("GET", "/"), ("GET", "/app.js"), ("GET", "/api/topics"), ("GET", "/api/groups"),
                         ("GET", "/metrics"), ("GET", "/admin/faults"), ("POST", "/admin/listener/pause"),
                         ("POST", "/api/topics"), ("GET", "/no/such/path"), ("PUT", "/api/topics")):
        for headers in (None, basic("alice", "wrong"), basic("mallory", "alice-secret"), {"Authorization": "Basic @@"}):
            answer = http.request(method, path, {} if method == "POST" else None, headers=headers)
            assert answer.status == 401, (method, path, headers, answer)
            assert answer.headers["www-authenticate"].startswith('Basic realm="kbroker"')
    assert http.get("/health").json() == {"status": "up"}
    assert http.get("/ready").json() == {"status": "ready"}
    assert http.get("/admin/listener", headers=ADMIN).json()["listening"] is True   # still listening


def test_a_super_user_sees_and_does_everything(http, topic="secured-admin"):
    created = http.post("/api/topics", {"name": topic, "partitions": 2, "replication_factor": 1}, headers=ADMIN)
    assert created.status == 200, created
    assert topic in [t["name"] for t in http.get("/api/topics", headers=ADMIN).json()["topics"]]
    assert http.post(f"/api/topics/{topic}/messages", {"partition": 1, "value": "hi"}, headers=ADMIN).status == 200
    browsed = http.get(f"/api/topics/{topic}/messages?partition=1", headers=ADMIN).json()
    assert [value(m) for m in browsed["messages"]] == [b"hi"]
    assert "kafka_server_brokertopicmetrics" in http.get("/metrics", headers=ADMIN).text.lower()
    assert http.get("/admin/faults", headers=ADMIN).status == 200


def test_alice_sees_only_what_her_acls_allow(secured, http, topic="secured-alice"):
    assert http.post("/api/topics", {"name": topic, "partitions": 1, "replication_factor": 1},
                     headers=ADMIN).status == 200
    assert http.post(f"/api/topics/{topic}/messages", {"value": "for alice"}, headers=ADMIN).status == 200
    assert http.get("/", headers=ALICE).status == 200                    # the page itself
    assert topic not in [t["name"] for t in http.get("/api/topics", headers=ALICE).json()["topics"]]
    refused = {path: http.get(path, headers=ALICE) for path in (
        f"/api/topics/{topic}", f"/api/topics/{topic}/messages?partition=0", "/metrics", "/api/overview",
        "/api/clients", "/admin/faults", "/admin/listener", "/api/groups/some-group")}
    assert {path: a.status for path, a in refused.items()} == {path: 403 for path in refused}
    assert "TOPIC_AUTHORIZATION_FAILED" in refused[f"/api/topics/{topic}"].json()["error"]
    assert "CLUSTER_AUTHORIZATION_FAILED" in refused["/admin/faults"].json()["error"]
    changes = [http.post("/api/topics", {"name": "alice-own", "partitions": 1, "replication_factor": 1},
                         headers=ALICE),
               http.post(f"/api/topics/{topic}/messages", {"value": "x"}, headers=ALICE),
               http.post(f"/api/topics/{topic}/configs", {"set": {"retention.ms": "1000"}}, headers=ALICE),
               http.delete(f"/api/topics/{topic}", headers=ALICE),
               http.post("/admin/listener/pause", headers=ALICE)]
    assert [a.status for a in changes] == [403] * len(changes), changes
    assert "TOPIC_AUTHORIZATION_FAILED" in changes[1].json()["error"]

    allow_alice(secured, TOPIC, topic, Op.READ)                          # READ implies DESCRIBE
    assert topic in [t["name"] for t in http.get("/api/topics", headers=ALICE).json()["topics"]]
    assert http.get(f"/api/topics/{topic}", headers=ALICE).json()["configs"] == []   # no DESCRIBE_CONFIGS
    browsed = http.get(f"/api/topics/{topic}/messages?partition=0", headers=ALICE).json()
    assert [value(m) for m in browsed["messages"]] == [b"for alice"]
    assert http.post(f"/api/topics/{topic}/messages", {"value": "x"}, headers=ALICE).status == 403   # no WRITE
    allow_alice(secured, TOPIC, topic, Op.WRITE)
    assert http.post(f"/api/topics/{topic}/messages", {"value": "from alice"}, headers=ALICE).status == 200
    assert http.get("/metrics", headers=ALICE).status == 403


def test_scram_users_log_in_with_their_password(secured, http):
    salt = os.urandom(16)
    salted = hashlib.pbkdf2_hmac("sha512", b"carol-pw", salt, 4096)
    answer = admin_request(secured, ALTER_USER_SCRAM_CREDENTIALS, 0, {"deletions": [], "upsertions": [
        {"name": "carol", "mechanism": 2, "iterations": 4096, "salt": salt, "salted_password": salted}]})
    assert answer["results"] == [{"user": "carol", "error_code": 0, "error_message": None}]
    for _ in range(2):     # the second answer comes from the remembered check
        assert http.get("/api/topics", headers=basic("carol", "carol-pw")).status == 200
    assert http.get("/api/topics", headers=basic("carol", "wrong")).status == 401
    answer = admin_request(secured, ALTER_USER_SCRAM_CREDENTIALS, 0, {"upsertions": [], "deletions": [
        {"name": "carol", "mechanism": 2}]})
    assert answer["results"][0]["error_code"] == ErrorCode.NONE
    assert http.get("/api/topics", headers=basic("carol", "carol-pw")).status == 401   # gone at once
