"""The group service: the typed door the handlers call, around the pure coordinator.

Door: one method per request (``join``, ``sync``, ``heartbeat``, ``leave``,
``commit_offsets``, ``txn_commit_offsets``, ``fetch_offsets``, ``delete_offsets``,
``describe``, ``list_groups``, ``delete``), each ``(ctx, request dict) -> response dict``,
or a coroutine for the two that wait (``join``, ``sync``). The door reads the request's fields and version, calls
the coordinator with ``now_ms`` and shapes the answer; a handler only delegates.

Shell: the coordinator never waits. JoinGroup and SyncGroup are parked there under a
token, and every call hands back the responses it completed. The shell holds one event
per parked request and sets it when the answer comes (``_park``, ``_deliver``), and
``run`` drives the clock: one task sleeps until the coordinator's next deadline (or until
a call may have moved it) and ticks; another expires committed offsets of empty groups
every ``offsets.retention.check.interval.ms``.

Groups are persisted as Kafka persists them: after each call the GroupMetadata records
(and tombstones) the coordinator queued are appended to ``__consumer_offsets`` before
the call's completions are delivered; at start the groups found there are loaded back.
A group may move between the classic and the KIP-848 coordinators (``upgrade_classic``;
a downgrade is handed over in ``write_consumer_changes``); while it is a KIP-848 group,
JoinGroup, SyncGroup, Heartbeat and LeaveGroup of its classic members go to the KIP-848
coordinator (consumer/classic.py).

The broker tells the service of deleted topics through ``topic_deleted`` (its
``TopicListener``), and of transactions that ended through ``complete_transaction``; it
lends the service one check, ``verify_txn_offsets`` (is this group's offsets partition in
the producer's transaction?), and asks ``offsets_partition``. The topics the coordinators
assign, resolve regexes against and check offsets of are a ``TopicsSource``: storage's on
one broker, the cluster's metadata in cluster mode (a topic may have no replica on the
coordinator's broker). The service knows nothing else of the broker.
"""

from __future__ import annotations

import itertools
import logging
from pathlib import Path
from typing import Callable, Protocol, TypeVar

import anyio

from broker.caller import Caller
from broker.clock import now_ms
from kproto.errors import ErrorCode
from broker.errors import storage_error_code
from storage import Storage
from storage.errors import StorageError

from .config import MIGRATION_POLICIES, GroupConfig
from .share.configs import GroupConfigs
from .share.coordinator import ShareGroupCoordinator, ShareGroupSettings
from .share.state import ShareStateStore
from .consumer.coordinator import ConsumerGroupCoordinator, ConsumerGroupSettings
from .coordinator import GroupCoordinator, legacy_leave_error
from .group import GroupState
from .offsets import COMMIT_TIME, CommittedOffset, OffsetsPlacement, OffsetStore
from .responses import Completions, Token, join_response, sync_response
from .snapshot import GroupChange

log = logging.getLogger("kbroker.groups")

R = TypeVar("R")


class TxnOffsetsVerifier(Protocol):
    """The transaction coordinator's check of a TxnOffsetCommit: NONE, or the error to answer."""

    def __call__(self, api_version: int, transactional_id: str, producer_id: int, producer_epoch: int,
                 group_id: str) -> ErrorCode: ...


class TopicsSource(Protocol):
    """Every topic by name (``TopicInfo``: id, partition count, internal), and a version that
    changes whenever they change: ``storage.Storage`` is one, cluster mode lends another."""

    @property
    def topics_version(self) -> int: ...

    def topics(self) -> dict: ...

    def topic(self, name: str): ...


class _Parked:
    __slots__ = ("event", "response")

    def __init__(self):
        self.event = anyio.Event()
        self.response: dict | None = None


