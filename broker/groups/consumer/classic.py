"""Classic members of KIP-848 consumer groups, and the online migration between the protocols.

Kafka 4 (GroupMetadataManager) lets consumers of both protocols share one group:

* A classic member (JoinGroup, SyncGroup, Heartbeat, LeaveGroup) of a consumer group with
  members is a ``ConsumerGroupMember`` that keeps its session timeout and JoinGroup
  protocols (``classic``). Its JoinGroup is answered at once: its subscription and owned
  partitions come from its ConsumerProtocolSubscription, the group epoch and target
  assignment move as for a heartbeat, the member is reconciled, and its generation is its
  member epoch; it is never the leader. SyncGroup hands it its assigned partitions as a
  ConsumerProtocolAssignment. Its Heartbeat answers REBALANCE_IN_PROGRESS while it must
  rejoin to get its next assignment. A join (sync) it does not send within its rebalance
  timeout fences it, as its session timeout does.
* Upgrade: a ConsumerGroupHeartbeat joining a classic group with members that uses the
  "consumer" embedded protocol converts it (``group_from_classic`` then ``adopt``): every
  classic member becomes such a member, at the classic generation, owning what the
  leader assigned it.
* Downgrade: when the last member of the consumer protocol is fenced (it leaves, or a
  timeout removes it) and only classic members remain, the group goes back to the classic
  coordinator (``take_handovers``) and rebalances there.

``group.consumer.migration.policy`` says which conversions are allowed; classic members
may join a consumer group whatever the policy, as in Kafka.

A mixin of ``ConsumerGroupCoordinator``: it uses that class's clock, records and timers.
"""

from __future__ import annotations

import uuid

from kproto.errors import ErrorCode

from .. import consumer_protocol as cp
from ..responses import join_response, sync_response
from ..snapshot import MigratingGroup, MigratingMember
from . import records as rec
from .group import ConsumerGroup
from .member import ClassicMetadata, ConsumerGroupMember, MemberState


