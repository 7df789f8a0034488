"""One member of a classic group (Kafka's ClassicGroupMember).

Besides its identity and timeouts, a member holds the protocols it supports, in
order of preference, with their metadata, the assignment the leader gave it, and
the tokens of its parked JoinGroup / SyncGroup requests (Kafka keeps futures there).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Hashable

Protocols = tuple[tuple[str, bytes], ...]


@dataclass(eq=False, slots=True)
class ClassicGroupMember:
    member_id: str
    group_instance_id: str | None
    client_id: str
    client_host: str
    rebalance_timeout_ms: int
    session_timeout_ms: int
    protocol_type: str
    protocols: Protocols
    assignment: bytes = b""
    # Token of the parked JoinGroup request, if the member awaits a join response.
    join_token: Hashable | None = field(default=None)
    # Token of the parked SyncGroup request, if the member awaits its assignment.
    sync_token: Hashable | None = field(default=None)
    # A member added in the current rebalance that has not received a join response yet.
    is_new: bool = False

    @property
    def is_static(self) -> bool:
        return self.group_instance_id is not None

    @property
    def is_awaiting_join(self) -> bool:
        return self.join_token is not None

    @property
    def is_awaiting_sync(self) -> bool:
        return self.sync_token is not None

    def protocol_names(self) -> list[str]:
        return [name for name, _ in self.protocols]

    def metadata(self, protocol_name: str | None) -> bytes:
        for name, metadata in self.protocols:
            if name == protocol_name:
                return metadata
        raise ValueError(f"member {self.member_id} does not support protocol {protocol_name!r}")

    def has_satisfied_heartbeat(self) -> bool:
        """Kafka: members parked in a join or sync satisfy their heartbeat, new members never do."""
        if self.is_new:
            return False
        return self.is_awaiting_join or self.is_awaiting_sync

    def matches(self, protocols: Protocols) -> bool:
        """Same protocols, same order, same metadata."""
        return tuple(protocols) == self.protocols

    def vote(self, candidates: set[str]) -> str:
        """The most preferred of this member's protocols that is among ``candidates``."""
        for name, _ in self.protocols:
            if name in candidates:
                return name
        raise ValueError(f"member {self.member_id} supports none of {sorted(candidates)}")
