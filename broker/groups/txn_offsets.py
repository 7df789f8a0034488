"""Offsets committed inside transactions (TxnOffsetCommit), pending until the transaction ends.

Kafka appends a transaction's offsets to ``__consumer_offsets`` at once, as a transactional
batch of its producer, but a group sees them only when the transaction's marker reaches that
partition: on commit they become the committed offsets, on abort they are dropped. Until then
OffsetFetch with require_stable answers UNSTABLE_OFFSET_COMMIT for them (KIP-447).

The later append wins, as in Kafka (GroupMetadata.completePendingTxnOffsetCommit): a plain
commit of the same partition made after the transaction's offsets were appended, or another
transaction's offsets appended later and committed first, are not overwritten by them.
"""

from __future__ import annotations

from typing import Callable, Iterable, TypeVar

Key = tuple[str, int]   # (topic, partition)
V = TypeVar("V")


class _Pending:
    __slots__ = ("value", "appended_at", "superseded")

    def __init__(self, value, appended_at: int) -> None:
        self.value = value
        self.appended_at = appended_at      # the offset of its batch in __consumer_offsets
        self.superseded = False             # a later append already decided the partition's offset


class PendingOffsets:
    """By producer id, then group id: the offsets its open transaction committed."""

    def __init__(self) -> None:
        self._by_producer: dict[int, dict[str, dict[Key, _Pending]]] = {}

    def __bool__(self) -> bool:
        return bool(self._by_producer)

    def add(self, producer_id: int, group_id: str, offsets: dict[Key, V], appended_at: int) -> None:
        group = self._by_producer.setdefault(producer_id, {}).setdefault(group_id, {})
        for key, value in offsets.items():
            group[key] = _Pending(value, appended_at)

    def remove(self, producer_id: int, group_id: str, key: Key) -> None:
        """A transactional tombstone: the transaction no longer commits this partition's offset."""
        self._by_producer.get(producer_id, {}).get(group_id, {}).pop(key, None)

    def supersede(self, group_id: str, keys: Iterable[Key], appended_at: int | None = None) -> None:
        """Offsets of these partitions were written at ``appended_at`` (None: now, after every
        pending one): pending offsets appended before are no longer to be applied."""
        keys = list(keys)
        for groups in self._by_producer.values():
            pending = groups.get(group_id)
            if pending:
                for key in keys:
                    entry = pending.get(key)
                    if entry is not None and (appended_at is None or entry.appended_at < appended_at):
                        entry.superseded = True

    def complete(self, producer_id: int, in_partition: Callable[[str], bool],
                 committed: bool) -> list[tuple[str, dict[Key, V]]]:
        """The producer's transaction ended in the partition whose groups ``in_partition``
        accepts: its pending offsets of those groups leave; on commit, the (group id, offsets)
        to make visible."""
        groups = self._by_producer.get(producer_id)
        if not groups:
            return []
        applied = []
        for group_id in [g for g in groups if in_partition(g)]:
            pending = groups.pop(group_id)
            if not committed:
                continue
            offsets = {key: entry.value for key, entry in pending.items() if not entry.superseded}
            for key, entry in pending.items():
                if not entry.superseded:
                    self.supersede(group_id, [key], entry.appended_at)
            if offsets:
                applied.append((group_id, offsets))
        if not groups:
            del self._by_producer[producer_id]
        return applied

    def drop_group(self, group_id: str) -> None:
        """The group was deleted: whatever its open transactions commit for it is dropped, as
        Kafka finds no group to complete them in."""
        for producer_id in list(self._by_producer):
            groups = self._by_producer[producer_id]
            groups.pop(group_id, None)
            if not groups:
                del self._by_producer[producer_id]

    def groups(self) -> set[str]:
        """The groups some open transaction holds offsets of."""
        return {group_id for groups in self._by_producer.values() for group_id, pending in groups.items() if pending}

    def has_pending(self, group_id: str, key: Key | None = None) -> bool:
        """Does an open transaction hold an offset of the group (of this partition)?"""
        if key is None:
            return any(groups.get(group_id) for groups in self._by_producer.values())
        return any(key in groups.get(group_id, ()) for groups in self._by_producer.values())