class ClassicMembers:
    """The classic side of a consumer group (mixed into ConsumerGroupCoordinator)."""

    # -- JoinGroup / SyncGroup / Heartbeat / LeaveGroup of a classic member ------------------

    def classic_join(self, now_ms: int, group_id: str, member_id: str, instance_id: str | None,
                     client_id: str, client_host: str, session_timeout_ms: int, rebalance_timeout_ms: int,
                     protocol_type: str, protocols: list[tuple[str, bytes]], require_known_member_id: bool,
                     topics, topics_version: int) -> dict:
        """JoinGroup into a consumer group with members (Kafka's classicGroupJoinToConsumerGroup)."""
        self._advance(now_ms, topics, topics_version)
        group = self.groups[group_id]
        requested, unknown = member_id, member_id == ""
        if unknown:
            member_id = str(uuid.uuid4())
        if member_id not in group.members and len(group.members) >= self.settings.max_size:
            return join_response(error_code=ErrorCode.GROUP_MAX_SIZE_REACHED, member_id=requested)
        if not self._supports_classic(group, protocol_type, [name for name, _ in protocols]):
            return join_response(error_code=ErrorCode.INCONSISTENT_GROUP_PROTOCOL, member_id=requested)
        if require_known_member_id and unknown and instance_id is None:
            return join_response(error_code=ErrorCode.MEMBER_ID_REQUIRED, member_id=member_id)
        try:
            subscription = cp.decode_subscription(protocols[0][1])
        except cp.SubscriptionParseError:
            # Kafka fails such a join with an IllegalStateException: UNKNOWN_SERVER_ERROR
            return join_response(error_code=ErrorCode.UNKNOWN_SERVER_ERROR, member_id=requested)
        replaced = group.members.get(group.static_members.get(instance_id, "")) if instance_id is not None else None
        downgrade = replaced is not None and replaced.member_id != member_id and self._may_downgrade_replacing(
            group, replaced)
        member = self._classic_member(group, member_id, instance_id)
        updated = member.with_(
            instance_id=instance_id if instance_id is not None else member.instance_id,
            rack_id=subscription.rack_id if subscription.rack_id is not None else member.rack_id,
            rebalance_timeout_ms=rebalance_timeout_ms if rebalance_timeout_ms != -1 else member.rebalance_timeout_ms,
            subscribed_topic_names=tuple(subscription.topics), client_id=client_id, client_host=client_host,
            classic=ClassicMetadata(session_timeout_ms, tuple((n, bytes(m)) for n, m in protocols)))
        new = member_id not in group.members
        bump = new or updated.subscribed_topic_names != member.subscribed_topic_names
        if new or updated != member:
            self._changes.append(rec.member_metadata(group.group_id, updated))
        group.put(updated)
        self._maybe_bump_epoch(group, bump)
        if downgrade:
            # Kafka's validateOnlineDowngradeWithReplacedMember: the classic member took the last
            # consumer-protocol member's place; the group goes back, rebalancing if it subscribes otherwise
            self._downgrade(group, [], rebalance=bump)
            return join_response(member_id=member_id, generation_id=group.group_epoch,
                                 protocol_type=cp.PROTOCOL_TYPE, protocol_name=protocols[0][0])
        self._maybe_assign(group)
        final = self._reconcile(group, group.members[member_id], self._topic_ids(subscription.owned_partitions))
        self._timers.cancel(("join", group_id, member_id))
        self._schedule_session(group, final)
        self._timers.schedule(("sync", group_id, member_id), self._now_ms + final.rebalance_timeout_ms,
                              ("sync", group_id, member_id, final.member_epoch))
        return join_response(member_id=member_id, generation_id=final.member_epoch,
                             protocol_type=cp.PROTOCOL_TYPE, protocol_name=protocols[0][0])

    def _classic_member(self, group: ConsumerGroup, member_id: str, instance_id: str | None) -> ConsumerGroupMember:
        """The joining member: known, new, or a static member's new incarnation (Kafka's
        getOrMaybeSubscribeStaticConsumerGroupMember lets a classic member take the instance
        over without its predecessor's leave)."""
        if instance_id is None:
            return group.members.get(member_id) or ConsumerGroupMember(member_id)
        existing_id = group.static_members.get(instance_id)
        if existing_id is None:
            return group.members.get(member_id) or ConsumerGroupMember(member_id)
        existing = group.members[existing_id]
        if existing_id == member_id:
            return existing
        # The classic static protocol: a new incarnation takes over the instance and its assignment.
        replacement = existing.with_(member_id=member_id, member_epoch=0, previous_member_epoch=0)
        self._replace(group, existing, replacement)
        return replacement

    def classic_sync(self, now_ms: int, group_id: str, generation_id: int, member_id: str,
                     instance_id: str | None, protocol_type: str | None, protocol_name: str | None) -> dict:
        """SyncGroup of a classic member (Kafka's classicGroupSyncToConsumerGroup): its assigned
        partitions, as a ConsumerProtocolAssignment of its subscription's version."""
        self._advance(now_ms)
        group = self.groups[group_id]
        member, code = self._classic_checks(group, member_id, instance_id, generation_id)
        if code:
            return sync_response(error_code=code)
        first_name, first_metadata = member.classic.protocols[0]
        if (protocol_type is not None and protocol_type != cp.PROTOCOL_TYPE) or \
                (protocol_name is not None and protocol_name != first_name):
            return sync_response(error_code=ErrorCode.INCONSISTENT_GROUP_PROTOCOL)
        if group.group_epoch > member.member_epoch and member.state is not MemberState.UNREVOKED_PARTITIONS:
            self._schedule_join_timeout(group, member)
            return sync_response(error_code=ErrorCode.REBALANCE_IN_PROGRESS)
        self._timers.cancel(("sync", group_id, member.member_id))
        self._schedule_session(group, member)
        try:
            version = cp.metadata_version(first_metadata)
        except cp.SubscriptionParseError:
            version = 0
        return sync_response(protocol_type=protocol_type, protocol_name=protocol_name,
                             assignment=cp.encode_assignment(version, self._topic_names(member.assigned)))

    def classic_heartbeat(self, now_ms: int, group_id: str, generation_id: int, member_id: str,
                          instance_id: str | None) -> ErrorCode:
        """Heartbeat of a classic member (Kafka's classicGroupHeartbeatToConsumerGroup):
        REBALANCE_IN_PROGRESS while it must rejoin: the group epoch moved past it, it has
        partitions to revoke, or partitions it waits for are free now."""
        self._advance(now_ms)
        group = self.groups[group_id]
        member, code = self._classic_checks(group, member_id, instance_id, generation_id)
        if code:
            return code
        self._schedule_session(group, member)
        if (member.member_epoch < group.group_epoch or member.state is MemberState.UNREVOKED_PARTITIONS
                or (member.state is MemberState.UNRELEASED_PARTITIONS and not self._waits_on_unreleased(group, member))):
            self._schedule_join_timeout(group, member)
            return ErrorCode.REBALANCE_IN_PROGRESS
        return ErrorCode.NONE

    def classic_leave(self, now_ms: int, group_id: str, members: list[tuple[str, str | None]]) -> dict:
        """LeaveGroup naming members of a consumer group (Kafka's classicGroupLeaveToConsumerGroup):
        each must be known (static ones by instance id); those found are fenced together."""
        self._advance(now_ms)
        group = self.groups[group_id]
        responses, leaving = [], []
        for member_id, instance_id in members:
            if instance_id is None:
                code = ErrorCode.NONE if member_id in group.members else ErrorCode.UNKNOWN_MEMBER_ID
                found = member_id
            else:
                found = group.static_members.get(instance_id)
                if found is None:
                    code = ErrorCode.UNKNOWN_MEMBER_ID
                elif member_id and found != member_id:
                    code = ErrorCode.FENCED_INSTANCE_ID
                else:
                    code = ErrorCode.NONE
            if not code and found not in leaving:
                leaving.append(found)
            responses.append({"member_id": member_id, "group_instance_id": instance_id, "error_code": code})
        if leaving:
            self._fence(group, leaving)
        return {"error_code": ErrorCode.NONE, "members": responses}

    def _classic_checks(self, group: ConsumerGroup, member_id: str, instance_id: str | None,
                        generation_id: int) -> tuple[ConsumerGroupMember | None, ErrorCode]:
        """Kafka's validateConsumerGroupMember, throwIfMemberDoesNotUseClassicProtocol and
        throwIfGenerationIdUnmatched."""
        if instance_id is None:
            member = group.members.get(member_id)
            if member is None:
                return None, ErrorCode.UNKNOWN_MEMBER_ID
        else:
            static_id = group.static_members.get(instance_id)
            if static_id is None:
                return None, ErrorCode.UNKNOWN_MEMBER_ID
            if static_id != member_id:
                return None, ErrorCode.FENCED_INSTANCE_ID
            member = group.members[static_id]
        if not member.is_classic:
            return None, ErrorCode.UNKNOWN_MEMBER_ID
        if member.member_epoch != generation_id:
            return None, ErrorCode.ILLEGAL_GENERATION
        return member, ErrorCode.NONE

    def _supports_classic(self, group: ConsumerGroup, protocol_type: str, names: list[str]) -> bool:
        """Kafka's ConsumerGroup.supportsClassicProtocols: the "consumer" type, and a protocol
        every classic member supports."""
        if protocol_type != cp.PROTOCOL_TYPE or not names:
            return False
        classic = [m for m in group.members.values() if m.is_classic]
        return any(all(any(n == name for n, _ in m.classic.protocols) for m in classic) for name in names)

    @staticmethod
    def _waits_on_unreleased(group: ConsumerGroup, member: ConsumerGroupMember) -> bool:
        for t, parts in group.target_of(member.member_id).items():
            have = member.assigned.get(t, frozenset())
            if any(p not in have and group.partition_epoch(t, p) != -1 for p in parts):
                return True
        return False

    def _schedule_join_timeout(self, group: ConsumerGroup, member: ConsumerGroupMember) -> None:
        key = ("join", group.group_id, member.member_id)
        if key not in self._timers:
            self._timers.schedule(key, self._now_ms + member.rebalance_timeout_ms,
                                  ("join", group.group_id, member.member_id, member.member_epoch))

    def _topic_ids(self, partitions: cp.TopicPartitions) -> dict[uuid.UUID, list[int]]:
        out: dict[uuid.UUID, list[int]] = {}
        for name, parts in partitions:
            info = self._topics.get(name)
            if info is not None:
                out.setdefault(info.topic_id, []).extend(parts)
        return out

    def _topic_names(self, assignment) -> cp.TopicPartitions:
        names = {info.topic_id: name for name, info in self._topics.items()}
        return sorted((names[t], sorted(p)) for t, p in assignment.items() if t in names)

    # -- fencing, and the downgrade it may bring -------------------------------------------

    def _fence(self, group: ConsumerGroup, member_ids: list[str]) -> None:
        """Members leave or time out (Kafka's consumerGroupFenceMembers): the group goes back
        to the classic coordinator if only classic members remain, else they are removed."""
        member_ids = [m for m in member_ids if m in group.members]
        if not member_ids:
            return
        if self._may_downgrade(group, member_ids):
            self._downgrade(group, member_ids)
            return
        for member_id in member_ids:
            self._remove_member(group, member_id, bump=False)
        self._maybe_bump_epoch(group, True)
        if group.members:
            self._maybe_assign(group)

    def _may_downgrade(self, group: ConsumerGroup, leaving: list[str]) -> bool:
        """Kafka's validateOnlineDowngradeWithFencedMembers."""
        remaining = [m for m in group.members.values() if m.member_id not in leaving]
        if any(group.members[m].is_classic for m in leaving if m in group.members):
            return False
        if not remaining or not all(m.is_classic for m in remaining):
            return False
        return self.settings.downgrade_enabled and len(remaining) <= self.settings.classic_max_size

    def _may_downgrade_replacing(self, group: ConsumerGroup, replaced: ConsumerGroupMember) -> bool:
        """Kafka's validateOnlineDowngradeWithReplacedMember."""
        if replaced.is_classic or not all(m.is_classic for m in group.members.values() if m is not replaced):
            return False
        return self.settings.downgrade_enabled and len(group.members) <= self.settings.classic_max_size

    def _downgrade(self, group: ConsumerGroup, leaving: list[str], *, rebalance: bool = True) -> None:
        """Kafka's convertToClassicGroup: the consumer group's records go (tombstones) and the
        remaining members are handed over with their target assignments."""
        members = []
        for m in group.members.values():
            if m.member_id in leaving:
                continue
            members.append(MigratingMember(
                member_id=m.member_id, group_instance_id=m.instance_id, client_id=m.client_id,
                client_host=m.client_host, rebalance_timeout_ms=m.rebalance_timeout_ms,
                session_timeout_ms=m.classic.session_timeout_ms, protocols=m.classic.protocols,
                target=tuple((t, tuple(p)) for t, p in self._topic_names(group.target_of(m.member_id)))))
        for member_id in group.members:
            self._changes.extend(rec.member_gone(group.group_id, member_id))
        self._changes.extend(rec.group_gone(group.group_id))
        del self.groups[group.group_id]
        self._timers.cancel_where(lambda key: key[1] == group.group_id)
        self._handovers.append(MigratingGroup(group.group_id, group.group_epoch, None, tuple(members), rebalance))

    def take_handovers(self) -> list[MigratingGroup]:
        """Groups downgraded since the last call, for the classic coordinator to take."""
        out, self._handovers = self._handovers, []
        return out

    # -- upgrade ------------------------------------------------------------------------------

    def group_from_classic(self, classic: MigratingGroup, topics, topics_version: int) -> ConsumerGroup:
        """The consumer group a classic group becomes (Kafka's validateOnlineUpgrade and
        ConsumerGroup.fromClassicGroup), not installed yet; ApiError(GROUP_ID_NOT_FOUND)
        when it cannot be converted."""
        self._advance(self._now_ms, topics, topics_version)
        group_id = classic.group_id

        def refuse(why: str) -> ApiError:
            from .coordinator import ApiError
            return ApiError(ErrorCode.GROUP_ID_NOT_FOUND,
                            f"Cannot upgrade classic group {group_id} to consumer group because {why}.")

        if not self.settings.upgrade_enabled:
            raise refuse("online upgrade is disabled")
        if classic.protocol_name is None:
            raise refuse("the group does not use the consumer embedded protocol")
        if len(classic.members) > self.settings.max_size:
            raise refuse("the group size exceeds the consumer group maximum size")
        group = ConsumerGroup(group_id, self._now_ms)
        group.group_epoch = group.assignment_epoch = classic.generation_id
        for m in classic.members:
            try:
                if m.assignment:
                    owned, user_data = cp.decode_assignment(m.assignment)
                    if user_data:
                        raise refuse("an unsupported custom assignor is in use. Please refer to the documentation "
                                     "or switch to a default assignor before re-attempting the upgrade")
                else:
                    owned = []
                metadata = dict(m.protocols)[classic.protocol_name]
                subscription = cp.decode_subscription(metadata)
            except (cp.SubscriptionParseError, KeyError):
                raise refuse("the embedded consumer protocol is malformed") from None
            assigned = {t: frozenset(p) for t, p in self._topic_ids(owned).items() if p}
            group.put(ConsumerGroupMember(
                m.member_id, instance_id=m.group_instance_id, rack_id=subscription.rack_id,
                client_id=m.client_id, client_host=m.client_host,
                subscribed_topic_names=tuple(subscription.topics), rebalance_timeout_ms=m.rebalance_timeout_ms,
                member_epoch=classic.generation_id, previous_member_epoch=classic.generation_id,
                state=MemberState.STABLE, assigned=assigned,
                classic=ClassicMetadata(m.session_timeout_ms, m.protocols)))
            group.target[m.member_id] = assigned
        return group

    def adopt(self, now_ms: int, group: ConsumerGroup) -> None:
        """Install a group made by ``group_from_classic`` and queue its records (Kafka's
        createConsumerGroupRecords); each member's session is its classic session timeout."""
        self._advance(now_ms)
        self.groups[group.group_id] = group
        for m in group.members.values():
            self._changes.append(rec.member_metadata(group.group_id, m))
        group.subscription_metadata = self._subscription_metadata(group)
        self._changes.append(rec.partition_metadata(group.group_id, group.subscription_metadata))
        self._changes.append(rec.group_epoch(group.group_id, group.group_epoch))
        for m in group.members.values():
            self._changes.append(rec.target_member(group.group_id, m.member_id, group.target_of(m.member_id)))
        self._changes.append(rec.target_epoch(group.group_id, group.assignment_epoch))
        for m in group.members.values():
            self._changes.append(rec.current_assignment(group.group_id, m))
            self._schedule_session(group, m)
