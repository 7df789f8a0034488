"""A local cluster of processes: one ZooKeeper and N brokers on consecutive ports.

``kbroker cluster`` runs one for development; the cluster tests and benchmarks drive one to
kill, stop, pause and restart its brokers as real processes.
"""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

from broker.cluster.zookeeper_server import ZooKeeperServer, free_port
from broker.testing import BrokerProcess, RawClient
from kproto.messages import METADATA


class LocalCluster:
    def __init__(self, directory: Path, brokers: int = 3, *, first_port: int | None = None,
                 overrides: dict[str, str] | None = None, zookeeper: ZooKeeperServer | None = None,
                 chroot: str = "/kbroker", racks: list[str] | None = None, log_level: str = "INFO"):
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        self.zookeeper = zookeeper or ZooKeeperServer(self.directory / "zookeeper")
        self._own_zookeeper = zookeeper is None
        self.chroot = chroot
        ports = [first_port + i for i in range(brokers)] if first_port else [free_port() for _ in range(brokers)]
        settings = {"zookeeper.session.timeout.ms": "6000", "default.replication.factor": str(min(3, brokers)),
                    "offsets.topic.replication.factor": str(min(3, brokers)),
                    "transaction.state.log.replication.factor": str(min(3, brokers)),
                    "transaction.state.log.min.isr": str(min(2, brokers)),
                    "group.initial.rebalance.delay.ms": "0", **(overrides or {})}
        self.brokers = {}
        for i, port in enumerate(ports):
            node_id = i + 1
            args = ["--node-id", str(node_id), "--zookeeper", self.connect, "--log-level", log_level]
            if racks:
                args += ["--rack", racks[i % len(racks)]]
            self.brokers[node_id] = BrokerProcess(self.directory / f"broker-{node_id}", port=port,
                                                  overrides=settings, args=args,
                                                  log_path=self.directory / f"broker-{node_id}.log")

    @property
    def connect(self) -> str:
        return self.zookeeper.connect_string + self.chroot

    @property
    def bootstrap(self) -> str:
        return ",".join(b.bootstrap for b in self.brokers.values())

    def start(self, timeout_s: float = 60) -> LocalCluster:
        if self._own_zookeeper or self.zookeeper.proc is None:
            self.zookeeper.start()
        for broker in self.brokers.values():
            broker.start()
        self.wait_for_brokers(len(self.brokers), timeout_s)
        return self

    def stop(self) -> None:
        for broker in self.brokers.values():
            if broker.proc is not None:
                broker.proc.send_signal(signal.SIGTERM)
        for broker in self.brokers.values():
            broker.stop()
        if self._own_zookeeper:
            self.zookeeper.stop()

    def kill(self) -> None:
        for broker in self.brokers.values():
            broker.kill()
        if self._own_zookeeper:
            self.zookeeper.kill()

    def __enter__(self) -> LocalCluster:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    # -- looking at it --------------------------------------------------------------------------------------------

    def metadata(self, node_id: int | None = None, topics: list[str] | None = None) -> dict:
        """A Metadata v12 answer from one broker (the first running one by default)."""
        broker = self.brokers[node_id] if node_id else next(b for b in self.brokers.values() if b.proc)
        with RawClient(broker.bootstrap, timeout_s=5) as client:
            return client.request(METADATA, 12, {
                "topics": None if topics is None else [{"topic_id": bytes(16), "name": t} for t in topics],
                "allow_auto_topic_creation": False, "include_topic_authorized_operations": False})

    def wait_for_brokers(self, count: int, timeout_s: float = 60) -> None:
        """Until every running broker's Metadata lists ``count`` brokers and a controller."""
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                answers = [self.metadata(i) for i, b in self.brokers.items() if b.proc is not None]
                if all(len(a["brokers"]) == count and a["controller_id"] > 0 for a in answers):
                    return
            except (OSError, ConnectionError):
                pass
            if time.monotonic() > deadline:
                raise TimeoutError(f"the cluster did not show {count} brokers in {timeout_s} s")
            time.sleep(0.1)

    def leader(self, topic: str, partition: int = 0, *, via: int | None = None) -> int:
        for t in self.metadata(via, [topic])["topics"]:
            for p in t["partitions"]:
                if p["partition_index"] == partition:
                    return p["leader_id"]
        return -1

    def partition(self, topic: str, partition: int = 0, *, via: int | None = None) -> dict | None:
        for t in self.metadata(via, [topic])["topics"]:
            for p in t["partitions"]:
                if p["partition_index"] == partition:
                    return p
        return None

    def wait_for(self, condition, timeout_s: float = 30, interval_s: float = 0.05, what: str = "condition"):
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                value = condition()
                if value:
                    return value
            except (OSError, ConnectionError, StopIteration):
                pass
            if time.monotonic() > deadline:
                raise TimeoutError(f"{what} not reached in {timeout_s} s")
            time.sleep(interval_s)

    def pids(self) -> dict[int, int]:
        return {i: b.pid for i, b in self.brokers.items() if b.pid is not None}

    def signal(self, node_id: int, signum: int) -> None:
        os.kill(self.brokers[node_id].pid, signum)
