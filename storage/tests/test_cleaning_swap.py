"""A cleaning put in place of the segments it cleaned (LogManager and DiskPartitionLog), with a
crash at every step: the log opens valid, with the same newest record of every key."""

from __future__ import annotations

import os
import random

import pytest

from storage import LogConfig, Record, build_batch, decode_records
from storage.cleaner import clean
from storage.log_manager import LogManager

from .helpers import read_all

NOW = 1_700_000_000_000
COMPACTED = {"cleanup.policy": "compact", "min.cleanable.dirty.ratio": "0.01"}


def keyed_log(engine, batches: int = 60, keys: int = 12, seed: int = 7):
    """Topic "t" (compacted, 400-byte segments) of one-record batches of random keys, a tenth
    of them tombstones; returns the log and {key: (offset, value)} of each key's newest record."""
    storage = engine.open(LogConfig(segment_bytes=400))
    storage.create_topic("t", 1, COMPACTED)
    log = storage.partition("t", 0)
    return log, append_keyed(log, batches, keys, seed, {})


def append_keyed(log, batches: int, keys: int, seed: int, newest: dict) -> dict:
    rng = random.Random(seed)
    for i in range(batches):
        key = b"key-%d" % rng.randrange(keys)
        value = None if rng.random() < 0.1 else b"value-%d" % i
        result = log.append(build_batch([Record(timestamp=NOW + i, key=key, value=value)]), now_ms=NOW)
        newest[key] = (result.base_offset, value)
    return newest


def newest_records(log) -> dict:
    """{key: (offset, value)} of the newest record of each key, reading the whole log; checks
    that offsets only grow."""
    view, last = {}, -1
    for batch in read_all(log):
        for record in decode_records(batch):
            assert record.offset > last
            last = record.offset
            view[record.key] = (record.offset, record.value)
    return view


def leftovers(engine) -> list[str]:
    return sorted(n for n in os.listdir(engine.data_dir / "t-0") if n.endswith((".cleaned", ".swap", ".deleted")))


def crash_and_reopen(engine):
    """Close the files as a dying process would leave them, without the clean-shutdown mark."""
    engine.storage.close()
    os.unlink(engine.data_dir / ".kbroker_clean_shutdown")
    return engine.open(engine.storage.defaults).partition("t", 0)


def test_a_cleaning_keeps_the_newest_record_of_each_key(engine):
    log, newest = keyed_log(engine)
    end, size = log.log_end_offset, log.size
    manager = LogManager(engine.storage)
    result = manager.clean_once(NOW)
    assert result is not None and result.end_offset == log.segments[-1].base_offset
    assert log.cleaner_checkpoint == result.end_offset
    assert newest_records(log) == newest
    assert log.log_end_offset == end and log.size < size
    cleaned_keys = [r.key for b in read_all(log) for r in decode_records(b) if r.offset < result.end_offset]
    assert len(cleaned_keys) == len(set(cleaned_keys))   # one record per key in the cleaned part
    assert manager.clean_once(NOW) is None                # nothing dirty is left
    if engine.disk:
        assert leftovers(engine) and all(n.endswith(".deleted") for n in leftovers(engine))
        log = engine.reopen().partition("t", 0)
        assert newest_records(log) == newest and leftovers(engine) == []
        assert LogManager(engine.storage).storage.partition("t", 0).cleaner_checkpoint is None  # not written yet
        manager.write_cleaner_checkpoint()
        assert LogManager(engine.storage).storage.partition("t", 0).cleaner_checkpoint == result.end_offset


def _cleaned(engine):
    """A log cleaned once, then written to again, and its second cleaning done up to the swap
    (its groups now hold several segments each)."""
    log, newest = keyed_log(engine)
    manager = LogManager(engine.storage)
    manager.clean_once(NOW)
    append_keyed(log, 60, 12, 8, newest)
    job = manager.grab_filthiest_log(NOW)
    return log, newest, manager, job, clean(job)


def _rename(directory, names, suffix_from, suffix_to):
    for name in names:
        os.rename(directory / (name + suffix_from), directory / (name + suffix_to))


@pytest.mark.parametrize("step", [
    "cleaned files written",
    "index files committed, the log not yet",
    "committed",
    "first old segment renamed .deleted",
    "swapped in",
])
def test_a_crash_at_any_step_of_a_swap_leaves_a_valid_log(disk, step):
    log, newest, manager, job, result = _cleaned(disk)
    directory = disk.data_dir / "t-0"
    first = result.segments[0]
    stem = f"{first.base_offset:020d}"
    assert len(result.segments) > 1 and len(first.replaced) > 1
    if step == "index files committed, the log not yet":
        _rename(directory, [stem + ".index", stem + ".timeindex"], ".cleaned", ".swap")
    elif step == "committed":
        manager.commit_cleaned(job, result)
    elif step == "first old segment renamed .deleted":
        manager.commit_cleaned(job, result)
        _rename(directory, [stem + s for s in (".log", ".index", ".timeindex")], "", ".deleted")
    elif step == "swapped in":
        manager.commit_cleaned(job, result)
        manager.finish_cleaning(job, result, NOW)
    end = log.log_end_offset
    log = crash_and_reopen(disk)
    assert leftovers(disk) == []
    assert log.log_end_offset == end
    assert newest_records(log) == newest
    committed = step not in ("cleaned files written", "index files committed, the log not yet")
    assert (log.segments[0].next_offset == first.next_offset) == committed   # the group is one segment now
    # and the log cleans on as before
    assert LogManager(disk.storage).clean_once(NOW) is not None or committed
    assert newest_records(log) == newest


def test_an_aborted_cleaning_removes_its_files_and_frees_the_log(disk):
    log, newest, manager, job, result = _cleaned(disk)
    manager.commit_cleaned(job, result)
    assert log.cleaning
    manager.abort_cleaning(job)
    assert not log.cleaning and [n for n in leftovers(disk) if not n.endswith(".deleted")] == []
    assert newest_records(log) == newest
    assert manager.clean_once(NOW) is not None


def test_a_cleaning_of_a_deleted_topic_is_dropped(disk):
    log, _, manager, job, result = _cleaned(disk)
    manager.commit_cleaned(job, result)
    disk.storage.delete_topic("t")
    assert manager.finish_cleaning(job, result, NOW) is False
    assert not os.path.exists(disk.data_dir / "t-0")


def test_reads_under_way_outlive_a_swap(disk):
    log, newest, manager, job, result = _cleaned(disk)
    reading = log.read(0, 1 << 20)
    before = reading.read_bytes()
    manager.commit_cleaned(job, result)
    manager.finish_cleaning(job, result, NOW)
    for path in set(log.take_deleted_files(NOW + 10**9)):
        os.unlink(path)
    assert reading.read_bytes() == before
