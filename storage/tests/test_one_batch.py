"""append(one_batch=True): Kafka's rule for a partition's records in Produce v3+, exactly one
whole magic-2 batch, checked with the rest of the header on both engines.

The broker answers each of these errors by its exact class (NoRecordBatchError,
UnsupportedMessageFormatError, NotOneBatchError get Kafka's own messages), so the tests
check the exact class raised, and that nothing of a refused append is stored.
"""

from __future__ import annotations

import os
import struct

import pytest

from storage import (
    CorruptRecordError,
    InvalidRecordError,
    LogConfig,
    NoRecordBatchError,
    NotOneBatchError,
    RecordTooLargeError,
    StorageError,
    UnsupportedMessageFormatError,
    read_header,
)
from storage.crc import crc32c

from .helpers import assert_nothing_written, corrupt, make_batch, read_all, same_batch

MAX_MESSAGE_BYTES = 1000
ONE = make_batch(3)


def patched(batch: bytes, position: int, fmt: str, value: int, *, fix_crc: bool = True) -> bytes:
    data = bytearray(batch)
    struct.pack_into(fmt, data, position, value)
    if fix_crc:
        struct.pack_into(">I", data, 17, crc32c(bytes(data[21:])))
    return bytes(data)


REFUSED = {
    "empty": (b"", NoRecordBatchError),
    "shorter than a batch header": (ONE[:60], NoRecordBatchError),
    "shorter than a header, magic 1": (patched(ONE, 16, ">b", 1)[:60], NoRecordBatchError),
    "magic 0": (patched(ONE, 16, ">b", 0), UnsupportedMessageFormatError),
    "magic 1 then another batch": (patched(ONE, 16, ">b", 1) + ONE, UnsupportedMessageFormatError),
    "two batches": (ONE + ONE, NotOneBatchError),
    "cut short": (ONE[:-1], NotOneBatchError),
    "a byte after the batch": (ONE + b"\x00", NotOneBatchError),
    "negative batch_length": (patched(ONE, 8, ">i", -1, fix_crc=False), NotOneBatchError),
    "crc mismatch": (corrupt(ONE, 70), CorruptRecordError),
    "records_count off": (patched(ONE, 57, ">i", 2), InvalidRecordError),
    "unknown codec": (patched(ONE, 21, ">h", 5), InvalidRecordError),
    "larger than max.message.bytes": (make_batch(1, value_bytes=MAX_MESSAGE_BYTES), RecordTooLargeError),
}


def open_log(engine):
    storage = engine.open(LogConfig(max_message_bytes=MAX_MESSAGE_BYTES))
    storage.create_topic("t", 1)
    return storage.partition("t", 0)


@pytest.mark.parametrize("records,error", REFUSED.values(), ids=REFUSED.keys())
def test_refused_with_the_exact_error_and_nothing_stored(engine, records, error):
    log = open_log(engine)
    log.append(ONE, now_ms=1, one_batch=True)
    with pytest.raises(StorageError) as refused:
        log.append(records, now_ms=1, one_batch=True)
    assert refused.type is error
    assert_nothing_written(log, engine, 3, len(ONE))


def test_one_whole_batch_is_stored_as_sent(engine):
    log = open_log(engine)
    sent = [make_batch(1 + i, tag=i) for i in range(3)]
    for batch in sent:
        log.append(memoryview(b"xx" + batch)[2:], now_ms=1, one_batch=True)
    assert log.log_end_offset == 6
    stored = read_all(log)
    assert [read_header(b).base_offset for b in stored] == [0, 1, 3]
    assert all(same_batch(s, b, read_header(s).base_offset) for s, b in zip(stored, sent))


def test_without_the_rule_an_append_takes_several_batches(engine):
    log = open_log(engine)
    result = log.append(ONE + ONE, now_ms=1)
    assert (result.base_offset, result.last_offset) == (0, 5)


def test_idempotent_retry_of_one_batch_is_a_duplicate(engine):
    log = open_log(engine)
    batch = make_batch(2, producer_id=7, producer_epoch=0, base_sequence=0)
    first = log.append(batch, now_ms=1, one_batch=True)
    engine.reopen()
    log = engine.storage.partition("t", 0)
    retry = log.append(batch, now_ms=1, one_batch=True)
    assert (first.duplicate, retry.duplicate) == (False, True)
    assert (retry.base_offset, retry.last_offset, log.log_end_offset) == (0, 1, 2)


def test_client_batches_whose_write_fails_are_not_stored(disk):
    """ClientBatches: when the one write of several batches fails, each is appended again on its
    own, and each gets what that gives it (here the same failure): nothing is stored, nothing is
    acknowledged, and the log goes on at the same offset once writes succeed again."""
    storage = disk.open()
    storage.create_topic("t", 1)
    log = storage.partition("t", 0)
    log.append(ONE, now_ms=1, one_batch=True)
    segment = log.segments[-1]
    size = segment.size
    writer = segment._open_writer() if segment._write_fd < 0 else segment._write_fd
    os.close(writer)
    segment._write_fd = os.open(segment.log_path, os.O_RDONLY)   # the disk refuses writes
    try:
        run = log.client_batches(now_ms=2)
        for _ in range(3):
            run.add(ONE)
        assert not run.store()    # nothing written
        assert len(run.outcomes) == 3 and all(isinstance(outcome, OSError) for outcome in run.outcomes)
        assert log.log_end_offset == 3 and segment.size == size
    finally:
        os.close(segment._write_fd)
        segment._write_fd = -1
    run = log.client_batches(now_ms=3)
    run.add(ONE)
    assert run.store()
    assert run.outcomes[0].base_offset == 3 and len(read_all(log)) == 2
