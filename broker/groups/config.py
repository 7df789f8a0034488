"""Configuration of the classic group coordinator (Kafka's names, in snake_case)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class GroupCoordinatorConfig:
    group_initial_rebalance_delay_ms: int = 3000
    group_min_session_timeout_ms: int = 6000
    group_max_session_timeout_ms: int = 1800000
    group_max_size: int = 2**31 - 1  # Kafka's default, Integer.MAX_VALUE
    # Kafka's classicGroupNewMemberJoinTimeoutMs: a constant 5 minutes, not a broker config.
    group_new_member_join_timeout_ms: int = 300000
