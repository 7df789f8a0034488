"""The durable record of which topics exist: a snapshot file and a journal of changes since it.

`<data_dir>/kbroker-topics.json` (topics.py) is the snapshot, replaced atomically now and then.
`<data_dir>/kbroker-topics.journal` holds the changes made since, one JSON object a line:
  {"topic": {<the snapshot's entry for the topic>}}   the topic as it now is (created or changed)
  {"deleted": "<name>"}                               the topic is gone

A change costs one append and one fdatasync of the journal, whatever the number of topics:
rewriting the snapshot for every change made each CreateTopics cost a rewrite of every topic's
line and two fsyncs. Changes made together (a CreateTopics of many topics) go out in one write
and one fdatasync (`commit`). When the journal holds more lines than the snapshot has topics
(and at least COMPACT_FROM_LINES), the snapshot is rewritten and the journal emptied; so is it
when the record is opened with a non-empty journal, which also drops a line a crash cut short,
and at a clean shutdown (`close`), so that only a crash leaves a journal behind.

Replaying the journal over the snapshot is idempotent (each line says the whole state of one
topic, the last line of a name wins): a crash after the snapshot is replaced but before the
journal is emptied loses nothing and adds nothing.
"""

from __future__ import annotations

import json
import logging
import os

from .errors import StorageError
from .topics import TopicInfo, fsync_dir, read_topics_file, topic_entry, topic_from_entry, \
    write_topics_file

logger = logging.getLogger(__name__)

TOPICS_JOURNAL = "kbroker-topics.journal"
COMPACT_FROM_LINES = 10_000   # journal lines before the snapshot is rewritten (or the topic count, if larger)


class TopicsJournal:
    """Snapshot plus journal of one data directory; `load` first, then `put`/`delete` and `commit`."""

    def __init__(self, data_dir: str) -> None:
        self.data_dir = data_dir
        self.path = os.path.join(data_dir, TOPICS_JOURNAL)
        self._lines = 0                  # lines in the journal file
        self._pending: list[str] = []    # lines not yet written
        self._rewrite = False            # the journal's tail is unknown (a failed write): rewrite the snapshot

    def load(self) -> list[TopicInfo]:
        """The topics, as of the last committed change; empties the journal into the snapshot."""
        topics = {info.name: info for info in read_topics_file(self.data_dir)}
        if self._replay(topics):
            self._compact(list(topics.values()))
        return list(topics.values())

    def put(self, info: TopicInfo) -> None:
        """The topic as it now is (created, grown, configs changed); written by the next commit."""
        self._pending.append(json.dumps({"topic": topic_entry(info)}, sort_keys=True))

    def delete(self, name: str) -> None:
        self._pending.append(json.dumps({"deleted": name}))

    def commit(self, topics) -> None:
        """Make the changes since the last commit durable; ``topics()`` gives every topic (a sized
        view), for a rewrite of the snapshot when the journal has grown long (or a write failed)."""
        if not self._pending and not self._rewrite:
            return
        if self._rewrite:
            self._compact(list(topics()))
            return
        data = ("\n".join(self._pending) + "\n").encode()
        try:
            self._append(data)
        except OSError:
            self._rewrite = True   # a line may be cut short: the next commit rewrites the snapshot
            raise
        self._lines += len(self._pending)
        self._pending.clear()
        if self._lines >= COMPACT_FROM_LINES:
            every = topics()   # a view: its length costs nothing
            if self._lines >= len(every):
                try:
                    self._compact(list(every))
                except OSError:   # the changes are durable in the journal; the next commit tries again
                    logger.exception("%s: rewriting the topics snapshot failed", self.data_dir)

    def close(self, topics) -> None:
        """A clean shutdown: commit, then fold the journal into the snapshot. A data directory
        shut down cleanly then holds every topic in the snapshot alone, which a kbroker older
        than the journal reads whole (it would not see the journal's topics)."""
        self.commit(topics)
        if self._lines:
            try:
                self._compact(list(topics()))
            except OSError:   # the changes are durable in the journal, which the next start replays
                logger.exception("%s: rewriting the topics snapshot at shutdown failed", self.data_dir)

    # ------------------------------------------------------------ internals

    def _append(self, data: bytes) -> None:
        """Append and fdatasync (opened for each commit: the broker holds no descriptor for it)."""
        existed = os.path.exists(self.path)
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            view, written = memoryview(data), 0
            while written < len(view):
                written += os.write(fd, view[written:])
            os.fdatasync(fd)
        finally:
            os.close(fd)
        if not existed:
            fsync_dir(self.data_dir)   # the new file's name must survive a crash too

    def _compact(self, topics: list[TopicInfo]) -> None:
        """Rewrite the snapshot with every topic, then empty the journal."""
        self._pending.clear()
        self._rewrite = True
        write_topics_file(self.data_dir, topics)
        try:
            fd = os.open(self.path, os.O_WRONLY)
        except FileNotFoundError:
            pass
        else:
            try:
                os.ftruncate(fd, 0)
                os.fsync(fd)
            finally:
                os.close(fd)
        self._lines = 0
        self._rewrite = False

    def _replay(self, topics: dict[str, TopicInfo]) -> int:
        """Apply the journal's lines to ``topics``; how many there were (a cut last line counts)."""
        try:
            with open(self.path, "rb") as file:
                data = file.read()
        except FileNotFoundError:
            return 0
        lines = data.split(b"\n")
        if lines[-1]:
            logger.warning("%s: dropping a last line cut short (%d bytes)", self.path, len(lines[-1]))
        lines.pop()   # after the last newline: empty, or a write a crash cut short (never committed)
        for number, line in enumerate(lines, 1):
            try:
                change = json.loads(line)
                if "deleted" in change:
                    topics.pop(change["deleted"], None)
                else:
                    info = topic_from_entry(change["topic"])
                    topics[info.name] = info
            except (KeyError, TypeError, ValueError, AttributeError) as exc:
                raise StorageError(f"{self.path}:{number}: malformed change: {exc}") from exc
        return len(lines) + bool(data and not data.endswith(b"\n"))
