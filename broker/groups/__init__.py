"""Classic consumer-group coordinator (JoinGroup/SyncGroup/Heartbeat/LeaveGroup...).

A pure, synchronous state machine after Apache Kafka's classic group coordinator;
see coordinator.py for the public API and its return shapes.
"""

from .config import GroupCoordinatorConfig
from .coordinator import GroupCoordinator, OffsetExpiration, legacy_leave_error
from .group import GroupState
from .responses import Completion, Completions, Token
from .snapshot import GroupChange, GroupSnapshot, MemberSnapshot

__all__ = [
    "Completion", "Completions", "GroupChange", "GroupCoordinator", "GroupCoordinatorConfig",
    "GroupSnapshot", "GroupState", "MemberSnapshot", "OffsetExpiration", "Token",
    "legacy_leave_error",
]
