"""Fixtures for cluster mode: one ZooKeeper for the session, and clusters of broker processes.

Each test gets clusters of its own (their own chroot in the shared ZooKeeper, their own data
directories) to kill, stop and restart. Without an installed ZooKeeper (Debian's
``zookeeper``: ``.ci/install-system-deps`` installs it) or kazoo, every test here skips and
says so.
"""

from __future__ import annotations

import uuid

import pytest

from broker.cluster.zookeeper_server import INSTALL_HELP, ZooKeeperServer, find_zookeeper


@pytest.fixture(scope="session")
def zookeeper(tmp_path_factory):
    pytest.importorskip("kazoo", reason="cluster mode needs kazoo: pip install 'kbroker[cluster]'")
    install = find_zookeeper()
    if install is None:
        pytest.skip(f"the cluster tests need ZooKeeper. {INSTALL_HELP}")
    server = ZooKeeperServer(tmp_path_factory.mktemp("zookeeper"), install=install).start()
    yield server
    server.stop()


@pytest.fixture
def make_cluster(zookeeper, tmp_path):
    """``make_cluster(brokers=3, **settings)`` -> a started LocalCluster; all killed at the end."""
    from broker.cluster.local import LocalCluster

    made = []

    def make(brokers: int = 3, racks: list[str] | None = None, start: bool = True, **settings) -> LocalCluster:
        overrides = {"zookeeper.session.timeout.ms": "2000", "replica.lag.time.max.ms": "3000",
                     **{k.replace("_", "."): str(v) for k, v in settings.items()}}
        cluster = LocalCluster(tmp_path / f"cluster-{len(made)}", brokers, zookeeper=zookeeper,
                               chroot=f"/test-{uuid.uuid4().hex[:8]}", overrides=overrides, racks=racks)
        made.append(cluster)
        return cluster.start() if start else cluster

    yield make
    for cluster in made:
        for broker in cluster.brokers.values():
            broker.kill()


@pytest.fixture(scope="module")
def shared_cluster(zookeeper, tmp_path_factory):
    """Three brokers for the tests that only read and write."""
    from broker.cluster.local import LocalCluster

    cluster = LocalCluster(tmp_path_factory.mktemp("shared-cluster"), 3, zookeeper=zookeeper,
                           chroot=f"/shared-{uuid.uuid4().hex[:8]}",
                           overrides={"zookeeper.session.timeout.ms": "4000"}).start()
    yield cluster
    cluster.stop()
