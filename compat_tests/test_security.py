"""Security with real clients: TLS, mutual TLS, SASL (PLAIN, SCRAM-SHA-256/512, OAUTHBEARER) and their failures.

One broker serves a listener of each protocol (PLAINTEXT, SSL with client certificates
required, SASL_PLAINTEXT, SASL_SSL), users from a ``--sasl-users`` file. Every client
(confluent-kafka, kafka-python, aiokafka, kafkajs, kcat) produces and reads back over the
protocols and mechanisms it speaks. ACL scenarios are in test_acls.py.
"""

from __future__ import annotations

import json
import shutil
import socket
import ssl
import subprocess

import pytest

from broker.testing import BrokerProcess, RawClient, free_port
from compat_tests.clients import Out, consume, produce
from compat_tests.security_kit import PROTOCOLS, USERS, Pki, listener_overrides, settings, unsecured_jwt
from compat_tests.test_kafkajs import NODE, KAFKAJS, run as run_kafkajs

pytest.importorskip("trustme")

VALUES = [b"one", b"two", b"three"]


@pytest.fixture(scope="module")
def pki(tmp_path_factory) -> Pki:
    return Pki.make(tmp_path_factory.mktemp("pki"))


@pytest.fixture(scope="module")
def secure(tmp_path_factory, pki):
    """The broker, and the bootstrap address of each protocol's listener."""
    root = tmp_path_factory.mktemp("secure")
    (root / "users").write_text("".join(f"{user}:{password}\n" for user, password in USERS.items()))
    ports = {name: free_port() for name in PROTOCOLS}
    process = BrokerProcess(root / "data", port=ports["PLAINTEXT"], log_path=root / "broker.log",
                            overrides=listener_overrides(ports, pki), args=["--sasl-users", str(root / "users")])
    process.start()
    process.addresses = {name: f"127.0.0.1:{port}" for name, port in ports.items()}
    yield process
    assert process.stop() == 0
    log = (root / "broker.log").read_text()
    for secret in USERS.values():
        assert secret not in log, "a password was logged"


def round_trip(client: str, bootstrap: str, topic: str, config: dict) -> list[bytes]:
    """Produce VALUES, read them back: the values read."""
    if client == "kafkajs":
        extra = {**config, "values": [v.decode() for v in VALUES]}
        out = run_kafkajs("secureRoundTrip", bootstrap, topic=topic, **extra)
        assert "error" not in out, out
        return [v.encode() for v in out["values"]]
    if client == "kcat":
        flags = [arg for key, value in config.items() for arg in ("-X", f"{key}={value}")]
        kcat(bootstrap, flags, "-P", "-t", topic, stdin="\n".join(v.decode() for v in VALUES) + "\n")
        out = kcat(bootstrap, flags, "-C", "-t", topic, "-o", "beginning", "-c", str(len(VALUES)), "-e")
        return [line.encode() for line in out.splitlines()]
    deliveries = produce(client, bootstrap, topic, [Out(None, v, partition=0) for v in VALUES], **config)
    assert [d.error for d in deliveries] == [None] * len(VALUES)
    return [m.value for m in consume(client, bootstrap, topic, [0], len(VALUES), **config)]


