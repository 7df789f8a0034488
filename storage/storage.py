"""Storage: the topics of a data directory (or of memory) and their partition logs."""

from __future__ import annotations

import dataclasses
import logging
import os
import shutil
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from .checkpoints import LOG_START_OFFSET_CHECKPOINT, format_checkpoint, read_checkpoint, write_checkpoint_bytes
from .config import LogConfig
from .disk_log import DiskPartitionLog
from .errors import (
    InvalidPartitionsError,
    InvalidTopicError,
    TopicExistsError,
    UnknownTopicError,
    UnknownTopicOrPartitionError,
)
from .log import PartitionLog
from .memory_log import MemoryPartitionLog
from .topics import (
    TopicInfo,
    colliding_name,
    fsync_dir,
    new_topic_id,
    partition_dir_name,
    validate_topic_name,
)
from .topics_journal import TopicsJournal

logger = logging.getLogger(__name__)

CLEAN_SHUTDOWN_FILE = ".kbroker_clean_shutdown"
DELETE_SUFFIX = "-delete"


CLOSE_THREADS = 16            # partitions closed (their files fsynced) at once on shutdown
CLOSE_IN_PARALLEL_FROM = 64   # with fewer partitions, one after another


def _close_log(log: PartitionLog) -> None:
    log.close()


class _TopicChanges:
    """Storage.topic_changes()'s context manager (a plain class: Metadata enters it per request)."""

    __slots__ = ("storage",)

    def __init__(self, storage: Storage) -> None:
        self.storage = storage

    def __enter__(self) -> Storage:
        self.storage._batching += 1
        return self.storage

    def __exit__(self, *exc_info) -> None:
        storage = self.storage
        storage._batching -= 1
        if not storage._batching:
            storage._commit()


