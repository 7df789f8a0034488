"""``kbroker cluster --brokers 3 --data-dir D``: a development cluster on this machine.

A ZooKeeper of its own (in ``D/zookeeper``) and N brokers on consecutive ports from
``--port`` (default 9092), each with its data in ``D/broker-<id>`` and its log in
``D/broker-<id>.log``. It prints the bootstrap list and runs until Ctrl-C (or SIGTERM),
then stops the brokers (each a controlled shutdown) and ZooKeeper. Run again with the same
directory and the cluster comes back with its data.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from pathlib import Path

from broker.cluster.zookeeper_server import INSTALL_HELP, ZooKeeperServer, find_zookeeper, free_port


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="kbroker cluster",
                                description="Run ZooKeeper and a cluster of kbroker processes for development.")
    p.add_argument("--brokers", type=int, default=3, help="how many brokers (default 3)")
    p.add_argument("--data-dir", metavar="DIR", default="kbroker-cluster",
                   help="where ZooKeeper and the brokers keep their data and logs (default ./kbroker-cluster)")
    p.add_argument("--port", type=int, default=9092, help="the first broker's port; the others follow (default 9092)")
    p.add_argument("--zookeeper-port", type=int, help="ZooKeeper's port (default: a free one)")
    p.add_argument("--override", "-o", action="append", default=[], metavar="KEY=VALUE",
                   help="a server.properties key for every broker, e.g. -o min.insync.replicas=2")
    return p


def main(argv: list[str]) -> int:
    args = build_parser().parse_args(argv)
    if args.brokers < 1:
        print("kbroker cluster: --brokers must be at least 1", file=sys.stderr)
        return 2
    try:
        import kazoo  # noqa: F401
    except ImportError:
        print("kbroker cluster: cluster mode needs kazoo: pip install 'kbroker[cluster]'", file=sys.stderr)
        return 1
    install = find_zookeeper()
    if install is None:
        print(f"kbroker cluster: {INSTALL_HELP}", file=sys.stderr)
        return 1
    from broker.cluster.local import LocalCluster

    overrides = {}
    for item in args.override:
        key, sep, value = item.partition("=")
        if not sep:
            print(f"kbroker cluster: -o wants KEY=VALUE, not {item!r}", file=sys.stderr)
            return 2
        overrides[key.strip()] = value.strip()
    directory = Path(args.data_dir)
    zookeeper_dir = directory / "zookeeper"
    port_file = zookeeper_dir / "port"
    zk_port = args.zookeeper_port or (int(port_file.read_text()) if port_file.exists() else free_port())
    zookeeper = ZooKeeperServer(zookeeper_dir, port=zk_port, install=install)
    cluster = LocalCluster(directory, args.brokers, first_port=args.port, zookeeper=zookeeper,
                           overrides={"zookeeper.session.timeout.ms": "18000", **overrides})
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    try:
        zookeeper.start()
        port_file.write_text(str(zk_port))
        print(f"ZooKeeper on 127.0.0.1:{zk_port}", flush=True)
        cluster.start()
    except (RuntimeError, TimeoutError, OSError) as exc:
        print(f"kbroker cluster: {exc}", file=sys.stderr)
        cluster.stop()
        zookeeper.stop()
        return 1
    for node_id, broker in cluster.brokers.items():
        print(f"broker {node_id} on {broker.bootstrap} (pid {broker.pid}), data in {broker.data_dir}, log in "
              f"{directory / f'broker-{node_id}.log'}", flush=True)
    print(f"bootstrap servers: {cluster.bootstrap}", flush=True)
    print("Ctrl-C stops the cluster.", flush=True)
    try:
        while not stop.wait(1):
            for node_id, broker in cluster.brokers.items():
                if broker.proc is not None and broker.proc.poll() is not None:
                    print(f"broker {node_id} exited with {broker.proc.returncode}; see its log", flush=True)
                    broker.proc = None
    finally:
        print("stopping the cluster", flush=True)
        cluster.stop()
        zookeeper.stop()
    return 0
