"""What the controller knows (Kafka's ControllerContext), and the requests it sends from it.

Pure: brokers, topic assignments and partition states in memory, the questions the controller
asks of them, and the bodies of LeaderAndIsr (v6), UpdateMetadata (v8) and StopReplica (v3)
for any set of partitions. The shell (``controller.py``) keeps it in step with ZooKeeper.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from broker.cluster.znodes import LEADER_DURING_DELETE, NO_LEADER, BrokerInfo, LeaderAndIsr, TopicAssignment

LEADER_AND_ISR_VERSION = 6
UPDATE_METADATA_VERSION = 8
STOP_REPLICA_VERSION = 3
INCREMENTAL, FULL = 1, 2   # UpdateMetadata v8's Type
PLAINTEXT = 0              # SecurityProtocol id
SECURITY_PROTOCOL_IDS = {"PLAINTEXT": 0, "SSL": 1, "SASL_PLAINTEXT": 2, "SASL_SSL": 3}   # Kafka's SecurityProtocol

TopicPartition = tuple[str, int]


@dataclass
class ControllerContext:
    broker_id: int
    epoch: int = -1
    brokers: dict[int, BrokerInfo] = field(default_factory=dict)
    shutting_down: set[int] = field(default_factory=set)
    assignments: dict[str, TopicAssignment] = field(default_factory=dict)
    topic_versions: dict[str, int] = field(default_factory=dict)
    states: dict[TopicPartition, LeaderAndIsr] = field(default_factory=dict)
    deleting: set[str] = field(default_factory=set)

    # -- questions ----------------------------------------------------------------------------------

    @property
    def live(self) -> set[int]:
        return set(self.brokers)

    @property
    def live_not_stopping(self) -> set[int]:
        return set(self.brokers) - self.shutting_down

    def replicas(self, tp: TopicPartition) -> list[int]:
        assignment = self.assignments.get(tp[0])
        return [] if assignment is None else assignment.partitions.get(tp[1], [])

    def partitions(self) -> list[TopicPartition]:
        return [(t, p) for t, a in self.assignments.items() for p in sorted(a.partitions)]

    def partitions_of(self, topic: str) -> list[TopicPartition]:
        assignment = self.assignments.get(topic)
        return [] if assignment is None else [(topic, p) for p in sorted(assignment.partitions)]

    def partitions_on(self, broker_id: int) -> list[TopicPartition]:
        return [tp for tp in self.partitions() if broker_id in self.replicas(tp)]

    def led_by(self, broker_id: int) -> list[TopicPartition]:
        return [tp for tp, s in self.states.items() if s.leader == broker_id]

    def offline(self) -> list[TopicPartition]:
        """Partitions with a state whose leader is not a live broker."""
        live = self.live
        return [tp for tp, s in self.states.items() if s.leader not in live and tp[0] not in self.deleting]

    def without_state(self) -> list[TopicPartition]:
        return [tp for tp in self.partitions() if tp not in self.states and tp[0] not in self.deleting]

    # -- requests -----------------------------------------------------------------------------------------

    def _live_brokers(self) -> list[dict]:
        return [{"id": b.broker_id, "endpoints": [
                    {"port": port, "host": host, "listener": name,
                     "security_protocol": SECURITY_PROTOCOL_IDS.get(protocol, PLAINTEXT)}
                    for name, protocol, host, port in b.listeners or (("PLAINTEXT", "PLAINTEXT", b.host, b.port),)],
                 "rack": b.rack}
                for b in sorted(self.brokers.values(), key=lambda b: b.broker_id)]

    def leader_and_isr(self, broker_id: int, partitions, *, is_new: bool = False) -> dict | None:
        """LeaderAndIsr for the partitions of ``partitions`` that ``broker_id`` replicates."""
        topics: dict[str, list[dict]] = {}
        leaders = set()
        for tp in partitions:
            state = self.states.get(tp)
            replicas = self.replicas(tp)
            if state is None or broker_id not in replicas:
                continue
            leaders.add(state.leader)
            topics.setdefault(tp[0], []).append({
                "partition_index": tp[1], "controller_epoch": state.controller_epoch, "leader": state.leader,
                "leader_epoch": state.leader_epoch, "isr": list(state.isr), "partition_epoch": state.zk_version,
                "replicas": replicas, "adding_replicas": self.assignments[tp[0]].adding.get(tp[1], []),
                "removing_replicas": self.assignments[tp[0]].removing.get(tp[1], []), "is_new": is_new,
                "leader_recovery_state": 0})
        if not topics:
            return None
        broker = self.brokers.get(broker_id)
        return {
            "controller_id": self.broker_id, "controller_epoch": self.epoch,
            "broker_epoch": broker.epoch if broker is not None else -1, "type": 0,
            "topic_states": [{"topic_name": t, "topic_id": self.assignments[t].topic_id.bytes, "partition_states": s}
                             for t, s in topics.items()],
            "live_leaders": [{"broker_id": b.broker_id, "host_name": b.host, "port": b.port}
                             for b in (self.brokers.get(i) for i in sorted(leaders)) if b is not None],
        }

    def update_metadata(self, partitions=None, *, deleted=(), full: bool = False) -> dict:
        """UpdateMetadata with every live broker and the states of ``partitions`` (all when None);
        the partitions of ``deleted`` topics with leader -2, as Kafka marks a deletion."""
        live = self.live
        topics: dict[str, list[dict]] = {}
        for tp in (self.partitions() if partitions is None else partitions):
            state = self.states.get(tp)
            if state is None or tp[0] not in self.assignments:
                continue
            replicas = self.replicas(tp)
            topics.setdefault(tp[0], []).append({
                "partition_index": tp[1], "controller_epoch": state.controller_epoch, "leader": state.leader,
                "leader_epoch": state.leader_epoch, "isr": list(state.isr), "zk_version": state.zk_version,
                "replicas": replicas, "offline_replicas": [r for r in replicas if r not in live]})
        topic_states = [{"topic_name": t, "topic_id": self.assignments[t].topic_id.bytes, "partition_states": s}
                        for t, s in topics.items()]
        for topic, assignment in deleted:
            topic_states.append({"topic_name": topic, "topic_id": assignment.topic_id.bytes, "partition_states": [
                {"partition_index": p, "controller_epoch": self.epoch, "leader": LEADER_DURING_DELETE,
                 "leader_epoch": -1, "isr": [], "zk_version": -1, "replicas": replicas, "offline_replicas": []}
                for p, replicas in sorted(assignment.partitions.items())]})
        return {"controller_id": self.broker_id, "controller_epoch": self.epoch, "broker_epoch": -1,
                "type": FULL if full else INCREMENTAL, "topic_states": topic_states,
                "live_brokers": self._live_brokers()}

    def stop_replica(self, broker_id: int, partitions, *, delete: bool) -> dict | None:
        topics: dict[str, list[dict]] = {}
        for tp in partitions:
            state = self.states.get(tp)
            topics.setdefault(tp[0], []).append({
                "partition_index": tp[1], "leader_epoch": -2 if delete else (state.leader_epoch if state else -1),
                "delete_partition": delete})
        if not topics:
            return None
        broker = self.brokers.get(broker_id)
        return {"controller_id": self.broker_id, "controller_epoch": self.epoch,
                "broker_epoch": broker.epoch if broker is not None else -1,
                "topic_states": [{"topic_name": t, "partition_states": s} for t, s in topics.items()]}


def new_partition_state(replicas: list[int], live: set[int], controller_epoch: int) -> LeaderAndIsr | None:
    """Kafka's NewPartition -> OnlinePartition: the live assigned replicas, the first leading."""
    alive = [r for r in replicas if r in live]
    if not alive:
        return None
    return LeaderAndIsr(alive[0], 0, tuple(alive), controller_epoch)


__all__ = ["ControllerContext", "new_partition_state", "NO_LEADER"]
