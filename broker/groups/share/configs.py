"""Group configs (KIP-848/KIP-932 dynamic group configs): a group's own values of the keys
Kafka lets IncrementalAlterConfigs set on resource type GROUP (32), over the broker's
group.* defaults. Kept in ``group-configs.properties`` in the data directory (Kafka keeps
them in its metadata log), rewritten atomically on every change.

The door: ``describe(group_id)`` lists every key with its value and whether it is the
default; ``alter(group_id, ops)`` applies (key, op, value) changes all or nothing, with
Kafka's INVALID_CONFIG for an unknown key or a bad value.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from kproto.errors import ErrorCode

from ..config import GroupConfig

SET, DELETE = 0, 1     # IncrementalAlterConfigs operations (APPEND and SUBTRACT are for lists)


@dataclass(frozen=True)
class GroupConfigKey:
    name: str
    default: Callable[[GroupConfig], str]
    valid: Callable[[str], bool]


def _int_between(low: int, high: int) -> Callable[[str], bool]:
    def check(value: str) -> bool:
        try:
            return low <= int(value) <= high
        except ValueError:
            return False
    return check


KEYS: dict[str, GroupConfigKey] = {k.name: k for k in (
    GroupConfigKey("consumer.session.timeout.ms", lambda c: str(c.group_consumer_session_timeout_ms),
                   _int_between(1, 2**31 - 1)),
    GroupConfigKey("consumer.heartbeat.interval.ms", lambda c: str(c.group_consumer_heartbeat_interval_ms),
                   _int_between(1, 2**31 - 1)),
    GroupConfigKey("share.session.timeout.ms", lambda c: str(c.group_share_session_timeout_ms),
                   _int_between(1, 2**31 - 1)),
    GroupConfigKey("share.heartbeat.interval.ms", lambda c: str(c.group_share_heartbeat_interval_ms),
                   _int_between(1, 2**31 - 1)),
    GroupConfigKey("share.record.lock.duration.ms", lambda c: str(c.group_share_record_lock_duration_ms),
                   _int_between(1000, 3_600_000)),
    GroupConfigKey("share.delivery.count.limit", lambda c: str(c.group_share_delivery_count_limit),
                   _int_between(2, 10)),
    GroupConfigKey("share.partition.max.record.locks", lambda c: str(c.group_share_partition_max_record_locks),
                   _int_between(100, 10000)),
    GroupConfigKey("share.auto.offset.reset", lambda c: "latest",
                   lambda v: v in ("latest", "earliest") or v.startswith("by_duration:")),
    GroupConfigKey("share.isolation.level", lambda c: "read_uncommitted",
                   lambda v: v in ("read_uncommitted", "read_committed")),
)}


class GroupConfigs:
    def __init__(self, defaults: GroupConfig, path: Path | None):
        self._defaults = defaults
        self._path = path
        self._values: dict[str, dict[str, str]] = {}
        if path is not None and path.exists():
            for line in path.read_text().splitlines():
                group_key, sep, value = line.partition("=")
                group_id, _, name = group_key.rpartition("\x1f")
                if sep and name in KEYS:
                    self._values.setdefault(bytes.fromhex(group_id).decode(), {})[name] = value

    def value(self, group_id: str, name: str) -> str:
        return self._values.get(group_id, {}).get(name) or KEYS[name].default(self._defaults)

    def int_value(self, group_id: str, name: str) -> int | None:
        """The group's own value of an integer key, or None (the broker's default applies)."""
        value = self._values.get(group_id, {}).get(name)
        return None if value is None else int(value)

    def describe(self, group_id: str, names: list[str] | None = None) -> list[dict]:
        """``{name, value, is_default}`` of each key (all when ``names`` is None); unknown names left out."""
        own = self._values.get(group_id, {})
        return [{"name": n, "value": own.get(n, KEYS[n].default(self._defaults)), "is_default": n not in own}
                for n in (names if names is not None else sorted(KEYS)) if n in KEYS]

    def alter(self, group_id: str, ops: list[tuple[str, int, str | None]], *,
              validate_only: bool = False) -> tuple[ErrorCode, str | None]:
        """Apply ``(name, operation, value)`` changes (SET or DELETE) all or nothing."""
        if not group_id:
            return ErrorCode.INVALID_GROUP_ID, "Group id can't be empty."
        new = dict(self._values.get(group_id, {}))
        for name, op, value in ops:
            key = KEYS.get(name)
            if key is None:
                return ErrorCode.INVALID_CONFIG, f"Unknown group config name: {name}"
            if op == SET:
                if value is None or not key.valid(value):
                    return ErrorCode.INVALID_CONFIG, f"Invalid value {value} for configuration {name}"
                new[name] = value
            elif op == DELETE:
                new.pop(name, None)
            else:
                return ErrorCode.INVALID_REQUEST, f"Operation {op} is not allowed for group configs"
        if not validate_only:
            if new:
                self._values[group_id] = new
            else:
                self._values.pop(group_id, None)
            self._save()
        return ErrorCode.NONE, None

    def forget(self, group_id: str) -> None:
        if self._values.pop(group_id, None) is not None:
            self._save()

    def _save(self) -> None:
        if self._path is None:
            return
        lines = [f"{group_id.encode().hex()}\x1f{name}={value}"
                 for group_id, values in sorted(self._values.items()) for name, value in sorted(values.items())]
        tmp = self._path.with_suffix(".tmp")
        with open(tmp, "w") as f:
            f.write("\n".join(lines) + ("\n" if lines else ""))
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, self._path)
