"""The log's background work, run on the broker's event loop: the async shell around
storage's LogManager (which decides), as GroupService is around the group coordinator.

Loops, as Kafka's scheduler runs them:
- retention every log.retention.check.interval.ms (segments past retention.ms,
  retention.bytes or the log start offset become `.deleted` files);
- the deletion of `.deleted` files once their file.delete.delay.ms has passed (in a thread:
  unlinking a large file can take milliseconds);
- the cleaner (log.cleaner.threads of them): the filthiest compacted log is cleaned in a
  worker process at a lower priority (the memory engine's in a thread), so the cleaner's
  Python never holds the event loop's GIL (measured, a 1 ms ticker on the loop while a
  60 MB log is cleaned: p99 13 ms late with a worker thread, 0.2 ms with a worker process,
  as without cleaning); its files are committed in a thread; then the swap happens on the
  loop; log.cleaner.backoff.ms between looks when nothing needs cleaning;
- flushes of logs with data older than their flush.ms (fsync in a thread);
- log-start-offset-checkpoint every log.flush.start.offset.checkpoint.interval.ms;
- and, every producer.id.expiration.check.interval.ms, producers idle for
  producer.id.expiration.ms are forgotten (the cleaner keeps the last batch of the others).
"""

from __future__ import annotations

import ctypes
import logging
import os
import signal

import anyio
import anyio.to_process
import anyio.to_thread

from broker.clock import now_ms
from storage.cleaner import clean, clean_in_worker
from storage.log_manager import LogManager

log = logging.getLogger("kbroker.log")

IDLE_FLUSH_CHECK_MS = 1000  # how often to look again for a flush.ms when no log has one
MIN_FLUSH_CHECK_MS = 10     # flush.ms below this is checked this often (flush.messages=1 flushes each append)


