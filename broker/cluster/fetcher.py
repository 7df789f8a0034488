"""Followers: one fetcher per leader broker, fetching every partition this broker follows there.

A partition that starts following (a new leader or epoch) first asks the leader where its
own latest epoch ends (OffsetForLeaderEpoch, KIP-101/279) and cuts its log there: a tail the
old leader wrote that the new leader never had is dropped, never merged. Then it fetches
with Kafka's replica Fetch (v12: ``replica_id`` is this broker), appends the leader's batches
as they are, and takes the leader's high watermark (as far as it has the records).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import anyio

from broker.clock import now_ms
from broker.cluster.channel import BrokerChannel
from kproto.errors import ErrorCode
from kproto.messages import FETCH, LIST_OFFSETS, OFFSET_FOR_LEADER_EPOCH
from storage.epochs import UNDEFINED_EPOCH, UNDEFINED_OFFSET
from storage.errors import StorageError

if TYPE_CHECKING:
    from broker.cluster.partition import Partition
    from broker.cluster.replica_manager import ReplicaManager

log = logging.getLogger("kbroker.replication")

FETCH_VERSION = 12
LIST_OFFSETS_VERSION = 4
EARLIEST = -2
OFFSET_FOR_LEADER_EPOCH_VERSION = 3
MAX_TRUNCATION_ROUNDS = 8
LEADER_WAIT_S = 0.1   # a leader that has not heard of its leadership yet is asked again soon
# errors after which a partition waits for the controller's next word (LeaderAndIsr)
WAIT_FOR_LEADER = {ErrorCode.NOT_LEADER_OR_FOLLOWER, ErrorCode.FENCED_LEADER_EPOCH, ErrorCode.UNKNOWN_LEADER_EPOCH,
                   ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, ErrorCode.UNKNOWN_TOPIC_ID, ErrorCode.KAFKA_STORAGE_ERROR}


class Followed:
    """A partition this fetcher replicates, and where it stands."""

    __slots__ = ("partition", "leader_epoch", "truncating", "query_epoch", "rounds", "delayed_until")

    def __init__(self, partition: Partition):
        self.partition = partition
        self.leader_epoch = partition.leader_epoch
        self.truncating = True
        self.query_epoch = partition.log.epochs.latest_epoch
        self.rounds = 0
        self.delayed_until = 0.0


class ReplicaFetcher:
    def __init__(self, manager: ReplicaManager, leader_id: int, host: str, port: int):
        self.manager = manager
        self.leader_id = leader_id
        config = manager.config
        self.channel = BrokerChannel(manager.task_group, host, port, client_id=f"broker-{manager.broker_id}-fetcher",
                                     connect_timeout_s=min(5.0, config.replica_socket_timeout_ms / 1000))
        self.followed: dict[tuple[str, int], Followed] = {}
        self._wake = anyio.Event()
        self._scope: anyio.CancelScope | None = None

    def add(self, partition: Partition) -> None:
        self.followed[(partition.topic, partition.index)] = Followed(partition)
        self._wake.set()

    def remove(self, key: tuple[str, int]) -> None:
        self.followed.pop(key, None)

    def stop(self) -> None:
        if self._scope is not None:
            self._scope.cancel()

    async def run(self) -> None:
        backoff_s = self.manager.config.replica_fetch_backoff_ms / 1000
        with anyio.CancelScope() as self._scope:
            try:
                while True:
                    now = anyio.current_time()
                    ready = [f for f in self.followed.values() if f.delayed_until <= now]
                    if not ready:
                        self._wake = anyio.Event()
                        wait_s = min((f.delayed_until - now for f in self.followed.values()), default=60.0)
                        with anyio.move_on_after(max(wait_s, 0.01)):
                            await self._wake.wait()
                        continue
                    try:
                        truncating = [f for f in ready if f.truncating]
                        if truncating:
                            await self._truncate(truncating)
                        fetching = [f for f in ready if not f.truncating and f.delayed_until <= anyio.current_time()]
                        if fetching:
                            await self._fetch(fetching)
                    except (ConnectionError, TimeoutError) as exc:
                        log.info("fetching from broker %d: %s; retrying", self.leader_id, exc)
                        await anyio.sleep(backoff_s)
            finally:
                await self.channel.aclose()

    # -- truncation ---------------------------------------------------------------------------------------

    async def _truncate(self, followed: list[Followed]) -> None:
        topics: dict[str, list[dict]] = {}
        for f in followed:
            p = f.partition
            topics.setdefault(p.topic, []).append({"partition": p.index, "current_leader_epoch": f.leader_epoch,
                                                   "leader_epoch": f.query_epoch})
        response = await self.channel.request(OFFSET_FOR_LEADER_EPOCH, OFFSET_FOR_LEADER_EPOCH_VERSION, {
            "replica_id": self.manager.broker_id,
            "topics": [{"topic": t, "partitions": parts} for t, parts in topics.items()]},
            timeout_s=self.manager.config.replica_socket_timeout_ms / 1000)
        for topic in response["topics"]:
            for answer in topic["partitions"]:
                f = self.followed.get((topic["topic"], answer["partition"]))
                if f is None or f.leader_epoch != f.partition.leader_epoch:
                    continue
                if answer["error_code"]:
                    self._delay(f, answer["error_code"])
                    continue
                self._truncate_one(f, answer["leader_epoch"], answer["end_offset"])

    def _truncate_one(self, f: Followed, leader_epoch: int, end_offset: int) -> None:
        """Kafka's getOffsetTruncationState: where this replica's log agrees with the leader's."""
        log_ = f.partition.log
        done = True
        if end_offset == UNDEFINED_OFFSET or leader_epoch == UNDEFINED_EPOCH:
            target = log_.high_watermark if end_offset == UNDEFINED_OFFSET else min(end_offset, log_.log_end_offset)
        else:
            own_epoch, own_end = log_.epochs.end_offset_for(leader_epoch, log_.log_end_offset)
            if own_epoch == UNDEFINED_EPOCH:
                target = log_.high_watermark
            else:
                target = min(end_offset, own_end)
                if own_epoch != leader_epoch and f.rounds < MAX_TRUNCATION_ROUNDS:
                    f.query_epoch, done = own_epoch, False   # ask again about the epoch this replica has
        f.rounds += 1
        if target < log_.log_end_offset:
            log.info("%s-%d: truncating from %d to %d (leader %d epoch %d)", f.partition.topic, f.partition.index,
                     log_.log_end_offset, target, self.leader_id, f.leader_epoch)
            log_.truncate_to(target)
        f.truncating = not done

    # -- fetching ------------------------------------------------------------------------------------------------

    async def _fetch(self, followed: list[Followed]) -> None:
        config = self.manager.config
        topics: dict[str, list[dict]] = {}
        for f in followed:
            p = f.partition
            topics.setdefault(p.topic, []).append({
                "partition": p.index, "current_leader_epoch": f.leader_epoch, "fetch_offset": p.log.log_end_offset,
                "last_fetched_epoch": p.log.epochs.latest_epoch, "log_start_offset": p.log.log_start_offset,
                "partition_max_bytes": config.replica_fetch_max_bytes})
        body = {"replica_id": self.manager.broker_id, "max_wait_ms": config.replica_fetch_wait_max_ms,
                "min_bytes": config.replica_fetch_min_bytes, "max_bytes": config.replica_fetch_response_max_bytes,
                "isolation_level": 0, "session_id": 0, "session_epoch": -1,
                "topics": [{"topic": t, "partitions": parts} for t, parts in topics.items()],
                "forgotten_topics_data": [], "rack_id": ""}
        timeout_s = config.replica_fetch_wait_max_ms / 1000 + config.replica_socket_timeout_ms / 1000
        response = await self.channel.request(FETCH, FETCH_VERSION, body, timeout_s=timeout_s)
        if response["error_code"]:
            raise ConnectionError(f"fetch refused with error {response['error_code']}")
        now = now_ms()
        for topic in response["responses"]:
            for answer in topic["partitions"]:
                key = (topic["topic"], answer["partition_index"])
                f = self.followed.get(key)
                if f is None or f.leader_epoch != f.partition.leader_epoch:
                    continue   # stopped or moved on while the fetch was out
                code = answer["error_code"]
                if code == ErrorCode.OFFSET_OUT_OF_RANGE:
                    await self._out_of_range(f)
                elif code:
                    self._delay(f, code)
                else:
                    self._append(f, answer, now)

    def _append(self, f: Followed, answer: dict, now: int) -> None:
        p = f.partition
        log_ = p.log
        records = answer["records"]
        if records:
            try:
                log_.append_replicated(records, now)
            except StorageError as exc:
                log.warning("%s-%d: cannot append what leader %d sent: %s; checking for divergence",
                            p.topic, p.index, self.leader_id, exc)
                f.truncating, f.query_epoch, f.rounds = True, log_.epochs.latest_epoch, 0
                return
        high_watermark = min(answer["high_watermark"], log_.log_end_offset)
        if high_watermark > log_.high_watermark:
            log_.set_high_watermark(high_watermark)
            self.manager.broker.notify_append(p.topic, p.index)   # readers of this follower (KIP-392)
        if log_.log_start_offset < answer["log_start_offset"] <= log_.high_watermark:
            log_.increment_log_start_offset(answer["log_start_offset"])   # the leader's DeleteRecords

    async def _out_of_range(self, f: Followed) -> None:
        """Our end is outside the leader's log: below its start (retention moved it), start over
        there; else agree again on where the logs meet (Kafka asks the leader's offsets too)."""
        p = f.partition
        response = await self.channel.request(LIST_OFFSETS, LIST_OFFSETS_VERSION, {
            "replica_id": self.manager.broker_id, "isolation_level": 0, "topics": [{"name": p.topic, "partitions": [
                {"partition_index": p.index, "current_leader_epoch": f.leader_epoch, "timestamp": EARLIEST}]}]},
            timeout_s=self.manager.config.replica_socket_timeout_ms / 1000)
        answer = response["topics"][0]["partitions"][0]
        if answer["error_code"]:
            self._delay(f, answer["error_code"])
        elif p.log.log_end_offset < answer["offset"]:
            log.info("%s-%d: behind leader %d's log start %d: starting there", p.topic, p.index, self.leader_id,
                     answer["offset"])
            p.log.truncate_fully(answer["offset"])
        else:
            f.truncating, f.query_epoch, f.rounds = True, p.log.epochs.latest_epoch, 0

    def _delay(self, f: Followed, code: int) -> None:
        """Wait before asking again: the leader may not have had the controller's word yet (it
        goes to every broker at once), or the controller's next LeaderAndIsr may move us on."""
        backoff_s = self.manager.config.replica_fetch_backoff_ms / 1000
        if code in WAIT_FOR_LEADER:
            backoff_s = min(backoff_s, LEADER_WAIT_S)
        else:
            log.warning("%s-%d: leader %d answered error %d", f.partition.topic, f.partition.index,
                        self.leader_id, code)
        f.delayed_until = anyio.current_time() + backoff_s
