"""What Produce, Fetch and ListOffsets ask of replication: the seam at ``broker.replication``.

One broker has no seam (``broker.replication`` is None) and its handlers run as they always
did. In cluster mode the shared handlers consult this object:

- Produce: only the leader takes records (NOT_LEADER_OR_FOLLOWER, with KIP-951's current
  leader); acks=all needs ``min.insync.replicas`` in the ISR before it appends
  (NOT_ENOUGH_REPLICAS) and waits until the high watermark passes the records (too few left
  in the ISR then: NOT_ENOUGH_REPLICAS_AFTER_APPEND; no high watermark in time:
  REQUEST_TIMED_OUT).
- Fetch: a follower's replica Fetch tells the leader where the follower is (its log end
  offset), which moves the high watermark and may take the follower into the ISR; it reads
  to the log end. Consumers read to the high watermark, from the leader or (KIP-392, Fetch
  v11+) from any replica; with the rack-aware selector the leader points a consumer at a
  replica in its ``client.rack``. Leader epochs are checked (FENCED_LEADER_EPOCH,
  UNKNOWN_LEADER_EPOCH).
"""

from __future__ import annotations

from typing import TYPE_CHECKING
from uuid import UUID

import anyio

from broker.clock import now_ms
from broker.handlers.fetch import _Partition, partition_entry
from kproto.errors import ErrorCode

if TYPE_CHECKING:
    from broker.cluster.node import ClusterNode
    from broker.cluster.partition import AckWaiter, Partition

# errors that come with a hint of the current leader (KIP-951)
LEADER_HINTED = {ErrorCode.NOT_LEADER_OR_FOLLOWER, ErrorCode.FENCED_LEADER_EPOCH}


def replica_id_of(req: dict, api_version: int) -> int:
    """The fetching replica: Fetch v0-14 ``replica_id``, v15+ ``replica_state.replica_id`` (KIP-903)."""
    return req["replica_id"] if api_version <= 14 else req["replica_state"]["replica_id"]


