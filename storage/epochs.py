"""The leader epoch cache of a partition: which leader epoch began at which offset.

Kafka keeps it in ``leader-epoch-checkpoint`` in the partition directory, in its
checkpoint text format::

    0            the format version
    2            the number of entries
    0 0          epoch, start offset: one line per epoch, both ascending
    3 1500

A leader assigns its epoch at its log end offset when it takes over; a follower assigns
the epoch of every fetched batch newer than its latest one. ``end_offset_for`` answers
OffsetForLeaderEpoch: where an epoch ended, which a returning replica uses to cut a
tail that diverged from the leader. The cache is written (atomically, fsynced) only when
it changes, which is once per leader change: a broker that never replicates never writes
it. A missing or unreadable file is an empty cache (Kafka then truncates to the high
watermark).
"""

from __future__ import annotations

import logging
import os
from bisect import bisect_left, bisect_right

from .topics import atomic_write

logger = logging.getLogger(__name__)

LEADER_EPOCH_CHECKPOINT = "leader-epoch-checkpoint"
CHECKPOINT_VERSION = 0
UNDEFINED_EPOCH = -1
UNDEFINED_OFFSET = -1


class LeaderEpochCache:
    """(epoch, start offset) entries, both strictly ascending; kept in ``directory`` (None: memory)."""

    def __init__(self, directory: str | None = None) -> None:
        self.directory = directory
        self.epochs: list[int] = []
        self.start_offsets: list[int] = []
        if directory is not None:
            self._load()

    # -- reading -----------------------------------------------------------------

    @property
    def latest_epoch(self) -> int:
        return self.epochs[-1] if self.epochs else UNDEFINED_EPOCH

    def entries(self) -> list[tuple[int, int]]:
        return list(zip(self.epochs, self.start_offsets))

    def end_offset_for(self, epoch: int, log_end_offset: int) -> tuple[int, int]:
        """(epoch, end offset) as Kafka's LeaderEpochFileCache.endOffsetFor: the largest epoch
        at or below ``epoch`` and the start offset of the epoch after it (the log end offset
        for the latest epoch). Below every epoch: the requested epoch and the first start
        offset; above the latest (or undefined): (-1, -1)."""
        if epoch == UNDEFINED_EPOCH or not self.epochs:
            return UNDEFINED_EPOCH, UNDEFINED_OFFSET
        if epoch == self.epochs[-1]:
            return epoch, log_end_offset
        higher = bisect_right(self.epochs, epoch)
        if higher == len(self.epochs):
            return UNDEFINED_EPOCH, UNDEFINED_OFFSET
        if higher == 0:
            return epoch, self.start_offsets[0]
        return self.epochs[higher - 1], self.start_offsets[higher]

    def epoch_for_offset(self, offset: int) -> int:
        """The epoch whose range holds ``offset`` (-1 before the first entry)."""
        k = bisect_right(self.start_offsets, offset) - 1
        return self.epochs[k] if k >= 0 else UNDEFINED_EPOCH

    # -- changing ------------------------------------------------------------------

    def assign(self, epoch: int, start_offset: int) -> bool:
        """Record that ``epoch`` starts at ``start_offset``; True if the cache changed.
        An epoch not above the latest is ignored; entries starting at or after
        ``start_offset`` give way to the new one (a leader's epoch that never got data)."""
        if epoch < 0 or (self.epochs and epoch <= self.epochs[-1]):
            return False
        while self.start_offsets and self.start_offsets[-1] >= start_offset:
            self.epochs.pop()
            self.start_offsets.pop()
        self.epochs.append(epoch)
        self.start_offsets.append(start_offset)
        self._save()
        return True

    def truncate_from_end(self, end_offset: int) -> None:
        """Drop the epochs that start at or after ``end_offset`` (the log was cut there)."""
        keep = bisect_left(self.start_offsets, end_offset)
        if keep < len(self.epochs):
            del self.epochs[keep:], self.start_offsets[keep:]
            self._save()

    def truncate_from_start(self, start_offset: int) -> None:
        """The log now starts at ``start_offset``: the epoch holding it starts there."""
        k = bisect_right(self.start_offsets, start_offset) - 1
        if k > 0 or (k == 0 and self.start_offsets[0] < start_offset):
            del self.epochs[:k], self.start_offsets[:k]
            self.start_offsets[0] = start_offset
            self._save()

    def clear(self) -> None:
        if self.epochs:
            self.epochs.clear()
            self.start_offsets.clear()
            self._save()

    # -- the file ----------------------------------------------------------------------

    def _path(self) -> str:
        return os.path.join(self.directory, LEADER_EPOCH_CHECKPOINT)

    def _save(self) -> None:
        if self.directory is None:
            return
        lines = [str(CHECKPOINT_VERSION), str(len(self.epochs))]
        lines += [f"{epoch} {offset}" for epoch, offset in zip(self.epochs, self.start_offsets)]
        atomic_write(self._path(), ("\n".join(lines) + "\n").encode("ascii"))

    def _load(self) -> None:
        try:
            with open(self._path(), encoding="ascii") as file:
                lines = file.read().splitlines()
        except FileNotFoundError:
            return
        except (OSError, UnicodeDecodeError) as exc:
            logger.warning("%s: ignoring an unreadable leader epoch checkpoint: %s", self._path(), exc)
            return
        try:
            if len(lines) < 2 or lines[0].strip() != str(CHECKPOINT_VERSION) or int(lines[1]) != len(lines) - 2:
                raise ValueError("not a version 0 checkpoint")
            pairs = [tuple(map(int, line.split())) for line in lines[2:]]
            if any(len(p) != 2 for p in pairs):
                raise ValueError("an entry is not 'epoch offset'")
            epochs = [p[0] for p in pairs]
            offsets = [p[1] for p in pairs]
            if epochs != sorted(set(epochs)) or offsets != sorted(offsets):
                raise ValueError("entries out of order")
        except ValueError as exc:
            logger.warning("%s: ignoring a malformed leader epoch checkpoint: %s", self._path(), exc)
            return
        self.epochs, self.start_offsets = epochs, offsets
