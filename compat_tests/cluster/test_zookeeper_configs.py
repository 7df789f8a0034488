"""The shared configs of quota entities and users, in a real ZooKeeper through kbroker's
coordination layer: a change keeps the keys it does not name (a user's quotas and SCRAM
credentials share one znode, as in Kafka), leaves Kafka's change notification, and old
notifications are deleted by their age."""

from __future__ import annotations

import json
import uuid

import anyio


def test_entity_configs_change_by_key_notify_and_expire(zookeeper):
    from broker.cluster import znodes as zn
    from broker.cluster.zk import ZooKeeperCoordination

    async def scenario():
        coord = ZooKeeperCoordination(f"{zookeeper.connect_string}/configs-{uuid.uuid4().hex[:8]}", 4000, 4000)
        await coord.connect()
        try:
            await coord.change_entity_config("users/alice", {"SCRAM-SHA-256": "salt=c2FsdA==,stored_key=a,"
                                                             "server_key=b,iterations=4096"})
            await coord.change_entity_config("users/alice", {"producer_byte_rate": "1024"})
            await coord.change_entity_config("users/alice/clients/app", {"consumer_byte_rate": "2048"})
            await coord.change_entity_config("ips/<default>", {"connection_creation_rate": "10"})
            await coord.change_entity_config("users/alice", {"producer_byte_rate": None})
            alice = await coord.entity_config("users/alice")
            users = await coord.entity_configs(zn.USERS)
            ips = await coord.entity_configs(zn.IPS)
            changes = await coord.config_changes()
            after = await coord.config_changes(after=changes[2][0])
            kept = await coord.expire_notifications(zn.CONFIG_CHANGES, zn.CONFIG_CHANGE_PREFIX, 60_000)
            expired = await coord.expire_notifications(zn.CONFIG_CHANGES, zn.CONFIG_CHANGE_PREFIX, -1_000)
            left = await coord.config_changes()
        finally:
            await coord.close()
        return alice, users, ips, changes, after, kept, expired, left

    alice, users, ips, changes, after, kept, expired, left = anyio.run(scenario)
    assert alice == {"SCRAM-SHA-256": "salt=c2FsdA==,stored_key=a,server_key=b,iterations=4096"}
    assert users == {"users/alice": alice, "users/alice/clients/app": {"consumer_byte_rate": "2048"}}
    assert ips == {"ips/<default>": {"connection_creation_rate": "10"}}
    assert [path for _, path in changes] == ["users/alice", "users/alice", "users/alice/clients/app",
                                             "ips/<default>", "users/alice"]
    assert after == changes[3:]
    assert (kept, expired, left) == (0, 5, [])


def test_notifications_are_kafkas_json(zookeeper):
    from kazoo.client import KazooClient

    from broker.cluster import znodes as zn
    from broker.cluster.zk import ZooKeeperCoordination

    chroot = f"/configs-{uuid.uuid4().hex[:8]}"

    async def change():
        coord = ZooKeeperCoordination(zookeeper.connect_string + chroot, 4000, 4000)
        await coord.connect()
        try:
            await coord.change_entity_config(zn.quota_entity_path({"client-id": None}), {"producer_byte_rate": "1"})
        finally:
            await coord.close()

    anyio.run(change)
    zk = KazooClient(hosts=zookeeper.connect_string + chroot)
    zk.start(timeout=10)
    try:
        [name] = zk.get_children("/config/changes")
        assert name.startswith("config_change_") and len(name) == len("config_change_") + 10
        assert json.loads(zk.get(f"/config/changes/{name}")[0]) == {"version": 2, "entity_path": "clients/<default>"}
        assert json.loads(zk.get("/config/clients/<default>")[0]) == {
            "version": 1, "config": {"producer_byte_rate": "1"}}
    finally:
        zk.stop()
        zk.close()

