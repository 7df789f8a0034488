"""The door of KIP-848 consumer groups: ConsumerGroupHeartbeat and ConsumerGroupDescribe.

Each method reads the request at its version, calls the coordinator with ``now_ms`` and
the service's topics (storage's, or the cluster's), has the shell write the records the
call queued, and shapes the response. Group ids are one namespace with classic groups: a heartbeat for an
empty classic group converts it (its committed offsets stay); a joining heartbeat for a
classic group with members upgrades it online (consumer/classic.py) when
``group.consumer.migration.policy`` allows and the group uses the "consumer" embedded
protocol, else it is GROUP_ID_NOT_FOUND with Kafka's reason.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from broker.caller import Caller
from broker.clock import now_ms
from kproto.errors import ErrorCode

if TYPE_CHECKING:
    from broker.groups.service import GroupService


class ConsumerGroupDoor:
    def __init__(self, service: GroupService):
        self._service = service
        self._coordinator = service.consumer_coordinator

    def heartbeat(self, ctx: Caller, req: dict, describable=None) -> dict:
        """ConsumerGroupHeartbeat 0-1 (v1: the client makes its member id; a topic regex).
        ``describable(names)``: those of the topics the client may DESCRIBE, which is all a
        regex subscription resolves to (None: no authorizer)."""
        service = self._service
        group_id = req["group_id"]
        now = now_ms()
        service.in_consumer_group(group_id, now)   # due timers first: one may hand the group back to classic
        if group_id and group_id not in self._coordinator.groups and req["member_epoch"] == 0:
            other = service.group_type(group_id)
            if other == "classic" and not service.take_over_empty_classic(now, group_id):
                refused = service.upgrade_classic(now, group_id)   # KIP-848's online upgrade
                if refused:
                    return _error(ErrorCode.GROUP_ID_NOT_FOUND, refused)
            if other == "share":
                return _error(ErrorCode.GROUP_ID_NOT_FOUND, f"Group {group_id} is not a consumer group.")
        response = self._coordinator.heartbeat(now, req, ctx.client_id or "", "/" + ctx.client_host,
                                               ctx.api_version, service.topics_image(), service.topics_version,
                                               describable)
        service.write_consumer_changes()
        response["throttle_time_ms"] = 0
        return response

    def describe(self, ctx: Caller, req: dict) -> dict:
        """ConsumerGroupDescribe 0-1: GROUP_ID_NOT_FOUND for a group that is not a consumer group."""
        service = self._service
        groups = self._coordinator.describe(req["group_ids"], service.topics_image(), service.topics_version)
        for g in groups:
            if g["error_code"] == ErrorCode.GROUP_ID_NOT_FOUND and self._service.group_type(g["group_id"]):
                g["error_message"] = f"Group {g['group_id']} is not a consumer group."
        self._service.write_consumer_changes()
        return {"throttle_time_ms": 0, "groups": groups}


def _error(code: ErrorCode, message: str) -> dict:
    return {"throttle_time_ms": 0, "error_code": code, "error_message": message, "member_id": None,
            "member_epoch": -1, "heartbeat_interval_ms": 0, "assignment": None}
