"""Capture golden request frames from real clients (run by hand; the frames are committed).

    python -m compat_tests.capture_golden

Starts a broker, puts a recording proxy in front of it (advertised, so every
connection goes through it), runs each client through produce, group consume and
admin calls, and writes the first request of every (client, API, version) to
``kproto/tests/golden/<client>-<api>-v<version>.hex``.
"""

from __future__ import annotations

import asyncio
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from broker.testing import free_port
from kproto.codec import FrameReader, peek_request_header
from kproto.messages import BY_KEY

GOLDEN = Path(__file__).resolve().parent.parent / "kproto" / "tests" / "golden"


class RecordingProxy:
    def __init__(self, listen_port: int, broker_port: int):
        self.listen_port, self.broker_port = listen_port, broker_port
        self.client = "unknown"
        self.frames: dict[tuple[str, int, int], bytes] = {}
        self.server = socket.create_server(("127.0.0.1", listen_port))
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            conn, _ = self.server.accept()
            upstream = socket.create_connection(("127.0.0.1", self.broker_port))
            threading.Thread(target=self._requests, args=(conn, upstream), daemon=True).start()
            threading.Thread(target=self._pipe, args=(upstream, conn), daemon=True).start()

    def _requests(self, src: socket.socket, dst: socket.socket) -> None:
        reader = FrameReader()

        def record(data: bytes) -> None:
            reader.feed(data)
            while (frame := reader.next_frame()) is not None:
                api_key, version, _ = peek_request_header(frame)
                self.frames.setdefault((self.client, api_key, version), frame)

        self._pipe(src, dst, record)

    @staticmethod
    def _pipe(src: socket.socket, dst: socket.socket, record=None) -> None:
        """Copy src to dst until either side closes, showing each chunk to ``record``."""
        while True:
            try:
                data = src.recv(1 << 16)
            except OSError:
                data = b""
            if not data:
                dst.close()
                return
            if record is not None:
                record(data)
            dst.sendall(data)


def run_kafka_python(bootstrap: str) -> None:
    from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer
    from kafka.admin import NewTopic

    admin = KafkaAdminClient(bootstrap_servers=bootstrap)
    admin.create_topics([NewTopic("golden-kp", 2, 1)])
    producer = KafkaProducer(bootstrap_servers=bootstrap, compression_type="gzip")
    producer.send("golden-kp", key=b"k", value=b"v", headers=[("h", b"1")]).get(10)
    producer.close()
    consumer = KafkaConsumer("golden-kp", bootstrap_servers=bootstrap, group_id="golden-kp",
                             auto_offset_reset="earliest", consumer_timeout_ms=3000)
    next(iter(consumer))
    consumer.commit()
    consumer.close()
    admin.describe_groups(["golden-kp"])
    admin.list_group_offsets("golden-kp")
    admin.list_groups()
    admin.delete_topics(["golden-kp"])
    admin.close()


def run_confluent(bootstrap: str) -> None:
    from confluent_kafka import Consumer, Producer
    from confluent_kafka.admin import AdminClient, NewTopic

    admin = AdminClient({"bootstrap.servers": bootstrap})
    for f in admin.create_topics([NewTopic("golden-ck", 2, 1)]).values():
        f.result(10)
    producer = Producer({"bootstrap.servers": bootstrap, "enable.idempotence": True, "compression.type": "zstd"})
    producer.produce("golden-ck", key=b"k", value=b"v", headers=[("h", b"1")])
    producer.flush(10)
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": "golden-ck", "auto.offset.reset": "earliest"})
    consumer.subscribe(["golden-ck"])
    deadline = time.time() + 10
    while time.time() < deadline:
        msg = consumer.poll(0.5)
        if msg is not None and not msg.error():
            break
    consumer.commit(asynchronous=False)
    consumer.close()
    admin.list_consumer_groups().result(10)
    admin.describe_consumer_groups(["golden-ck"])["golden-ck"].result(10)
    for f in admin.delete_topics(["golden-ck"]).values():
        f.result(10)


def run_aiokafka(bootstrap: str) -> None:
    from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

    async def main() -> None:
        producer = AIOKafkaProducer(bootstrap_servers=bootstrap, compression_type="lz4")
        await producer.start()
        await producer.send_and_wait("golden-aio", key=b"k", value=b"v", headers=[("h", b"1")])
        await producer.stop()
        consumer = AIOKafkaConsumer("golden-aio", bootstrap_servers=bootstrap, group_id="golden-aio",
                                    auto_offset_reset="earliest")
        await consumer.start()
        await consumer.getone()
        await consumer.commit()
        await consumer.stop()

    asyncio.run(main())


def run_kcat(bootstrap: str) -> None:
    subprocess.run(["kcat", "-b", bootstrap, "-L"], check=True, capture_output=True, timeout=20)
    subprocess.run(["kcat", "-b", bootstrap, "-t", "golden-kcat", "-P"], input=b"hello\n", check=True,
                   capture_output=True, timeout=20)
    subprocess.run(["kcat", "-b", bootstrap, "-t", "golden-kcat", "-C", "-e"], check=True,
                   capture_output=True, timeout=20)


def main() -> int:
    broker_port, proxy_port = free_port(), free_port()
    with tempfile.TemporaryDirectory() as tmp:
        proc = subprocess.Popen([sys.executable, "-m", "broker", "--port", str(broker_port), "--data-dir",
                                 f"{tmp}/data", "--advertised-port", str(proxy_port),
                                 "-o", "group.initial.rebalance.delay.ms=0"], stderr=subprocess.DEVNULL)
        try:
            time.sleep(1.0)
            proxy = RecordingProxy(proxy_port, broker_port)
            bootstrap = f"127.0.0.1:{proxy_port}"
            for name, run in [("kafka-python", run_kafka_python), ("confluent", run_confluent),
                              ("aiokafka", run_aiokafka), ("kcat", run_kcat)]:
                proxy.client = name
                run(bootstrap)
                time.sleep(0.5)
        finally:
            proc.terminate()
            proc.wait()
    GOLDEN.mkdir(parents=True, exist_ok=True)
    for (client, api_key, version), frame in sorted(proxy.frames.items()):
        name = BY_KEY[api_key].name if api_key in BY_KEY else f"key{api_key}"
        (GOLDEN / f"{client}-{name}-v{version}.hex").write_text(frame.hex() + "\n")
    print(f"{len(proxy.frames)} frames written to {GOLDEN}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