class Replication:
    def __init__(self, node: ClusterNode):
        self.node = node
        self.replicas = node.replicas
        self.metadata = node.metadata
        self.config = node.config
        self._pending_acks: list[tuple[str, int, AckWaiter]] = []
        self._throttle_bytes = 0.0   # leader.replication.throttled.rate's allowance for reassigning replicas
        self._throttle_at = 0.0

    # -- answers -----------------------------------------------------------------------------------------

    def _leader_or_error(self, topic: str, index: int) -> tuple[Partition | None, int]:
        p = self.replicas.partitions.get((topic, index))
        if p is not None and p.is_leader and not self.replicas.fenced:
            return p, ErrorCode.NONE
        if self.metadata.partition(topic, index) is None and p is None:
            return None, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION
        return None, ErrorCode.NOT_LEADER_OR_FOLLOWER

    def current_leader(self, topic: str, index: int) -> dict:
        view = self.metadata.partition(topic, index)
        if view is None:
            return {"leader_id": -1, "leader_epoch": -1}
        return {"leader_id": view.leader, "leader_epoch": view.leader_epoch}

    def min_insync_replicas(self, topic: str) -> int:
        info = self.node.broker.storage.topic(topic)
        value = info.configs.get("min.insync.replicas") if info is not None else None
        return int(value) if value else self.config.min_insync_replicas

    # -- Produce ---------------------------------------------------------------------------------------

    def produce_error(self, topic: str, index: int, acks: int) -> int:
        """The error a partition's records get before they are appended, 0 if none."""
        p, code = self._leader_or_error(topic, index)
        if code:
            return code
        if acks == -1 and len(p.isr) < self.min_insync_replicas(topic):
            return ErrorCode.NOT_ENOUGH_REPLICAS
        return ErrorCode.NONE

    def appended(self, topic: str, index: int, end_offset: int, acks: int) -> None:
        """Records up to ``end_offset`` are in the leader's log; acks=all waits for the ISR."""
        p = self.replicas.partitions[(topic, index)]
        if p.log.follows_log_end:
            p.complete_waiters()
        if acks == -1:
            self._pending_acks.append((topic, index, p.wait_for(end_offset)))

    def drop_pending(self) -> None:
        self._pending_acks = []

    async def complete_produce(self, response: dict | None, timeout_ms: int, api_version: int,
                               listener: str | None = None) -> None:
        """Wait for the acks=all partitions of the produce just handled, then give each its outcome
        and the leader hints of KIP-951 (v10+), with the endpoints of the client's ``listener``."""
        waits, self._pending_acks = self._pending_acks, []
        if response is None:
            return
        entries = {(t["name"], p["index"]): p for t in response["responses"] for p in t["partition_responses"]}
        deadline = anyio.current_time() + max(timeout_ms, 0) / 1000
        for topic, index, waiter in waits:
            with anyio.move_on_after(deadline - anyio.current_time()):
                await waiter.event.wait()
            p = self.replicas.partitions.get((topic, index))
            if p is None or not p.is_leader or self.replicas.fenced or p.leader_epoch != waiter.leader_epoch:
                code = ErrorCode.NOT_LEADER_OR_FOLLOWER
            elif p.log.high_watermark < waiter.required_offset:
                code = ErrorCode.REQUEST_TIMED_OUT
            elif len(p.isr) < self.min_insync_replicas(topic):
                code = ErrorCode.NOT_ENOUGH_REPLICAS_AFTER_APPEND
            else:
                continue
            entries[(topic, index)].update(error_code=code, base_offset=-1, log_append_time_ms=-1,
                                           log_start_offset=-1)
        if api_version >= 10:
            hinted = set()
            for (topic, index), entry in entries.items():
                if entry["error_code"] in LEADER_HINTED:
                    entry["current_leader"] = hint = self.current_leader(topic, index)
                    hinted.add(hint["leader_id"])
            if hinted:
                response["node_endpoints"] = self.metadata.endpoints(hinted, listener)

    # -- Fetch ----------------------------------------------------------------------------------------------

    def resolve_fetch(self, ctx, req: dict) -> tuple[list[dict], list[_Partition], bool]:
        """The fetch handler's first step in cluster mode: the response skeleton, the partitions
        to read, and whether any is in error (as ``broker.handlers.fetch._resolve``)."""
        by_id = ctx.api_version >= 13
        replica_id = replica_id_of(req, ctx.api_version)
        client_rack = req["rack_id"] if ctx.api_version >= 11 else ""
        storage = ctx.broker.storage
        now = now_ms()
        responses, readable, errors = [], [], False
        for topic in req["topics"]:
            name = self.metadata.names_by_id.get(UUID(bytes=topic["topic_id"])) if by_id else topic["topic"]
            partitions = []
            responses.append({"topic": topic["topic"], "topic_id": topic["topic_id"], "partitions": partitions})
            for part in topic["partitions"]:
                index = part["partition"]
                entry = partition_entry(index)
                partitions.append(entry)
                code, p = self._fetch_check(name, index, part, replica_id, ctx.api_version, now)
                if code:
                    if code == ErrorCode.UNKNOWN_TOPIC_OR_PARTITION and by_id and name is None:
                        code = ErrorCode.UNKNOWN_TOPIC_ID
                    entry["error_code"] = code
                    if code in LEADER_HINTED and ctx.api_version >= 12:
                        entry["current_leader"] = self.current_leader(name, index)
                    errors = True
                    continue
                if replica_id < 0 and client_rack and p.is_leader and self.config.rack_aware_reads:
                    preferred = self._preferred_replica(p, client_rack)
                    if preferred is not None:
                        entry.update(preferred_read_replica=preferred, high_watermark=p.log.high_watermark,
                                     last_stable_offset=p.log.last_stable_offset,
                                     log_start_offset=p.log.log_start_offset)
                        continue
                max_bytes = part["partition_max_bytes"]
                if replica_id >= 0 and replica_id in p.adding and self.config.leader_replication_throttled_rate >= 0:
                    max_bytes = self._throttled(max_bytes)
                    if max_bytes <= 0:   # over the rate: this partition sends nothing this time
                        entry.update(high_watermark=p.log.high_watermark, last_stable_offset=p.log.last_stable_offset,
                                     log_start_offset=p.log.log_start_offset)
                        continue
                readable.append(_Partition(storage.partition(name, index), name, part["fetch_offset"],
                                           max_bytes, entry))
        return responses, readable, errors

    def _throttled(self, max_bytes: int) -> int:
        """Bytes a reassigning replica's fetch may take now: a token bucket filled at
        ``leader.replication.throttled.rate`` bytes/s, holding at most a second's worth."""
        rate = self.config.leader_replication_throttled_rate
        now = anyio.current_time()
        self._throttle_bytes = min(rate, self._throttle_bytes + (now - self._throttle_at) * rate)
        self._throttle_at = now
        allowed = int(min(max_bytes, self._throttle_bytes))
        self._throttle_bytes -= max(allowed, 0)
        return allowed

    def _fetch_check(self, name: str | None, index: int, part: dict, replica_id: int, api_version: int,
                     now: int) -> tuple[int, Partition | None]:
        if name is None:
            return ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, None
        p = self.replicas.partitions.get((name, index))
        if p is None:
            known = self.metadata.partition(name, index) is not None
            return (ErrorCode.NOT_LEADER_OR_FOLLOWER if known else ErrorCode.UNKNOWN_TOPIC_OR_PARTITION), None
        epoch = part["current_leader_epoch"]
        if epoch >= 0 and epoch < p.leader_epoch:
            return ErrorCode.FENCED_LEADER_EPOCH, None
        if epoch > p.leader_epoch:
            return ErrorCode.UNKNOWN_LEADER_EPOCH, None
        leading = p.is_leader and not self.replicas.fenced
        if replica_id >= 0:
            if not leading or replica_id not in p.replicas:
                return ErrorCode.NOT_LEADER_OR_FOLLOWER, None
            if p.follower_fetched(replica_id, part["fetch_offset"], now):
                self.node.broker.notify_append(name, index)
            if p.should_expand(replica_id):
                self.replicas.propose_isr(p, p.isr + (replica_id,))
            return ErrorCode.NONE, p
        if not leading and api_version < 11:   # fetch from a follower needs KIP-392's Fetch v11+
            return ErrorCode.NOT_LEADER_OR_FOLLOWER, None
        return ErrorCode.NONE, p

    def _preferred_replica(self, p: Partition, client_rack: str) -> int | None:
        """Kafka's RackAwareReplicaSelector: an in-sync replica in the client's rack, the leader
        itself when it is there (None: read here)."""
        own = self.metadata.brokers.get(self.node.broker_id)
        if own is not None and own.rack == client_rack:
            return None
        for replica in p.isr:
            endpoint = self.metadata.brokers.get(replica)
            if replica != self.node.broker_id and endpoint is not None and endpoint.rack == client_rack:
                return replica
        return None

    def fetch_hints(self, response: dict, api_version: int, listener: str | None = None) -> None:
        """KIP-951 (Fetch v16+): the endpoints of the leaders named in the partitions' hints."""
        if api_version < 16:
            return
        leaders = {e["current_leader"]["leader_id"] for t in response["responses"] for e in t["partitions"]
                   if "current_leader" in e}
        if leaders:
            response["node_endpoints"] = self.metadata.endpoints(leaders, listener)