class LogService:
    def __init__(self, broker) -> None:
        self.storage = broker.storage
        self.config = broker.config.log_manager_config
        self.manager = LogManager(broker.storage, self.config)
        self._files_due = anyio.Event()      # set when files were scheduled for deletion
        self._checkpoint_lock = anyio.Lock()  # one writer per checkpoint file at a time
        self._log_start_checkpoint = None    # the content last written

    async def run(self) -> None:
        async with anyio.create_task_group() as tg:
            tg.start_soon(self._retention)
            tg.start_soon(self._delete_files)
            tg.start_soon(self._flush)
            tg.start_soon(self._checkpoint_log_start_offsets_periodically)
            tg.start_soon(self._expire_producers)
            if self.config.cleaner_enable:
                for _ in range(self.config.cleaner_threads):
                    tg.start_soon(self._clean)

    def close(self) -> None:
        """At shutdown, before the storage closes: the cleaner's progress on disk."""
        self.manager.write_cleaner_checkpoint()

    # -- retention and deleted files ----------------------------------------------------

    async def _retention(self) -> None:
        while True:
            await anyio.sleep(self.config.retention_check_interval_ms / 1000)
            deleted = 0
            for plog in self.storage.logs():
                try:
                    deleted += self.manager.delete_old_segments_of(plog, now_ms())
                except Exception:   # a disk error: this log waits for the next check, the others go on
                    log.exception("retention of %s-%d failed", plog.topic, plog.partition)
                await anyio.sleep(0)   # requests in between: a log's renames (and a roll's fsyncs) at a time
            if deleted:
                self._files_due.set()

    async def _delete_files(self) -> None:
        while True:
            self._files_due = anyio.Event()   # before looking: a deletion scheduled after this wakes it
            due = self.manager.next_file_deletion_ms()
            with anyio.move_on_after(None if due is None else max(0, due - now_ms()) / 1000):
                await self._files_due.wait()
            paths = self.manager.take_deleted_files(now_ms())
            if paths:
                await anyio.to_thread.run_sync(_unlink_all, paths)

    # -- cleaning -------------------------------------------------------------------------

    async def _clean(self) -> None:
        backoff_s = self.config.cleaner_backoff_ms / 1000
        while True:
            job = self.manager.grab_filthiest_log(now_ms())
            if job is None:
                await anyio.sleep(backoff_s)
                continue
            try:
                if job.directory is not None:
                    result = await anyio.to_process.run_sync(clean_in_child, job, cancellable=True)
                else:
                    result = await anyio.to_thread.run_sync(clean, job)
                await anyio.to_thread.run_sync(self.manager.commit_cleaned, job, result)
            except Exception:
                if self.manager.abort_cleaning(job):   # else its topic was deleted meanwhile
                    log.exception("cleaning %s-%d failed; it will be tried again", job.topic, job.partition)
                await anyio.sleep(backoff_s)
                continue
            except BaseException:
                self.manager.abort_cleaning(job)
                raise
            try:
                finished = self.manager.finish_cleaning(job, result, now_ms())
                if finished:
                    self._files_due.set()
                    data = self.manager.cleaner_checkpoint()
                    async with self._checkpoint_lock:
                        await anyio.to_thread.run_sync(self.manager.write_cleaner_checkpoint, data)
            except Exception:   # a disk error: the log keeps what it had; the swap completes at open
                log.exception("putting the cleaned segments of %s-%d in place failed", job.topic, job.partition)
                await anyio.sleep(backoff_s)

    # -- flushes and checkpoints ------------------------------------------------------------

    async def _flush(self) -> None:
        while True:
            shortest = self.manager.shortest_flush_ms()
            interval_ms = min(self.config.flush_scheduler_interval_ms,
                              IDLE_FLUSH_CHECK_MS if shortest is None else max(shortest, MIN_FLUSH_CHECK_MS))
            await anyio.sleep(interval_ms / 1000)
            now = now_ms()
            try:
                fds = [fd for plog in self.manager.logs_to_flush(now) for fd in plog.flush_fds(now)]
                if fds:
                    await anyio.to_thread.run_sync(_fsync_and_close, fds)
            except OSError:
                log.exception("flushing the log failed")

    async def _expire_producers(self) -> None:
        while True:
            await anyio.sleep(self.config.producer_id_expiration_check_interval_ms / 1000)
            self.manager.remove_expired_producers(now_ms())

    async def _checkpoint_log_start_offsets_periodically(self) -> None:
        while True:
            await anyio.sleep(self.config.flush_start_offset_checkpoint_interval_ms / 1000)
            try:
                await self.checkpoint_log_start_offsets()
            except OSError:
                log.exception("writing log-start-offset-checkpoint failed")

    async def checkpoint_log_start_offsets(self) -> None:
        """Write log-start-offset-checkpoint if a log start moved since the last write
        (DeleteRecords waits for it, so the records it deleted stay deleted after a crash)."""
        if self.storage.data_dir is None:
            return
        async with self._checkpoint_lock:
            data = self.storage.log_start_offsets_checkpoint()
            if data != self._log_start_checkpoint:
                await anyio.to_thread.run_sync(self.storage.write_log_start_offsets_checkpoint, data)
                self._log_start_checkpoint = data


def clean_in_child(job):
    """clean_in_worker in the worker process, which first asks to die with the broker: a
    broker killed (SIGKILL) must not leave its cleaner writing into the directories the next
    broker opens (PR_SET_PDEATHSIG, Linux; elsewhere the worker ends at its next job's end)."""
    try:
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    except (OSError, AttributeError):
        pass
    return clean_in_worker(job)


_PR_SET_PDEATHSIG = 1


def _unlink_all(paths: list[str]) -> None:
    for path in paths:
        try:
            os.unlink(path)
        except FileNotFoundError:
            pass


def _fsync_and_close(fds: list[int]) -> None:
    try:
        for fd in fds:
            os.fsync(fd)
    finally:
        for fd in fds:
            os.close(fd)