class Storage:
    """Topics and partition logs; on disk under data_dir, or in memory when data_dir is None."""

    def __init__(self, data_dir: str | None, defaults: LogConfig) -> None:
        self.data_dir = data_dir
        self.defaults = defaults
        self._topics: dict[str, TopicInfo] = {}
        self._topics_by_id: dict[uuid.UUID, TopicInfo] = {}
        self._logs: dict[str, list[PartitionLog]] = {}
        self._closed = False
        self.topics_version = 0   # changes whenever topics, partitions or configs change
        self._log_start_checkpoint: dict[tuple[str, int], int] = {}  # as read at open
        self._by_colliding_name: dict[str, str] = {}   # colliding_name(topic) -> topic, for a check in O(1)
        self._journal: TopicsJournal | None = None   # the durable record of the topics (disk only)
        self._batching = 0           # inside topic_changes(): changes are committed on leaving it
        self._topic_changes = _TopicChanges(self)
        self._doomed: list[str] = []   # deleted partitions' directories, removed once the deletion is committed

    @classmethod
    def open(cls, data_dir: Path | str | None, defaults: LogConfig | None = None) -> Storage:
        """Open a data directory (created if missing, recovered after a crash); None: in memory."""
        storage = cls(None if data_dir is None else str(data_dir), defaults or LogConfig())
        if storage.data_dir is not None:
            storage._load()
        return storage

    def _load(self) -> None:
        data_dir = self.data_dir
        os.makedirs(data_dir, exist_ok=True)
        marker = os.path.join(data_dir, CLEAN_SHUTDOWN_FILE)
        clean_shutdown = os.path.exists(marker)
        for name in os.listdir(data_dir):
            path = os.path.join(data_dir, name)
            if name.endswith(DELETE_SUFFIX) and os.path.isdir(path):
                shutil.rmtree(path, ignore_errors=True)
        self._log_start_checkpoint = read_checkpoint(data_dir, LOG_START_OFFSET_CHECKPOINT)
        self._journal = TopicsJournal(data_dir)
        for info in self._journal.load():
            self._add_topic(info, clean_shutdown)
        self._log_start_checkpoint = {}
        if clean_shutdown:
            os.unlink(marker)
            fsync_dir(data_dir)

    # ------------------------------------------------------------ topics

    def topics(self) -> dict[str, TopicInfo]:
        return dict(self._topics)

    def topic_changes(self) -> _TopicChanges:
        """``with storage.topic_changes():`` the topic changes made inside are made durable together
        on leaving, with one write and one fdatasync (a CreateTopics of 100 topics, not 100 of
        them); a deleted topic's directories are removed after that. Whoever answers for the
        changes answers after leaving. Nests; outside it every change is durable on return."""
        return self._topic_changes

    def topic(self, name: str) -> TopicInfo | None:
        return self._topics.get(name)

    def topic_by_id(self, topic_id: uuid.UUID) -> TopicInfo | None:
        return self._topics_by_id.get(topic_id)

    def create_topic(
        self,
        name: str,
        num_partitions: int,
        configs: dict[str, str] | None = None,
        internal: bool = False,
        topic_id: uuid.UUID | None = None,
    ) -> TopicInfo:
        validate_topic_name(name)
        if name in self._topics:
            raise TopicExistsError(f"topic {name!r} already exists")
        existing = self._by_colliding_name.get(colliding_name(name))
        if existing is not None:
            raise InvalidTopicError(f"topic {name!r} collides with existing topic {existing!r}")
        if not isinstance(num_partitions, int) or num_partitions < 1:
            raise InvalidPartitionsError(f"number of partitions must be at least 1, not {num_partitions}")
        configs = dict(configs or {})
        self.defaults.with_overrides(configs)  # raises InvalidConfigError
        if topic_id is None:
            topic_id = new_topic_id()
        elif topic_id in self._topics_by_id:
            raise TopicExistsError(f"topic id {topic_id} is already used by {self._topics_by_id[topic_id].name!r}")
        info = TopicInfo(name, topic_id, num_partitions, configs, internal)
        if self.data_dir is not None:
            for partition in range(num_partitions):
                self._remove_stale_dir(name, partition)
        self._add_topic(info, clean_shutdown=True)
        self._changed(info)
        return info

    def delete_topic(self, name: str) -> None:
        """Forget a topic and remove its directories."""
        info = self._require(name)
        logs = self._logs.pop(name)
        del self._topics[name]
        del self._topics_by_id[info.topic_id]
        del self._by_colliding_name[colliding_name(name)]
        for log in logs:
            if isinstance(log, DiskPartitionLog):
                log.close_files()
                # renamed now (a topic of the same name may follow in the same batch), removed
                # once the deletion is durable
                self._doomed.append(self._rename_for_delete(log.directory, log.topic, log.partition))
        self._changed(info, deleted=True)

    def create_partitions(self, name: str, total: int) -> None:
        """Grow a topic to total partitions."""
        info = self._require(name)
        if not isinstance(total, int) or total <= info.num_partitions:
            raise InvalidPartitionsError(
                f"topic {name!r} has {info.num_partitions} partitions; {total} is not more"
            )
        new = dataclasses.replace(info, num_partitions=total)
        if self.data_dir is not None:
            for partition in range(info.num_partitions, total):
                self._remove_stale_dir(name, partition)
        config = self.defaults.with_overrides(new.configs)
        logs = self._logs[name]
        for partition in range(info.num_partitions, total):
            logs.append(self._open_log(new, partition, config, clean_shutdown=True))
        self._replace(new)
        self._changed(new)

    def alter_topic_configs(self, name: str, configs: dict[str, str]) -> None:
        """Replace the topic's config overrides (InvalidConfigError leaves them unchanged)."""
        info = self._require(name)
        configs = dict(configs)
        config = self.defaults.with_overrides(configs)
        new = dataclasses.replace(info, configs=configs)
        self._replace(new)
        for log in self._logs[name]:
            log.config = config
        self._changed(new)

    def replace_defaults(self, defaults: LogConfig) -> None:
        """New defaults for every topic (dynamic broker configs): each log gets them under its overrides."""
        self.defaults = defaults
        for name, logs in self._logs.items():
            config = defaults.with_overrides(self._topics[name].configs)
            for log in logs:
                log.config = config

    def partition(self, name: str, index: int) -> PartitionLog:
        logs = self._logs.get(name)
        if logs is None or not 0 <= index < len(logs):
            raise UnknownTopicOrPartitionError(f"no partition {name}-{index}")
        return logs[index]

    def logs(self) -> list[PartitionLog]:
        """Every partition log, topic by topic."""
        return [log for logs in self._logs.values() for log in logs]

    # ------------------------------------------------------------ log start offsets

    def log_start_offsets_checkpoint(self) -> bytes:
        """Kafka's log-start-offset-checkpoint for the logs whose start is inside their first
        segment (after DeleteRecords); elsewhere the first segment's base offset says it."""
        return format_checkpoint({
            (log.topic, log.partition): log.log_start_offset
            for log in self.logs() if log.segments and log.log_start_offset > log.segments[0].base_offset})

    def checkpoint_log_start_offsets(self) -> None:
        """Write log-start-offset-checkpoint (disk only)."""
        self.write_log_start_offsets_checkpoint(self.log_start_offsets_checkpoint())

    def write_log_start_offsets_checkpoint(self, data: bytes) -> None:
        """Write log_start_offsets_checkpoint()'s bytes, taken earlier (from a thread: one at a time)."""
        if self.data_dir is not None:
            write_checkpoint_bytes(self.data_dir, LOG_START_OFFSET_CHECKPOINT, data)

    # ------------------------------------------------------------ lifecycle

    def flush(self) -> None:
        for logs in self._logs.values():
            for log in logs:
                log.flush()

    def close(self) -> None:
        """Flush and close every log, then mark the shutdown clean."""
        if self._closed:
            return
        logs = [log for topic_logs in self._logs.values() for log in topic_logs]
        if len(logs) < CLOSE_IN_PARALLEL_FROM:
            for log in logs:
                log.close()
        else:
            # Each close fsyncs its partition's files; the file system commits fsyncs that come
            # together at once, so closing 10,000 written partitions takes seconds, not minutes.
            with ThreadPoolExecutor(CLOSE_THREADS, thread_name_prefix="kbroker-close") as pool:
                for _ in pool.map(_close_log, logs):
                    pass
        self._closed = True
        if self.data_dir is not None:
            self._commit()
            self._journal.close(self._topics.values)
            self.checkpoint_log_start_offsets()
            marker = os.path.join(self.data_dir, CLEAN_SHUTDOWN_FILE)
            fd = os.open(marker, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
            os.fsync(fd)
            os.close(fd)
            fsync_dir(self.data_dir)

    def __enter__(self) -> Storage:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    # ------------------------------------------------------------ internals

    def _require(self, name: str) -> TopicInfo:
        info = self._topics.get(name)
        if info is None:
            raise UnknownTopicError(f"no topic {name!r}")
        return info

    def _replace(self, info: TopicInfo) -> None:
        self._topics[info.name] = info
        self._topics_by_id[info.topic_id] = info

    def _changed(self, info: TopicInfo, deleted: bool = False) -> None:
        """Record a topic's change: durable on return, or on leaving topic_changes()."""
        self.topics_version += 1
        if self._journal is not None:
            if deleted:
                self._journal.delete(info.name)
            else:
                self._journal.put(info)
        if not self._batching:
            self._commit()

    def _commit(self) -> None:
        if self._journal is not None:
            self._journal.commit(self._topics.values)
        doomed, self._doomed = self._doomed, []
        for path in doomed:
            shutil.rmtree(path, ignore_errors=True)

    def _add_topic(self, info: TopicInfo, clean_shutdown: bool) -> None:
        config = self.defaults.with_overrides(info.configs)
        logs = [self._open_log(info, partition, config, clean_shutdown) for partition in range(info.num_partitions)]
        self._by_colliding_name[colliding_name(info.name)] = info.name
        self._topics[info.name] = info
        self._topics_by_id[info.topic_id] = info
        self._logs[info.name] = logs

    def _open_log(self, info: TopicInfo, partition: int, config: LogConfig, clean_shutdown: bool) -> PartitionLog:
        if self.data_dir is None:
            return MemoryPartitionLog(info.name, partition, config)
        directory = os.path.join(self.data_dir, partition_dir_name(info.name, partition))
        return DiskPartitionLog.open(info.name, partition, directory, config, info.topic_id, clean_shutdown,
                                     self._log_start_checkpoint.get((info.name, partition), 0))

    def _rename_for_delete(self, directory: str, topic: str, partition: int) -> str:
        """Rename a partition directory out of the way as Kafka does: the topic part is cut
        so that '<topic>-<partition>.<unique id>-delete' stays within 255 bytes."""
        suffix = f"-{partition}.{uuid.uuid4().hex}{DELETE_SUFFIX}"
        target = os.path.join(os.path.dirname(directory), topic[:255 - len(suffix)] + suffix)
        os.rename(directory, target)
        return target

    def _remove_stale_dir(self, name: str, partition: int) -> None:
        """A directory left by a topic of the same name that no longer exists (crash mid-delete)."""
        directory = os.path.join(self.data_dir, partition_dir_name(name, partition))
        if os.path.exists(directory):
            logger.warning("%s: removing a directory no topic owns", directory)
            shutil.rmtree(self._rename_for_delete(directory, name, partition), ignore_errors=True)
