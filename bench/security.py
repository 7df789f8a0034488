"""Security's costs, in one run (``python -m bench.security``):

- produce and consume throughput over TLS (SSL listener) against PLAINTEXT, confluent-kafka;
- a SASL/SCRAM-SHA-256 connection set-up, TCP connect to authenticated, with raw frames;
- produce throughput with the authorizer on and 1,000 ACLs against the authorizer off.
"""

from __future__ import annotations

import statistics
import tempfile
import time
from pathlib import Path

from broker.testing import BrokerProcess, RawClient, free_port

MESSAGES, SIZE = 100_000, 1000


def _throughput(bootstrap: str, topic: str, config: dict) -> tuple[float, float]:
    """(produce MB/s, consume MB/s) of MESSAGES messages of SIZE bytes."""
    from confluent_kafka import OFFSET_BEGINNING, Consumer, Producer, TopicPartition
    producer = Producer({"bootstrap.servers": bootstrap, "linger.ms": 5, "batch.size": 1 << 20, "acks": 1, **config})
    value = b"x" * SIZE
    start = time.perf_counter()
    for _ in range(MESSAGES):
        while True:
            try:
                producer.produce(topic, value, partition=0)
                break
            except BufferError:
                producer.poll(0.01)
    producer.flush(60)
    produce_s = time.perf_counter() - start
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": "bench", "enable.auto.commit": False,
                         "fetch.max.bytes": 50 << 20, **config})
    consumer.assign([TopicPartition(topic, 0, OFFSET_BEGINNING)])
    start, seen = time.perf_counter(), 0
    while seen < MESSAGES:
        seen += len(consumer.consume(10000, 1))
    consume_s = time.perf_counter() - start
    consumer.close()
    megabytes = MESSAGES * SIZE / 1e6
    return megabytes / produce_s, megabytes / consume_s


def _scram_setup_ms(bootstrap: str, rounds: int = 50) -> float:
    from broker.tests.handlers.test_security import scram
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        with RawClient(bootstrap) as client:
            assert scram(client, "SCRAM-SHA-256", "alice", "alice-secret")["error_code"] == 0
            times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def main() -> None:
    import trustme
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        ca = trustme.CA()
        ca.cert_pem.write_to_path(root / "ca.pem")
        ca.issue_cert("127.0.0.1").private_key_and_cert_chain_pem.write_to_path(root / "server.pem")
        (root / "users").write_text("alice:alice-secret\n")
        plain, tls, sasl = free_port(), free_port(), free_port()
        overrides = {"listeners": f"PLAINTEXT://127.0.0.1:{plain},SSL://127.0.0.1:{tls},"
                                  f"SASL_PLAINTEXT://127.0.0.1:{sasl}",
                     "ssl.keystore.location": str(root / "server.pem")}
        with BrokerProcess(root / "data", port=plain, overrides=overrides, args=["--sasl-users", str(root / "users")]):
            p = _throughput(f"127.0.0.1:{plain}", "plain", {})
            t = _throughput(f"127.0.0.1:{tls}", "tls", {"security.protocol": "SSL", "ssl.ca.location": str(root / "ca.pem")})
            print(f"produce MB/s: plaintext {p[0]:.1f}, TLS {t[0]:.1f} ({t[0] / p[0]:.2f}x)")
            print(f"consume MB/s: plaintext {p[1]:.1f}, TLS {t[1]:.1f} ({t[1] / p[1]:.2f}x)")
            print(f"SCRAM-SHA-256 connection set-up, median: {_scram_setup_ms(f'127.0.0.1:{sasl}'):.2f} ms")
        off = _throughput_once(root / "off", [])
        on = _throughput_once(root / "on", ["--acl"], acls=1000)
        print(f"produce MB/s with 1,000 ACLs: off {off:.1f}, on {on:.1f} ({on / off:.2f}x)")


def _throughput_once(data: Path, args: list[str], acls: int = 0) -> float:
    from confluent_kafka.admin import AclBinding, AclOperation, AclPermissionType, AdminClient, ResourcePatternType, \
        ResourceType
    overrides = {"allow.everyone.if.no.acl.found": "true"}   # the cluster (no ACLs) stays open: CreateAcls works
    with BrokerProcess(data, overrides=overrides, args=args) as broker:
        if acls:
            admin = AdminClient({"bootstrap.servers": broker.bootstrap})
            bindings = [AclBinding(ResourceType.TOPIC, f"topic-{i}", ResourcePatternType.LITERAL if i % 2 else
                                   ResourcePatternType.PREFIXED, f"User:user-{i}", "*", AclOperation.WRITE,
                                   AclPermissionType.ALLOW) for i in range(acls - 2)]
            bindings += [AclBinding(ResourceType.TOPIC, "bench", ResourcePatternType.LITERAL, "User:ANONYMOUS", "*",
                                    op, AclPermissionType.ALLOW) for op in (AclOperation.WRITE, AclOperation.READ)]
            for future in admin.create_acls(bindings).values():
                future.result(30)
        return _throughput(broker.bootstrap, "bench", {})[0]


if __name__ == "__main__":
    main()
