"""Response shapes of the group coordinator, in Kafka's field names.

Values the wire cannot carry in some versions are kept as Kafka keeps them
internally, and the protocol handler maps them per version:

* JoinGroup ``protocol_name``: None when the group has none; v0-6 send "" for None
  (Kafka's JoinGroupResponse constructor), v7+ send null for "".
* JoinGroup ``protocol_type`` (v7+) and SyncGroup ``protocol_type`` / ``protocol_name``
  (v5+): None when absent.
"""

from __future__ import annotations

from typing import Hashable

from kproto.errors import ErrorCode

Token = Hashable
Completion = tuple[Token, dict]
Completions = list[Completion]


def join_response(
    *,
    error_code: ErrorCode = ErrorCode.NONE,
    member_id: str = "",
    generation_id: int = -1,
    protocol_type: str | None = None,
    protocol_name: str | None = None,
    leader: str = "",
    skip_assignment: bool = False,
    members: list[dict] | None = None,
) -> dict:
    """A JoinGroup response; defaults are the schema's (generation_id -1, leader "")."""
    return {
        "error_code": ErrorCode(error_code),
        "generation_id": generation_id,
        "protocol_type": protocol_type,
        "protocol_name": protocol_name,
        "leader": leader,
        "skip_assignment": skip_assignment,
        "member_id": member_id,
        "members": members if members is not None else [],
    }


def sync_response(
    *,
    error_code: ErrorCode = ErrorCode.NONE,
    protocol_type: str | None = None,
    protocol_name: str | None = None,
    assignment: bytes = b"",
) -> dict:
    return {
        "error_code": ErrorCode(error_code),
        "protocol_type": protocol_type,
        "protocol_name": protocol_name,
        "assignment": assignment,
    }
