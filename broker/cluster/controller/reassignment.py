"""Moving a partition's replicas (KIP-455, AlterPartitionReassignments), as Kafka's controller does.

Start: the topic's znode gets the full replica set (the target first, then the original
replicas leaving) with ``adding_replicas`` and ``removing_replicas``; the leader's epoch goes
up and every replica of the full set hears it (LeaderAndIsr), so the new ones start to
follow and catch up (at ``leader.replication.throttled.rate`` when set). Completion, once
every target replica is in the ISR: a leader from the target (the reassignment election)
when the current one leaves, the ISR cut to the target, the znode holding the target alone,
and StopReplica (delete) to the replicas that left. Cancelling (replicas null) moves back to
the original replicas the same way. A reassignment survives a controller failover: the new
controller reads it from the znodes and finishes it.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from broker.cluster.controller import election
from broker.cluster.controller.state import STOP_REPLICA_VERSION, TopicPartition
from broker.cluster.coord import BadVersion
from broker.cluster.znodes import TopicAssignment
from kproto.errors import ErrorCode
from kproto.messages import STOP_REPLICA

if TYPE_CHECKING:
    from broker.cluster.controller.controller import Controller

log = logging.getLogger("kbroker.controller")


class Reassignments:
    def __init__(self, controller: Controller):
        self.controller = controller

    @property
    def ctx(self):
        return self.controller.ctx

    def ongoing(self) -> list[TopicPartition]:
        return [(t, p) for t, a in self.ctx.assignments.items() for p in sorted(set(a.adding) | set(a.removing))
                if t not in self.ctx.deleting]

    def target(self, tp: TopicPartition) -> list[int]:
        assignment = self.ctx.assignments[tp[0]]
        removing = assignment.removing.get(tp[1], [])
        return [r for r in assignment.partitions[tp[1]] if r not in removing]

    def _check(self, target: list[int]) -> tuple[int, str] | None:
        if not target:
            return (ErrorCode.INVALID_REPLICA_ASSIGNMENT,
                    "The manual partition assignment includes an empty replica list.")
        if len(set(target)) != len(target):
            return ErrorCode.INVALID_REPLICA_ASSIGNMENT, ("The manual partition assignment includes a broker more "
                                                          "than once.")
        unknown = [b for b in target if b not in self.ctx.live]
        if unknown:
            return ErrorCode.INVALID_REPLICA_ASSIGNMENT, (f"The manual partition assignment includes broker "
                                                          f"{unknown[0]}, but no such broker is registered.")
        return None

    async def alter(self, moves: list[tuple[str, int, list[int] | None]]
                    ) -> dict[TopicPartition, tuple[int, str | None]]:
        """Start (or cancel) moves; per partition (error code, message)."""
        ctx = self.ctx
        results: dict[TopicPartition, tuple[int, str | None]] = {}
        by_topic: dict[str, list[tuple[int, list[int] | None]]] = {}
        for topic, partition, target in moves:
            by_topic.setdefault(topic, []).append((partition, target))
        started = []
        for topic, items in by_topic.items():
            assignment = ctx.assignments.get(topic)
            if assignment is None or topic in ctx.deleting:
                for partition, _ in items:
                    results[(topic, partition)] = (ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
                                                   f"Unable to find a topic named {topic}.")
                continue
            partitions = dict(assignment.partitions)
            adding, removing = dict(assignment.adding), dict(assignment.removing)
            changed = []
            for partition, target in items:
                tp = (topic, partition)
                if partition not in partitions:
                    results[tp] = ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, f"Unable to find partition {topic}:{partition}."
                    continue
                original = [r for r in partitions[partition] if r not in adding.get(partition, [])]
                if target is None:
                    if partition not in adding and partition not in removing:
                        results[tp] = ErrorCode.NO_REASSIGNMENT_IN_PROGRESS, "No partition reassignment is in progress."
                        continue
                    target = original
                problem = self._check(list(target))
                if problem is not None:
                    results[tp] = problem
                    continue
                add = [r for r in target if r not in original]
                leave = [r for r in original if r not in target]
                partitions[partition] = list(target) + leave
                adding.pop(partition, None)
                removing.pop(partition, None)
                if add or leave:
                    if add:
                        adding[partition] = add
                    if leave:
                        removing[partition] = leave
                    log.info("moving %s-%d from %s to %s", topic, partition, original, list(target))
                else:
                    partitions[partition] = list(target)
                changed.append(tp)
                results[tp] = ErrorCode.NONE, None
            if changed and not await self._write_assignment(topic, TopicAssignment(assignment.topic_id, partitions,
                                                                                   adding, removing)):
                for tp in changed:
                    results[tp] = ErrorCode.REASSIGNMENT_IN_PROGRESS, "The topic changed meanwhile; try again."
                continue
            started += changed
        # every replica of the full set hears of it (a new epoch): the new ones start to follow
        await self.controller._write_and_send({tp: ctx.states[tp].with_leader(ctx.states[tp].leader, ctx.states[tp].isr,
                                                                              ctx.epoch)
                                               for tp in started if tp in ctx.states})
        await self.maybe_complete(started)
        return results

    async def _write_assignment(self, topic: str, assignment: TopicAssignment) -> bool:
        ctx = self.ctx
        try:
            ctx.topic_versions[topic] = await self.controller.coord.set_topic(topic, assignment,
                                                                              ctx.topic_versions[topic])
        except BadVersion:
            return False
        ctx.assignments[topic] = assignment
        return True

    async def maybe_complete(self, partitions) -> None:
        """Finish the moves whose target replicas are all in the ISR."""
        ctx = self.ctx
        for tp in partitions:
            assignment = ctx.assignments.get(tp[0])
            state = ctx.states.get(tp)
            if assignment is None or state is None or (tp[1] not in assignment.adding and
                                                       tp[1] not in assignment.removing):
                continue
            target = self.target(tp)
            if not set(target) <= set(state.isr):
                continue
            leader, isr = state.leader, [r for r in state.isr if r in target]
            if leader not in target or leader not in ctx.live_not_stopping:
                chosen = election.reassignment(target, state.isr, ctx.live_not_stopping)
                if chosen is None:
                    continue
                leader = chosen[0]
            leaving = assignment.removing.get(tp[1], [])
            partitions = {**assignment.partitions, tp[1]: target}
            adding = {p: r for p, r in assignment.adding.items() if p != tp[1]}
            removing = {p: r for p, r in assignment.removing.items() if p != tp[1]}
            if not await self._write_assignment(tp[0], TopicAssignment(assignment.topic_id, partitions, adding,
                                                                       removing)):
                continue
            await self.controller._write_and_send({tp: state.with_leader(leader, isr, ctx.epoch)})
            for broker_id in leaving:
                body = ctx.stop_replica(broker_id, [tp], delete=True)
                if body is not None and broker_id in ctx.live:
                    self.controller._send(broker_id, STOP_REPLICA, STOP_REPLICA_VERSION, body)
            log.info("moved %s-%d to %s (leader %d)", *tp, target, leader)

    def listed(self, wanted: list[TopicPartition] | None) -> dict[str, list[dict]]:
        ctx = self.ctx
        ongoing = set(self.ongoing())
        chosen = sorted(ongoing if wanted is None else [tp for tp in wanted if tp in ongoing])
        topics: dict[str, list[dict]] = {}
        for topic, partition in chosen:
            assignment = ctx.assignments[topic]
            topics.setdefault(topic, []).append({
                "partition_index": partition, "replicas": assignment.partitions[partition],
                "adding_replicas": assignment.adding.get(partition, []),
                "removing_replicas": assignment.removing.get(partition, [])})
        return topics
