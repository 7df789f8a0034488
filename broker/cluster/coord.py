"""The coordination interface cluster mode needs, and nothing more.

Brokers register and watch each other, elect a controller, and keep topic assignments,
partition states, topic configs and producer-id blocks. ``zk.ZooKeeperCoordination`` does it
on ZooKeeper with Kafka's znode layout; another engine (etcd: leases for ephemeral nodes,
transactions on revisions for versions) would implement this same class.

Every method is a coroutine on the event loop. A watch is a plain callable called on the
event loop, once, when what it watches changes; whoever set it re-reads, which sets it
again, as Kafka's controller does. Partition states are written only by the controller,
conditionally on both the state's version and the controller epoch's version: a write by a
controller that lost its election fails with ``ControllerMoved``, one racing another
writer with ``BadVersion``.
"""

from __future__ import annotations

from typing import Callable

from broker.cluster.znodes import BrokerInfo, LeaderAndIsr, TopicAssignment

Watch = Callable[[], None]


class CoordinationError(Exception):
    """The coordination service could not be reached or refused the operation."""


class NodeExists(CoordinationError):
    pass


class NoNode(CoordinationError):
    pass


class BadVersion(CoordinationError):
    pass


class ControllerMoved(CoordinationError):
    """A controller's fenced write failed: another controller was elected since."""


class Coordination:
    """What a broker and its controller ask of the coordination service."""

    #: "connected", "suspended" (connection lost, session may live) or "lost" (session expired)
    state: str

    async def connect(self) -> None:
        raise NotImplementedError

    async def close(self) -> None:
        raise NotImplementedError

    def on_session_change(self, listener: Callable[[str], None]) -> None:
        """``listener(state)`` on the event loop whenever the session's state changes."""
        raise NotImplementedError

    # -- the cluster and its brokers --------------------------------------------------------

    async def cluster_id(self, proposed: str) -> str:
        """The cluster's id, ``proposed`` if there was none yet."""
        raise NotImplementedError

    async def register_broker(self, info: BrokerInfo) -> int:
        """An ephemeral registration; returns the broker epoch. NodeExists if the id is taken."""
        raise NotImplementedError

    async def registration_gone(self, broker_id: int, watch: Watch) -> bool:
        """True if no broker holds ``broker_id``; else ``watch`` fires when it changes."""
        raise NotImplementedError

    async def live_brokers(self, watch: Watch | None = None) -> dict[int, BrokerInfo]:
        raise NotImplementedError

    # -- the controller ------------------------------------------------------------------------

    async def controller_id(self, watch: Watch | None = None) -> int:
        """The elected controller, -1 if none."""
        raise NotImplementedError

    async def elect_controller(self, broker_id: int) -> int | None:
        """Become the controller if there is none: the new controller epoch, or None if another
        broker is the controller."""
        raise NotImplementedError

    async def resign_controller(self, broker_id: int) -> None:
        raise NotImplementedError

    # -- topics ------------------------------------------------------------------------------------

    async def topics(self, watch: Watch | None = None) -> list[str]:
        raise NotImplementedError

    async def topic(self, topic: str, watch: Watch | None = None) -> tuple[TopicAssignment, int] | None:
        """A topic's assignment and its version, None if there is no such topic."""
        raise NotImplementedError

    async def create_topic(self, topic: str, assignment: TopicAssignment, configs: dict[str, str]) -> None:
        """NodeExists if the topic exists."""
        raise NotImplementedError

    async def set_topic(self, topic: str, assignment: TopicAssignment, version: int) -> int:
        """Replace the assignment if it is still at ``version`` (BadVersion); the new version."""
        raise NotImplementedError

    async def topic_configs(self, topic: str) -> dict[str, str]:
        raise NotImplementedError

    async def set_topic_configs(self, topic: str, configs: dict[str, str]) -> None:
        """Replace a topic's config overrides and tell every broker (a change notification)."""
        raise NotImplementedError

    async def config_changes(self, watch: Watch | None = None, after: int = -1) -> list[tuple[int, str]]:
        """The change notifications numbered above ``after``, in order: (sequence number, entity
        path such as ``topics/T``)."""
        raise NotImplementedError

    async def topics_to_delete(self, watch: Watch | None = None) -> list[str]:
        raise NotImplementedError

    # -- quota and user configs (``users/U``, ``users/U/clients/C``, ``clients/C``, ``ips/I``) --------------

    async def entity_configs(self, root: str) -> dict[str, dict[str, str]]:
        """Every config under ``/config/<root>`` by entity path (``users/alice``; for users also
        ``users/alice/clients/app``)."""
        raise NotImplementedError

    async def entity_config(self, entity_path: str) -> dict[str, str]:
        """One entity's config, {} if it has none."""
        raise NotImplementedError

    async def change_entity_config(self, entity_path: str, changes: dict[str, str | None]) -> None:
        """Set keys of one entity's config (None: remove the key), conditionally on the znode's
        version and retried on a race, and tell every broker (a config change notification)."""
        raise NotImplementedError

    async def expire_notifications(self, directory: str, prefix: str, max_age_ms: int) -> int:
        """Delete the notifications in ``directory`` made more than ``max_age_ms`` ago; how many."""
        raise NotImplementedError

    # -- ACLs (shared by every broker, as Kafka's AclAuthorizer keeps them in ZooKeeper) ----------------------

    async def acls(self) -> dict[tuple, list[tuple]]:
        """Every ACL: {(resource type, pattern type, name): [(principal, host, operation, permission)]}."""
        raise NotImplementedError

    async def change_acls(self, resource: tuple, added: list[tuple], removed: list[tuple]) -> None:
        """Add and remove entries of one resource's ACLs (a conditional write, retried on a race)
        and tell every broker (a change notification)."""
        raise NotImplementedError

    async def acl_changes(self, watch: Watch | None = None) -> set[str]:
        """The names of the ACL change notifications; ``watch`` fires when one is added."""
        raise NotImplementedError

    async def request_topic_deletion(self, topic: str) -> None:
        raise NotImplementedError

    async def delete_topic(self, topic: str) -> None:
        """Remove every znode of a deleted topic, its deletion request last."""
        raise NotImplementedError

    # -- partition states (the controller's) ---------------------------------------------------

    async def partition_states(self, topic: str) -> dict[int, LeaderAndIsr]:
        raise NotImplementedError

    async def create_partition_state(self, topic: str, partition: int, state: LeaderAndIsr) -> LeaderAndIsr:
        """Create the state znode (fenced by the controller epoch); the state at its version."""
        raise NotImplementedError

    async def update_partition_state(self, topic: str, partition: int, state: LeaderAndIsr) -> LeaderAndIsr:
        """Write ``state`` if the znode is still at ``state.zk_version`` (BadVersion) and this
        controller still holds its epoch (ControllerMoved); the state at its new version."""
        raise NotImplementedError

    # -- producer ids ---------------------------------------------------------------------------------

    async def allocate_producer_ids(self, broker_id: int, count: int) -> tuple[int, int]:
        """A block of ``count`` producer ids no other broker gets: (first, last)."""
        raise NotImplementedError