def kcat(bootstrap: str, flags: list[str], *args: str, stdin: str | None = None) -> str:
    done = subprocess.run(["kcat", "-b", bootstrap, "-X", "socket.timeout.ms=10000", *flags, *args], input=stdin,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, f"kcat exited {done.returncode}: {done.stderr[-2000:]}"
    return done.stdout


KAFKAJS_READY = NODE is not None and (KAFKAJS / "node_modules" / "kafkajs" / "package.json").is_file()
CASES = [
    # client, listener, mechanism
    ("confluent", "SSL", None), ("confluent", "SASL_PLAINTEXT", "PLAIN"),
    ("confluent", "SASL_PLAINTEXT", "SCRAM-SHA-256"), ("confluent", "SASL_PLAINTEXT", "SCRAM-SHA-512"),
    ("confluent", "SASL_SSL", "SCRAM-SHA-512"), ("confluent", "SASL_SSL", "OAUTHBEARER"),
    ("kafka-python", "SSL", None), ("kafka-python", "SASL_PLAINTEXT", "PLAIN"),
    ("kafka-python", "SASL_PLAINTEXT", "SCRAM-SHA-256"), ("kafka-python", "SASL_PLAINTEXT", "SCRAM-SHA-512"),
    ("kafka-python", "SASL_SSL", "PLAIN"),
    ("aiokafka", "SSL", None), ("aiokafka", "SASL_PLAINTEXT", "PLAIN"), ("aiokafka", "SASL_PLAINTEXT", "SCRAM-SHA-256"),
    ("aiokafka", "SASL_SSL", "SCRAM-SHA-512"),
    ("kafkajs", "SSL", None), ("kafkajs", "SASL_PLAINTEXT", "SCRAM-SHA-256"), ("kafkajs", "SASL_SSL", "PLAIN"),
    ("kafkajs", "SASL_PLAINTEXT", "SCRAM-SHA-512"),
    ("kcat", "SSL", None), ("kcat", "SASL_PLAINTEXT", "PLAIN"), ("kcat", "SASL_SSL", "PLAIN"),
]


@pytest.mark.parametrize("client, protocol, mechanism", CASES, ids=lambda v: str(v))
def test_round_trip(secure, pki, topic_name, client, protocol, mechanism):
    if client == "kafkajs" and not KAFKAJS_READY:
        pytest.skip("kafkajs is not installed")
    if client == "kcat" and shutil.which("kcat") is None:
        pytest.skip("kcat is not installed")
    config = settings(client, protocol, pki, mechanism)
    assert round_trip(client, secure.addresses[protocol], topic_name, config) == VALUES


def test_metadata_answers_with_the_listener_the_client_came_in_on(secure, pki, topic_name):
    from confluent_kafka.admin import AdminClient
    for protocol in PROTOCOLS:
        admin = AdminClient({"bootstrap.servers": secure.addresses[protocol],
                             **settings("confluent", protocol, pki, "PLAIN")})
        brokers = admin.list_topics(timeout=10).brokers
        assert [f"{b.host}:{b.port}" for b in brokers.values()] == [secure.addresses[protocol]]


def failure(config: dict, bootstrap: str, connected: list | None = None) -> str:
    """What confluent-kafka's producer reports when it cannot connect (its error callback's first word);
    ``connected`` gets the topics it could list if it got through."""
    from confluent_kafka import KafkaError, KafkaException, Producer
    errors = []
    producer = Producer({"bootstrap.servers": bootstrap, "error_cb": errors.append, "reconnect.backoff.ms": 1000,
                         **config})
    try:
        if connected is not None:
            try:
                connected.extend(producer.list_topics(timeout=3).topics)
            except KafkaException:
                pass
        for _ in range(30):
            producer.poll(0.1)
            fatal = [e for e in errors if e.code() in (KafkaError._AUTHENTICATION, KafkaError._SSL)]
            if fatal:
                return f"{fatal[0].name()}: {fatal[0].str()}"
        return f"no failure: {errors}"
    finally:
        producer.flush(1)


@pytest.mark.parametrize("user, password", [("alice", "wrong"), ("mallory", "guess")], ids=["wrong-password",
                                                                                          "unknown-user"])
@pytest.mark.parametrize("mechanism", ["PLAIN", "SCRAM-SHA-256"])
def test_bad_credentials_are_refused(secure, pki, user, password, mechanism):
    config = settings("confluent", "SASL_PLAINTEXT", pki, mechanism, user, password)
    error = failure(config, secure.addresses["SASL_PLAINTEXT"])
    assert error.startswith("_AUTHENTICATION"), error
    assert "Authentication failed" in error and password not in error


def test_kafka_python_wrong_password(secure, pki):
    from kafka import KafkaProducer
    from kafka.errors import KafkaError
    config = settings("kafka-python", "SASL_PLAINTEXT", pki, "SCRAM-SHA-512", password="wrong")
    with pytest.raises(KafkaError):
        KafkaProducer(bootstrap_servers=secure.addresses["SASL_PLAINTEXT"], request_timeout_ms=3000,
                      max_block_ms=3000, **config)


@pytest.mark.parametrize("token", ["expired", "garbage", "signed"])
def test_bad_tokens_are_refused(secure, pki, token):
    tokens = {"expired": unsecured_jwt("alice", lifetime_s=-60), "garbage": "not.a.token",
              "signed": unsecured_jwt("alice")[:-1] + ".c2lnbmF0dXJl"}
    config = {"security.protocol": "SASL_PLAINTEXT", "sasl.mechanism": "OAUTHBEARER",
              "oauth_cb": lambda _: (tokens[token], 4102444800.0)}
    error = failure(config, secure.addresses["SASL_PLAINTEXT"])
    assert error.startswith("_AUTHENTICATION") and "invalid_token" in error, error


def test_a_client_certificate_from_another_ca_is_refused(secure, pki):
    config = settings("confluent", "SSL", pki, cert=(pki.rogue_cert, pki.rogue_key))
    assert failure(config, secure.addresses["SSL"], connected := []).startswith(("_SSL", "_AUTHENTICATION",
                                                                                 "no failure"))
    assert not connected
    # ... and no certificate at all, with Python's ssl
    context = ssl.create_default_context(cafile=str(pki.ca))
    with socket.create_connection(("127.0.0.1", int(secure.addresses["SSL"].split(":")[1]))) as raw:
        try:    # TLS 1.3: the server's refusal arrives after the client's side of the handshake
            with context.wrap_socket(raw, server_hostname="127.0.0.1") as tls:
                tls.sendall(b"\0\0\0\0")
                assert tls.recv(1) == b""
        except (ssl.SSLError, ConnectionError):
            pass


def test_bad_bytes_close_only_that_connection(secure, pki):
    host = "127.0.0.1"
    ports = {name: int(address.split(":")[1]) for name, address in secure.addresses.items()}
    for port, data in ((ports["SSL"], b"GET / HTTP/1.0\r\n\r\n"), (ports["SASL_SSL"], b"\x16\x03\x01\x02\x00\x01"),
                       (ports["PLAINTEXT"], ssl.PROTOCOL_TLS_CLIENT and b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc")):
        with socket.create_connection((host, port), timeout=15) as raw:
            raw.sendall(data)
            raw.shutdown(socket.SHUT_WR)
            assert raw.recv(1 << 16) in (b"",) or raw.recv(1 << 16) == b""   # closed (an alert at most first)
    # an oversized SASL token: the frame is refused from its size prefix
    with RawClient(secure.addresses["SASL_PLAINTEXT"]) as raw:
        raw.send_raw((600_000).to_bytes(4, "big") + b"\0\x11\0\x01")
        assert raw.is_closed()
    # the broker still serves everyone
    assert round_trip("confluent", secure.addresses["SASL_SSL"], "after-bad-bytes",
                      settings("confluent", "SASL_SSL", pki, "PLAIN")) == VALUES


def test_scram_credentials_are_managed_and_kept_across_a_restart(secure, pki, topic_name):
    from confluent_kafka.admin import (AdminClient, ScramCredentialInfo, ScramMechanism,
                                       UserScramCredentialDeletion, UserScramCredentialUpsertion)
    admin = AdminClient({"bootstrap.servers": secure.addresses["PLAINTEXT"]})
    info = ScramCredentialInfo(ScramMechanism.SCRAM_SHA_256, 8192)
    for future in admin.alter_user_scram_credentials([
            UserScramCredentialUpsertion("carol", info, b"carol-secret", b"salt-of-carol")]).values():
        future.result(10)
    described = admin.describe_user_scram_credentials(["carol"])["carol"].result(10)
    assert [(c.mechanism, c.iterations) for c in described.scram_credential_infos] == \
        [(ScramMechanism.SCRAM_SHA_256, 8192)]
    secure.restart()
    carol = settings("confluent", "SASL_SSL", pki, "SCRAM-SHA-256", "carol", "carol-secret")
    assert round_trip("confluent", secure.addresses["SASL_SSL"], topic_name, carol) == VALUES
    admin = AdminClient({"bootstrap.servers": secure.addresses["PLAINTEXT"]})
    for future in admin.alter_user_scram_credentials(
            [UserScramCredentialDeletion("carol", ScramMechanism.SCRAM_SHA_256)]).values():
        future.result(10)
    assert failure(carol, secure.addresses["SASL_SSL"]).startswith("_AUTHENTICATION")