class GroupService:
    def __init__(self, config: GroupConfig, storage: Storage, *,
                 verify_txn_offsets: TxnOffsetsVerifier | None = None, placement: OffsetsPlacement | None = None,
                 topics: TopicsSource | None = None):
        """Load the groups and committed offsets kept in ``storage``'s ``__consumer_offsets``
        (and move what an older kbroker kept outside Kafka's partitions). ``placement``: cluster
        mode's, which partitions are led here: only their groups are loaded, run and written,
        and nothing is moved (offsets.py). ``topics``: the cluster's topics (storage's when None)."""
        self._config = config
        self._storage = storage
        self._verify_txn_offsets = verify_txn_offsets
        self._coordinator = GroupCoordinator(config)
        self._topics = storage if topics is None else topics
        self._offsets = OffsetStore(storage, config.offsets_topic_num_partitions, placement=placement)
        self._parked: dict[Token, _Parked] = {}
        self._tokens = itertools.count()
        self._deadline_moved = anyio.Event()
        # Group configs (KIP-848 and KIP-932): a group's own values over the broker's group.* keys
        self.group_configs = GroupConfigs(
            config, None if storage.data_dir is None else Path(storage.data_dir) / "group-configs.properties")
        # KIP-848 consumer groups: their own coordinator, the same offsets and topic
        self.consumer_coordinator = ConsumerGroupCoordinator(ConsumerGroupSettings(
            session_timeout_ms=config.group_consumer_session_timeout_ms,
            heartbeat_interval_ms=config.group_consumer_heartbeat_interval_ms,
            assignors=tuple(config.group_consumer_assignors.split(",")),
            max_size=config.group_consumer_max_size,
            upgrade_enabled=MIGRATION_POLICIES[config.group_consumer_migration_policy][0],
            downgrade_enabled=MIGRATION_POLICIES[config.group_consumer_migration_policy][1],
            classic_max_size=config.group_max_size), group_setting=self.group_configs.int_value)
        # KIP-932 share groups: membership, share-partition state
        self.share_coordinator = ShareGroupCoordinator(
            ShareGroupSettings(session_timeout_ms=config.group_share_session_timeout_ms,
                               heartbeat_interval_ms=config.group_share_heartbeat_interval_ms,
                               max_size=config.group_share_max_size),
            group_setting=self.group_configs.int_value)
        self.share_state = ShareStateStore(storage, move_legacy=placement is None)
        self._topics_image: tuple[int, dict] = (-1, {})
        self._load_groups()
        self._coordinator.add_group_deleted_listener(self._group_deleted)
        from .consumer.door import ConsumerGroupDoor
        from .share.door import ShareGroupDoor

        self.consumer = ConsumerGroupDoor(self)   # ConsumerGroupHeartbeat, ConsumerGroupDescribe
        self.share = ShareGroupDoor(self)         # the share-group APIs

    # -- the group types sharing one namespace ------------------------------------------

    @property
    def storage(self) -> Storage:
        return self._storage

    def group_type(self, group_id: str | None) -> str | None:
        """"classic", "consumer", "share" or None: which coordinator has the group."""
        if group_id in self.consumer_coordinator.groups:
            return "consumer"
        if group_id in self.share_coordinator.groups:
            return "share"
        if group_id is not None and self._coordinator.group_exists(group_id):
            return "classic"
        return None

    def take_over_empty_classic(self, now: int, group_id: str) -> bool:
        """Let a KIP-848 group take the id of an empty classic group (Kafka converts it);
        its committed offsets stay. False while the classic group has members."""
        return self._settle(self._coordinator.take_over_empty(now, group_id))

    def poke(self) -> None:
        """A coordinator's next deadline may have moved: the timer task looks again."""
        self._deadline_moved.set()

    @property
    def topics_version(self) -> int:
        """Changes whenever the topics change (storage's, or the cluster's metadata)."""
        return self._topics.topics_version

    def topics_image(self) -> dict:
        """The topics by name (copied once per change of topics; shared, never changed)."""
        version = self._topics.topics_version
        if self._topics_image[0] != version:
            self._topics_image = (version, self._topics.topics())
        return self._topics_image[1]

    def store_records(self, changes: list, now: int) -> None:
        """Append KIP-848 / share group records to ``__consumer_offsets``."""
        self._offsets.store_records(changes, now)

    # -- group configs: the door the config handlers call for resource type GROUP ---------

    def describe_group_configs(self, group_id: str, names: list[str] | None = None) -> list[dict]:
        """``{name, value, is_default}`` of the group's configs (all keys when ``names`` is None)."""
        return self.group_configs.describe(group_id, names)

    def alter_group_configs(self, group_id: str, ops: list[tuple[str, int, str | None]], *,
                            validate_only: bool = False) -> tuple[ErrorCode, str | None]:
        """IncrementalAlterConfigs of one group: ``(name, operation, value)``, 0 SET, 1 DELETE."""
        return self.group_configs.alter(group_id, ops, validate_only=validate_only)

    def write_consumer_changes(self) -> None:
        """Append what the consumer group coordinator queued; deleted groups lose their offsets."""
        changes = self.consumer_coordinator.take_changes()
        if changes:
            self._offsets.store_records(changes, now_ms())
        for group_id in self.consumer_coordinator.take_deleted_groups():
            self._offsets.delete_group(group_id, now_ms())
        for handed in self.consumer_coordinator.take_handovers():
            # KIP-848's downgrade: only classic members remain, the classic coordinator takes them
            self._deliver(self._coordinator.adopt(now_ms(), handed))
            log.info("converted the consumer group %s to a classic group", handed.group_id)
        self._deadline_moved.set()

    def in_consumer_group(self, group_id: str | None, now: int) -> bool:
        """Is the group a KIP-848 one, once its timers due by ``now`` have run? (A session that
        ended may just have handed the group back to the classic coordinator.) The call that
        follows passes the same ``now``, so that no timer fires in between."""
        consumer = self.consumer_coordinator
        if not group_id or group_id not in consumer.groups:
            return False
        if (deadline := consumer.next_deadline_ms()) is not None and deadline <= now:
            consumer.tick(now)
            self.write_consumer_changes()
        return group_id in consumer.groups

    def upgrade_classic(self, now: int, group_id: str) -> ErrorCode | str:
        """KIP-848's online upgrade: a consumer group takes over the classic group with
        members (Kafka's validateOnlineUpgrade, convertToConsumerGroup). NONE, or the reason
        it cannot (to answer GROUP_ID_NOT_FOUND with)."""
        from .consumer.coordinator import ApiError

        view = self._coordinator.migration_view(group_id)
        if view is None:
            return ErrorCode.NONE
        try:
            group = self.consumer_coordinator.group_from_classic(view, self.topics_image(), self.topics_version)
        except ApiError as exc:
            log.info("%s", exc.message)
            return exc.message
        self._deliver(self._coordinator.hand_over(now, group_id))
        self.consumer_coordinator.adopt(now, group)
        self.write_consumer_changes()
        log.info("converted the classic group %s to a consumer group", group_id)
        return ErrorCode.NONE

    # -- the door: JoinGroup, SyncGroup, Heartbeat, LeaveGroup -----------------------

    async def join(self, ctx: Caller, req: dict) -> dict:
        """JoinGroup 0-9: answered when the group's join phase ends. v0 has no rebalance
        timeout (the session timeout serves); v4+ first gets MEMBER_ID_REQUIRED and a member
        id; v9 lets a static leader skip the assignment; v0-6 send "" for no protocol name."""
        version = ctx.api_version
        session_timeout_ms = req["session_timeout_ms"]
        rebalance_timeout_ms = req["rebalance_timeout_ms"] if version >= 1 else session_timeout_ms
        protocols = [(p["name"], p["metadata"]) for p in req["protocols"]]
        if req["group_id"] in self.share_coordinator.groups:
            return {"throttle_time_ms": 0, "error_code": ErrorCode.INCONSISTENT_GROUP_PROTOCOL,
                    "generation_id": -1, "protocol_type": None, "protocol_name": None if version >= 7 else "",
                    "leader": "", "skip_assignment": False, "member_id": req["member_id"], "members": []}
        if self.in_consumer_group(req["group_id"], now := now_ms()):
            # An empty consumer group becomes a classic one; a consumer group with members
            # takes the classic member in (KIP-848's migration, consumer/classic.py).
            if not self.consumer_coordinator.drop_empty(req["group_id"]):
                response = self._classic_join_consumer_group(ctx, req, now, session_timeout_ms,
                                                            rebalance_timeout_ms, protocols)
                if version < 7 and response["protocol_name"] is None:
                    response["protocol_name"] = ""
                response["throttle_time_ms"] = 0
                return response
            self.write_consumer_changes()
        response = await self._park(lambda token: self._coordinator.join(
            now_ms(), token, req["group_id"], req["member_id"], req["group_instance_id"], ctx.client_id or "",
            "/" + ctx.client_host, session_timeout_ms, rebalance_timeout_ms, req["protocol_type"], protocols,
            version >= 4, req["reason"], supports_skip_assignment=version >= 9))
        if version < 7 and response["protocol_name"] is None:
            response["protocol_name"] = ""
        response["throttle_time_ms"] = 0
        return response

    def _classic_join_consumer_group(self, ctx: Caller, req: dict, now: int, session_timeout_ms: int,
                                     rebalance_timeout_ms: int, protocols: list) -> dict:
        config = self._config
        if not config.group_min_session_timeout_ms <= session_timeout_ms <= config.group_max_session_timeout_ms:
            response = join_response(error_code=ErrorCode.INVALID_SESSION_TIMEOUT, member_id=req["member_id"])
        else:
            response = self.consumer_coordinator.classic_join(
                now, req["group_id"], req["member_id"], req["group_instance_id"], ctx.client_id or "",
                "/" + ctx.client_host, session_timeout_ms, rebalance_timeout_ms, req["protocol_type"], protocols,
                ctx.api_version >= 4, self.topics_image(), self.topics_version)
        self.write_consumer_changes()
        return response

    async def sync(self, ctx: Caller, req: dict) -> dict:
        """SyncGroup 0-5: the leader hands out assignments; every member waits for its own.
        A classic member of a consumer group gets its assignment at once (consumer/classic.py)."""
        group_id = req["group_id"]
        if self.in_consumer_group(group_id, now := now_ms()):
            if not self.consumer_coordinator.groups[group_id].members:
                response = sync_response(error_code=ErrorCode.UNKNOWN_MEMBER_ID)
            else:
                response = self.consumer_coordinator.classic_sync(
                    now, group_id, req["generation_id"], req["member_id"], req["group_instance_id"],
                    req["protocol_type"], req["protocol_name"])
            self.write_consumer_changes()
            response["throttle_time_ms"] = 0
            return response
        assignments = [(a["member_id"], a["assignment"]) for a in req["assignments"]]
        response = await self._park(lambda token: self._coordinator.sync(
            now_ms(), token, req["group_id"], req["generation_id"], req["member_id"], req["group_instance_id"],
            req["protocol_type"], req["protocol_name"], assignments))
        response["throttle_time_ms"] = 0
        return response

    def heartbeat(self, ctx: Caller, req: dict) -> dict:
        """Heartbeat 0-4: REBALANCE_IN_PROGRESS tells the member to rejoin."""
        if self.in_consumer_group(req["group_id"], now := now_ms()):
            code = self.consumer_coordinator.classic_heartbeat(
                now, req["group_id"], req["generation_id"], req["member_id"], req["group_instance_id"])
            self.write_consumer_changes()
            return {"throttle_time_ms": 0, "error_code": code}
        code = self._settle(self._coordinator.heartbeat(
            now_ms(), req["group_id"], req["generation_id"], req["member_id"], req["group_instance_id"]))
        return {"throttle_time_ms": 0, "error_code": code}

    def leave(self, ctx: Caller, req: dict) -> dict:
        """LeaveGroup 0-5: v3+ name several members (static ones by instance id) and answer
        each; v0-2 name one member and answer one error code."""
        legacy = ctx.api_version < 3
        if legacy:
            members = [(req["member_id"], None)]
        else:
            members = [(m["member_id"], m["group_instance_id"]) for m in req["members"]]
        if self.in_consumer_group(req["group_id"], now := now_ms()):
            response = self.consumer_coordinator.classic_leave(now, req["group_id"], members)
            self.write_consumer_changes()
        else:
            response = self._settle(self._coordinator.leave(now_ms(), req["group_id"], members))
        if legacy:
            return {"throttle_time_ms": 0, "error_code": legacy_leave_error(response)}
        response["throttle_time_ms"] = 0
        return response

    # -- the door: OffsetCommit, OffsetFetch, OffsetDelete ---------------------------

    def commit_offsets(self, ctx: Caller, req: dict) -> dict:
        """OffsetCommit 0-9: the coordinator first checks the committer (generation, member,
        state; generation -1 is a simple commit, fine for a group without members). Then each
        partition: UNKNOWN_TOPIC_OR_PARTITION, OFFSET_METADATA_TOO_LARGE over
        ``offset.metadata.max.bytes``, or committed; the accepted ones in one batch, durably,
        before the answer. v2-4's retention gives the offsets an expire time."""
        version = ctx.api_version
        group_id = req["group_id"]
        now = now_ms()
        if group_id in self.share_coordinator.groups:
            group_error = ErrorCode.GROUP_ID_NOT_FOUND   # a share group has no committed offsets
        elif self.in_consumer_group(group_id, now):
            group_error = self.consumer_coordinator.validate_commit(
                now, group_id, req["member_id"], req["generation_id_or_member_epoch"], version)
        else:
            group_error = self._settle(self._coordinator.validate_commit(
                now, group_id, req["generation_id_or_member_epoch"], req["member_id"], req["group_instance_id"],
                version))
        retention_ms = req["retention_time_ms"] if 2 <= version <= 4 else -1
        expire_timestamp = now + retention_ms if retention_ms != -1 else -1
        max_metadata_bytes = self._config.offset_metadata_max_bytes
        accepted: dict[tuple[str, int], CommittedOffset] = {}
        topics = []
        for topic in req["topics"]:
            name = topic["name"]
            num_partitions = self._num_partitions(name)
            partitions = []
            for part in topic["partitions"]:
                index = part["partition_index"]
                metadata = part["committed_metadata"] or ""
                if group_error:
                    code = group_error
                elif not 0 <= index < num_partitions:
                    code = ErrorCode.UNKNOWN_TOPIC_OR_PARTITION
                elif len(metadata.encode()) > max_metadata_bytes:
                    code = ErrorCode.OFFSET_METADATA_TOO_LARGE
                else:
                    code = ErrorCode.NONE
                    commit_time = part["commit_timestamp"] if part["commit_timestamp"] >= 0 else now
                    accepted[(name, index)] = CommittedOffset(
                        part["committed_offset"], part["committed_leader_epoch"], metadata, commit_time,
                        expire_timestamp)
                partitions.append({"partition_index": index, "error_code": code})
            topics.append({"name": name, "partitions": partitions})
        self._offsets.commit(group_id, accepted, now)
        return {"throttle_time_ms": 0, "topics": topics}

    def txn_commit_offsets(self, ctx: Caller, req: dict) -> dict:
        """TxnOffsetCommit 0-4: offsets committed inside a transaction, visible when it commits.
        The transaction coordinator checks first that AddOffsetsToTxn put the group's partition
        in the transaction; then the committer, as OffsetCommit does (v3+ name a member and
        generation; older versions commit as a simple group). A partition of no topic gets
        UNKNOWN_TOPIC_OR_PARTITION and metadata over ``offset.metadata.max.bytes``
        OFFSET_METADATA_TOO_LARGE, as for OffsetCommit. A share group's id gets GROUP_ID_NOT_FOUND
        and a consumer group (KIP-848) checks the member and its epoch, as Kafka 4 does."""
        version = ctx.api_version
        group_id = req["group_id"]
        now = now_ms()
        if not group_id:
            error = ErrorCode.INVALID_GROUP_ID
        elif self._verify_txn_offsets is not None:
            error = self._verify_txn_offsets(version, req["transactional_id"], req["producer_id"],
                                             req["producer_epoch"], group_id)
        else:
            error = ErrorCode.NONE
        if error:
            pass
        elif group_id in self.share_coordinator.groups:
            error = ErrorCode.GROUP_ID_NOT_FOUND   # a share group has no committed offsets (ShareGroup.validateOffsetCommit)
        elif self.in_consumer_group(group_id, now):
            # Kafka's ConsumerGroup.validateOffsetCommit, transactional: the member and its epoch,
            # a stale epoch answered as ILLEGAL_GENERATION (validateTransactionalOffsetCommit)
            error = self.consumer_coordinator.validate_commit(
                now, group_id, req["member_id"], req["generation_id"], transactional=True,
                group_instance_id=req["group_instance_id"])
            if error == ErrorCode.STALE_MEMBER_EPOCH:
                error = ErrorCode.ILLEGAL_GENERATION
        else:
            error = self._settle(self._coordinator.validate_commit(
                now, group_id, req["generation_id"], req["member_id"], req["group_instance_id"], version,
                transactional=True))
        accepted: dict[tuple[str, int], CommittedOffset] = {}
        codes: dict[tuple[str, int], ErrorCode] = {}
        for topic in req["topics"]:
            num_partitions = self._num_partitions(topic["name"])
            for part in topic["partitions"]:
                key = (topic["name"], part["partition_index"])
                metadata = part["committed_metadata"] or ""
                if not 0 <= key[1] < num_partitions:
                    codes[key] = ErrorCode.UNKNOWN_TOPIC_OR_PARTITION
                elif error:
                    codes[key] = error
                elif len(metadata.encode()) > self._config.offset_metadata_max_bytes:
                    codes[key] = ErrorCode.OFFSET_METADATA_TOO_LARGE
                else:
                    codes[key] = ErrorCode.NONE
                    accepted[key] = CommittedOffset(part["committed_offset"], part["committed_leader_epoch"],
                                                    metadata, now)
        try:
            self._offsets.commit_transactional(group_id, req["producer_id"], req["producer_epoch"], accepted, now)
        except StorageError as exc:
            for key in accepted:
                codes[key] = storage_error_code(exc)
        return {"throttle_time_ms": 0, "topics": [
            {"name": topic["name"], "partitions": [
                {"partition_index": p["partition_index"], "error_code": codes[(topic["name"], p["partition_index"])]}
                for p in topic["partitions"]]} for topic in req["topics"]]}

    def offsets_partition(self, group_id: str) -> int:
        """The group's partition of ``__consumer_offsets`` (one broker: the topic made if it is not yet)."""
        return self._offsets.partition_of(group_id)

    def complete_transaction(self, producer_id: int, partition: int, committed: bool) -> None:
        """A transaction's marker reached a partition of ``__consumer_offsets``: the offsets it
        committed there become visible, or are dropped."""
        self._offsets.complete_transaction(producer_id, partition, committed)

    def fetch_offsets(self, ctx: Caller, req: dict) -> dict:
        """OffsetFetch 0-9 (v8+: several groups at once). Topics null (v2+) means every
        committed offset of the group; a partition without one, or an unknown group, answers
        offset -1 with no error, as Kafka does. v7+ require_stable: a partition whose offset
        an open transaction holds answers UNSTABLE_OFFSET_COMMIT (KIP-447)."""
        require_stable = ctx.api_version >= 7 and req["require_stable"]
        if ctx.api_version >= 8:
            answers = []
            for group in req["groups"]:
                topics, code = self._committed(group["group_id"], group["topics"], require_stable,
                                               group.get("member_id"), group.get("member_epoch", -1))
                answers.append({"group_id": group["group_id"], "topics": topics, "error_code": code})
            return {"throttle_time_ms": 0, "groups": answers}
        topics, code = self._committed(req["group_id"], req["topics"], require_stable)
        return {"throttle_time_ms": 0, "topics": topics, "error_code": code}

    def _committed(self, group_id: str | None, topics: list[dict] | None, require_stable: bool = False,
                   member_id: str | None = None, member_epoch: int = -1) -> tuple[list[dict], ErrorCode]:
        """One group's OffsetFetch topics, and its error code (v9: a consumer group's member
        must be known and at its current epoch)."""
        if self.in_consumer_group(group_id, now_ms()):
            code = self.consumer_coordinator.validate_offset_fetch(group_id, member_id, member_epoch)
        else:
            code = self._coordinator.validate_offset_fetch(group_id)
        if code:
            return [], code
        committed = self._offsets.group_offsets(group_id)
        if topics is None:
            wanted: dict[str, list[int]] = {}
            for topic, partition in sorted(committed):
                wanted.setdefault(topic, []).append(partition)
        else:
            wanted = {t["name"]: t["partition_indexes"] for t in topics}
        result = []
        for name, partitions in wanted.items():
            entries = []
            for index in partitions:
                if require_stable and self._offsets.has_pending(group_id, name, index):
                    entries.append({"partition_index": index, "error_code": ErrorCode.UNSTABLE_OFFSET_COMMIT,
                                    "committed_offset": -1, "committed_leader_epoch": -1, "metadata": ""})
                    continue
                c = committed.get((name, index))
                entries.append({"partition_index": index, "error_code": ErrorCode.NONE,
                                "committed_offset": c.offset if c else -1,
                                "committed_leader_epoch": c.leader_epoch if c else -1,
                                "metadata": c.metadata if c else ""})
            result.append({"name": name, "partitions": entries})
        return result, ErrorCode.NONE

    def delete_offsets(self, ctx: Caller, req: dict) -> dict:
        """OffsetDelete 0: refused for a live group that is not a consumer group
        (NON_EMPTY_GROUP), and per topic while a consumer group is subscribed to it
        (GROUP_SUBSCRIBED_TO_TOPIC)."""
        group_id = req["group_id"]
        consumer = group_id in self.consumer_coordinator.groups
        code = ErrorCode.NONE if consumer else self._coordinator.validate_offset_delete(group_id)
        if code:
            return {"error_code": code, "throttle_time_ms": 0, "topics": []}
        deletable = []
        topics = []
        for topic in req["topics"]:
            name = topic["name"]
            num_partitions = self._num_partitions(name)
            subscribed = (self.consumer_coordinator.is_subscribed_to_topic(group_id, name) if consumer
                          else self._coordinator.is_subscribed_to_topic(group_id, name))
            partitions = []
            for part in topic["partitions"]:
                index = part["partition_index"]
                if not 0 <= index < num_partitions:
                    code = ErrorCode.UNKNOWN_TOPIC_OR_PARTITION
                elif subscribed:
                    code = ErrorCode.GROUP_SUBSCRIBED_TO_TOPIC
                else:
                    code = ErrorCode.NONE
                    deletable.append((name, index))
                partitions.append({"partition_index": index, "error_code": code})
            topics.append({"name": name, "partitions": partitions})
        self._offsets.delete(group_id, deletable, now_ms())
        return {"error_code": ErrorCode.NONE, "throttle_time_ms": 0, "topics": topics}

    def _num_partitions(self, topic: str) -> int:
        """The topic's partition count (0: none): the cluster's in cluster mode, where this broker
        may hold no replica of a topic its groups commit offsets of."""
        info = self._topics.topic(topic)
        return info.num_partitions if info is not None else 0

    # -- the door: DescribeGroups, ListGroups, DeleteGroups --------------------------

    def describe(self, ctx: Caller, req: dict) -> dict:
        """DescribeGroups 0-5: state, protocol and members; an unknown group is Dead.
        Authorized operations are the handler's (the broker's authorizer) to fill in."""
        return {"throttle_time_ms": 0, "groups": self._coordinator.describe(req["groups"])}

    def list_groups(self, ctx: Caller, req: dict) -> dict:
        """ListGroups 0-5: v4+ filter by state, v5+ by type."""
        groups = self._coordinator.list_groups(req["states_filter"], req["types_filter"])
        states = {s.strip().lower() for s in req["states_filter"]}
        types = {t.lower() for t in req["types_filter"]}
        groups += [g for g in self.consumer_coordinator.listed() + self.share_coordinator.listed()
                   if (not states or g["group_state"].lower() in states) and (not types or g["group_type"] in types)]
        return {"throttle_time_ms": 0, "error_code": ErrorCode.NONE, "groups": groups}

    def delete(self, ctx: Caller, req: dict) -> dict:
        """DeleteGroups 0-2: groups without members go, and their committed offsets."""
        names = req["groups_names"]
        consumer = [g for g in names if g in self.consumer_coordinator.groups]
        results = self._settle(self._coordinator.delete_groups(now_ms(), [
            g for g in names if g not in consumer and g not in self.share_coordinator.groups]))
        for group_id in consumer:
            results.append({"group_id": group_id,
                            "error_code": self.consumer_coordinator.delete(now_ms(), group_id)})
        self.write_consumer_changes()
        for group_id in [g for g in names if g in self.share_coordinator.groups]:
            code = self.share_coordinator.delete(group_id)
            if not code:
                self.share.group_deleted(group_id)
                self._offsets.delete_group(group_id, now_ms())
                self.group_configs.forget(group_id)
            results = [r for r in results if r["group_id"] != group_id] + [{"group_id": group_id, "error_code": code}]
        self.share.settle()
        order = {g: i for i, g in enumerate(names)}
        results.sort(key=lambda r: order.get(r["group_id"], 0))
        return {"throttle_time_ms": 0, "results": results}

    # -- the broker's notifications (a TopicListener) --------------------------------

    def topic_deleted(self, name: str) -> None:
        """A deleted topic takes its committed offsets with it."""
        self._offsets.delete_topic(name, now_ms())

    # -- the shell: parked requests and completions ----------------------------------

    def _settle(self, outcome: tuple[R, Completions]) -> R:
        """The result of a coordinator call that answers at once; its completions delivered."""
        result, completions = outcome
        self._deliver(completions)
        return result

    async def _park(self, start: Callable[[Token], Completions]) -> dict:
        """Start a request that may wait (``start(token)`` calls the coordinator with a fresh
        token) and return its response once the coordinator completes the token."""
        token = next(self._tokens)
        parked = self._parked[token] = _Parked()
        try:
            self._deliver(start(token))
            await parked.event.wait()
            return parked.response
        finally:
            self._parked.pop(token, None)

    def _deliver(self, completions: Completions) -> None:
        """Persist what the call changed in groups, then hand out its completions."""
        changes = self._coordinator.take_group_changes()
        if changes:
            self._store_groups(changes)
        for token, response in completions:
            parked = self._parked.pop(token, None)
            if parked is not None:
                parked.response = response
                parked.event.set()
        self._deadline_moved.set()

    # -- the shell: background work ------------------------------------------------

    async def run(self) -> None:
        """The group timers and offset expiry, until cancelled."""
        async with anyio.create_task_group() as tg:
            tg.start_soon(self._run_timers)
            tg.start_soon(self._run_offset_expiry)

    async def _run_timers(self) -> None:
        while True:
            deadline = self._next_deadline_ms()
            self._deadline_moved = anyio.Event()
            if deadline is None:
                await self._deadline_moved.wait()
                continue
            delay_s = (deadline - now_ms()) / 1000
            if delay_s > 0:
                with anyio.move_on_after(delay_s):
                    await self._deadline_moved.wait()
                    continue
            now = now_ms()
            self._deliver(self._coordinator.tick(now))
            self.consumer_coordinator.tick(now)
            self.write_consumer_changes()
            self.share_coordinator.tick(now, self.topics_image())
            self.share.tick(now)
            self.share.settle()

    def _next_deadline_ms(self) -> int | None:
        deadlines = [d for d in (self._coordinator.next_deadline_ms(), self.consumer_coordinator.next_deadline_ms(),
                                 self.share_coordinator.next_deadline_ms(), self.share.next_deadline_ms())
                     if d is not None]
        return min(deadlines, default=None)

    async def _run_offset_expiry(self) -> None:
        interval_s = self._config.offsets_retention_check_interval_ms / 1000
        while True:
            await anyio.sleep(interval_s)
            self._expire_offsets()

    def _expire_offsets(self) -> int:
        """Kafka's offset retention: offsets of empty classic groups go after
        offsets.retention.minutes; a consumer group's (KIP-848) offsets of topics it does not
        subscribe to go that long after their commit; a group left empty and without offsets
        goes too. Share groups keep their state (Kafka's ShareGroup.shouldExpire is false).
        Returns how many offsets went."""
        now = now_ms()
        coordinator = self._coordinator
        consumer = self.consumer_coordinator
        share_groups = self.share_coordinator.groups

        def expires_from(group_id: str, topic: str) -> int | None:
            if group_id in consumer.groups:
                return None if consumer.is_subscribed_to_topic(group_id, topic) else COMMIT_TIME
            if group_id in share_groups:
                return None
            condition = coordinator.offset_expiration(group_id)
            if condition is None:
                return None
            if condition.empty_since_ms is not None:
                return condition.empty_since_ms
            if (coordinator.group_state(group_id) is GroupState.STABLE
                    and coordinator.is_subscribed_to_topic(group_id, topic)):
                return None
            return COMMIT_TIME

        removed = self._offsets.expire(now, self._config.offsets_retention_minutes * 60_000, expires_from)
        for group_id in coordinator.group_ids():
            if not self._offsets.group_offsets(group_id) and not self._offsets.has_pending(group_id):
                self._settle(coordinator.maybe_delete_group(now_ms(), group_id))
        emptied = [g for g in consumer.groups
                   if not self._offsets.group_offsets(g) and not self._offsets.has_pending(g)]
        if emptied:
            for group_id in emptied:
                consumer.delete(now_ms(), group_id)   # NON_EMPTY_GROUP while it has members: kept
            self.write_consumer_changes()
        if removed:
            log.info("expired %d committed offsets", removed)
        return removed

    # -- persistence ----------------------------------------------------------------

    def _load_groups(self) -> None:
        """Groups with a GroupMetadata record come back as they were (their members'
        sessions start now); groups known only from their offsets come back Empty
        without a protocol type, as Kafka's simple groups."""
        now = now_ms()
        from kproto import group_records

        self.consumer_coordinator.load(now, self._offsets.take_loaded_records(range(
            group_records.CONSUMER_GROUP_METADATA, group_records.CONSUMER_GROUP_CURRENT_MEMBER_ASSIGNMENT + 1)))
        self.share_coordinator.load(now, self._offsets.take_loaded_records(range(
            group_records.SHARE_GROUP_MEMBER_METADATA, group_records.SHARE_GROUP_CURRENT_MEMBER_ASSIGNMENT + 1)))
        for snapshot in self._offsets.take_loaded_groups():
            try:
                self._coordinator.load_group(now, snapshot)
            except ValueError as exc:
                log.warning("not loading the metadata of group %s: %s", snapshot.group_id, exc)
        for group_id in self._offsets.groups():
            if self.group_type(group_id) is None:
                self._coordinator.load_group(now, group_id)

    def _store_groups(self, changes: list[GroupChange]) -> None:
        last: dict = {}
        for group_id, snapshot in changes:   # only the last record of a group matters
            last.pop(group_id, None)
            last[group_id] = snapshot
        try:
            self._offsets.store_groups(list(last.items()), now_ms())
        except Exception:
            # Kafka only warns when it cannot store an empty group; for a generation's
            # assignment it answers with an error. Here the group lives on in memory
            # and the next change of the group writes it again.
            log.exception("could not store the metadata of groups %s", sorted(last))

    def _group_deleted(self, group_id: str) -> None:
        self._offsets.delete_group(group_id, now_ms())
