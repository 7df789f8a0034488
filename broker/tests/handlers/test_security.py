"""Security over raw frames: the SASL gate, PLAIN and SCRAM exchanges, ACL and SCRAM admin APIs.

Each test starts its own in-process broker with a SASL_PLAINTEXT listener (and the authorizer
when it needs one) and speaks kproto frames, so every answer and every close is seen as it is.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import os

import pytest

from kproto.constants import AclOperation as Op, AclPermissionType as Permission, PatternType, ResourceType
from kproto.errors import ErrorCode
from kproto.messages import (ALTER_USER_SCRAM_CREDENTIALS, API_VERSIONS, CREATE_ACLS, DESCRIBE_ACLS,
                             DESCRIBE_CONFIGS, DESCRIBE_USER_SCRAM_CREDENTIALS, METADATA, SASL_AUTHENTICATE,
                             SASL_HANDSHAKE)

JAAS = 'org.apache.kafka.common.security.plain.PlainLoginModule required user_alice="alice-secret" ' \
       'user_admin="admin-secret";'


def sasl_broker(own_broker, **security):
    return own_broker(listener_name="SASL_PLAINTEXT", listener_protocol="SASL_PLAINTEXT",
                      security_properties={"sasl.jaas.config": JAAS, "connection.failed.authentication.delay.ms": "0",
                                           **security})


def plain(client, user: str, password: str) -> dict:
    assert client.request(SASL_HANDSHAKE, 1, {"mechanism": "PLAIN"})["error_code"] == 0
    return client.request(SASL_AUTHENTICATE, 2, {"auth_bytes": f"\0{user}\0{password}".encode()})


def scram(client, mechanism: str, user: str, password: str) -> dict:
    name = {"SCRAM-SHA-256": "sha256", "SCRAM-SHA-512": "sha512"}[mechanism]
    assert client.request(SASL_HANDSHAKE, 1, {"mechanism": mechanism})["error_code"] == 0
    nonce = base64.b64encode(os.urandom(12)).decode()
    first_bare = f"n={user},r={nonce}"
    answer = client.request(SASL_AUTHENTICATE, 2, {"auth_bytes": ("n,," + first_bare).encode()})
    if answer["error_code"]:
        return answer
    server_first = answer["auth_bytes"].decode()
    fields = dict(part.split("=", 1) for part in server_first.split(","))
    salted = hashlib.pbkdf2_hmac(name, password.encode(), base64.b64decode(fields["s"]), int(fields["i"]))
    client_key = hmac.digest(salted, b"Client Key", name)
    without_proof = f"c=biws,r={fields['r']}"
    auth_message = f"{first_bare},{server_first},{without_proof}".encode()
    signature = hmac.digest(hashlib.new(name, client_key).digest(), auth_message, name)
    proof = base64.b64encode(bytes(a ^ b for a, b in zip(client_key, signature))).decode()
    return client.request(SASL_AUTHENTICATE, 2, {"auth_bytes": f"{without_proof},p={proof}".encode()})


METADATA_ALL = {"topics": None, "allow_auto_topic_creation": False, "include_topic_authorized_operations": False}


def test_only_api_versions_and_sasl_before_authentication(own_broker):
    with sasl_broker(own_broker) as served:
        with served.client() as client:
            assert client.request(API_VERSIONS, 3, {"client_software_name": "t", "client_software_version": "1"})[
                "error_code"] == 0
            client.send(METADATA, 12, METADATA_ALL)
            assert client.is_closed()
        with served.client() as client:
            answer = plain(client, "alice", "alice-secret")
            assert (answer["error_code"], answer["session_lifetime_ms"]) == (0, 0)
            assert client.request(METADATA, 12, METADATA_ALL)["brokers"][0]["port"] == served.port


def test_failed_authentication_answers_then_closes(own_broker, caplog):
    caplog.set_level(logging.INFO, logger="kbroker")
    with sasl_broker(own_broker) as served:
        for user, password in (("alice", "wrong-one"), ("nobody", "guess-one")):
            with served.client() as client:
                answer = plain(client, user, password)
                assert answer["error_code"] == ErrorCode.SASL_AUTHENTICATION_FAILED
                assert answer["error_message"] == "Authentication failed: Invalid username or password"
                assert client.is_closed()
        with served.client() as client:
            assert client.request(SASL_HANDSHAKE, 1, {"mechanism": "GSSAPI"}) == {
                "error_code": ErrorCode.UNSUPPORTED_SASL_MECHANISM,
                "mechanisms": ["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"]}
            assert client.is_closed()
    assert "User:alice from 127.0.0.1" in caplog.text and "wrong-one" not in caplog.text and "guess-one" not in caplog.text


def test_an_oversized_token_closes_the_connection(own_broker):
    with sasl_broker(own_broker, **{"sasl.server.max.receive.size": "1000"}) as served, served.client() as client:
        assert client.request(SASL_HANDSHAKE, 1, {"mechanism": "PLAIN"})["error_code"] == 0
        client.send(SASL_AUTHENTICATE, 2, {"auth_bytes": b"\0alice\0" + b"x" * 2000})
        assert client.is_closed()


@pytest.mark.parametrize("mechanism", ["SCRAM-SHA-256", "SCRAM-SHA-512"])
def test_scram_credentials_from_alter_user_scram_credentials(own_broker, mechanism):
    with sasl_broker(own_broker) as served:
        with served.client() as admin:
            assert plain(admin, "admin", "admin-secret")["error_code"] == 0
            salt = os.urandom(16)
            salted = hashlib.pbkdf2_hmac(mechanism.replace("SCRAM-SHA-", "sha"), b"carol-pw", salt, 4096)
            kind = 1 if mechanism == "SCRAM-SHA-256" else 2
            answer = admin.request(ALTER_USER_SCRAM_CREDENTIALS, 0, {"deletions": [], "upsertions": [
                {"name": "carol", "mechanism": kind, "iterations": 4096, "salt": salt, "salted_password": salted},
                {"name": "dave", "mechanism": kind, "iterations": 10, "salt": salt, "salted_password": salted}]})
            assert [(r["user"], r["error_code"], r["error_message"]) for r in answer["results"]] == [
                ("carol", 0, None), ("dave", ErrorCode.UNACCEPTABLE_CREDENTIAL, "Too few iterations")]
            described = admin.request(DESCRIBE_USER_SCRAM_CREDENTIALS, 0, {"users": None})["results"]
            assert [(r["user"], r["credential_infos"]) for r in described] == [
                ("carol", [{"mechanism": kind, "iterations": 4096}])]
        with served.client() as client:
            assert scram(client, mechanism, "carol", "carol-pw")["error_code"] == 0
        with served.client() as client:
            answer = scram(client, mechanism, "carol", "wrong")
            assert answer["error_code"] == ErrorCode.SASL_AUTHENTICATION_FAILED
            assert answer["error_message"] == ("Authentication failed during authentication due to invalid "
                                               f"credentials with SASL mechanism {mechanism}")


def test_reauthentication_keeps_the_principal(own_broker):
    with sasl_broker(own_broker, **{"connections.max.reauth.ms": "60000"}) as served, served.client() as client:
        assert plain(client, "alice", "alice-secret")["session_lifetime_ms"] == 60000
        assert plain(client, "alice", "alice-secret")["error_code"] == 0      # re-authenticated
        assert client.request(METADATA, 12, METADATA_ALL)["cluster_id"]
        answer = plain(client, "admin", "admin-secret")
        assert answer["error_code"] == ErrorCode.SASL_AUTHENTICATION_FAILED
        assert "Cannot change principals during re-authentication" in answer["error_message"]
        assert client.is_closed()


def acl(name: str, operation: int, principal="User:alice", permission=Permission.ALLOW, pattern=PatternType.LITERAL):
    return {"resource_type": ResourceType.TOPIC, "resource_name": name, "resource_pattern_type": pattern,
            "principal": principal, "host": "*", "operation": operation, "permission_type": permission}


def test_acl_apis(own_broker):
    with sasl_broker(own_broker, **{"authorizer.class.name": "x", "super.users": "User:admin"}) as served:
        with served.client() as alice:
            assert plain(alice, "alice", "alice-secret")["error_code"] == 0
            answer = alice.request(CREATE_ACLS, 3, {"creations": [acl("t", Op.READ)]})
            assert answer["results"] == [{"error_code": ErrorCode.CLUSTER_AUTHORIZATION_FAILED, "error_message": None}]
            with served.client() as admin:
                assert plain(admin, "admin", "admin-secret")["error_code"] == 0
                answer = admin.request(CREATE_ACLS, 3, {"creations": [
                    acl("pre-", Op.DESCRIBE, pattern=PatternType.PREFIXED), acl("", Op.READ),
                    {**acl("c", Op.ALTER), "resource_type": ResourceType.CLUSTER}, acl("t", Op.READ, principal="bob")]})
                assert [(r["error_code"], r["error_message"]) for r in answer["results"]] == [
                    (0, None), (ErrorCode.INVALID_REQUEST, "Resource name should not be empty"),
                    (ErrorCode.INVALID_REQUEST, "The only valid name for the CLUSTER resource is kafka-cluster"),
                    (ErrorCode.INVALID_REQUEST, "Could not parse principal from `bob` (no colon is present "
                                                "separating the principal type from the principal name)")]
                described = admin.request(DESCRIBE_ACLS, 3, {
                    "resource_type_filter": ResourceType.TOPIC, "resource_name_filter": "pre-x",
                    "pattern_type_filter": PatternType.MATCH, "principal_filter": None, "host_filter": None,
                    "operation": Op.ANY, "permission_type": Permission.ANY})
                assert [(r["resource_name"], r["pattern_type"]) for r in described["resources"]] == [
                    ("pre-", PatternType.PREFIXED)]
                for name in ("pre-x", "other"):
                    admin.request(METADATA, 12, {**METADATA_ALL, "topics": [{"name": name, "topic_id": bytes(16)}],
                                                 "allow_auto_topic_creation": True})
            topics = alice.request(METADATA, 12, {**METADATA_ALL, "include_topic_authorized_operations": True})
            assert [(t["name"], t["topic_authorized_operations"]) for t in topics["topics"]] == [
                ("pre-x", 1 << Op.DESCRIBE)]
            named = alice.request(METADATA, 12, {**METADATA_ALL, "topics": [{"name": "other", "topic_id": bytes(16)}]})
            assert named["topics"][0]["error_code"] == ErrorCode.TOPIC_AUTHORIZATION_FAILED


def test_no_authorizer_and_secrets_in_describe_configs(own_broker):
    with sasl_broker(own_broker) as served, served.client() as client:
        assert plain(client, "alice", "alice-secret")["error_code"] == 0
        answer = client.request(DESCRIBE_ACLS, 3, {
            "resource_type_filter": ResourceType.ANY, "resource_name_filter": None, "pattern_type_filter": 1,
            "principal_filter": None, "host_filter": None, "operation": Op.ANY, "permission_type": Permission.ANY})
        assert answer["error_code"] == ErrorCode.SECURITY_DISABLED
        configs = client.request(DESCRIBE_CONFIGS, 4, {"resources": [
            {"resource_type": 4, "resource_name": "1", "configuration_keys": ["sasl.jaas.config"]}],
            "include_synonyms": True, "include_documentation": False})["results"][0]["configs"]
        assert [(c["name"], c["value"], c["is_sensitive"]) for c in configs] == [("sasl.jaas.config", None, True)]
        assert "alice-secret" not in repr(configs)
