"""Small builders and readers shared by the storage tests."""

from __future__ import annotations

from storage import Record, build_batch, iter_batches, read_header


def make_batch(count: int = 1, *, value_bytes: int = 10, timestamp: int = 1000, tag: int = 0, **kwargs) -> bytes:
    """A batch of count records with distinct values, timestamps timestamp, timestamp+1, ..."""
    records = [
        Record(timestamp=timestamp + i, key=b"k%d" % i, value=(b"%d-%d|" % (tag, i)).ljust(value_bytes, b"v"))
        for i in range(count)
    ]
    return build_batch(records, **kwargs)


def split(data: bytes) -> list[bytes]:
    return [bytes(b) for b in iter_batches(data)]


def read_all(log, offset: int | None = None, max_bytes: int = 1 << 30) -> list[bytes]:
    """Every batch from offset (default log_start_offset) to the end, reading in a loop."""
    offset = log.log_start_offset if offset is None else offset
    batches = []
    while offset < log.log_end_offset:
        got = split(log.read(offset, max_bytes).read_bytes())
        assert got, f"empty read at {offset} below log_end_offset {log.log_end_offset}"
        batches.extend(got)
        offset = read_header(got[-1]).last_offset + 1
    return batches


def same_batch(stored: bytes, sent: bytes, base_offset: int) -> bool:
    """stored is sent with base_offset assigned and partition_leader_epoch 0, nothing else changed."""
    return (
        read_header(stored).base_offset == base_offset
        and read_header(stored).partition_leader_epoch == 0
        and stored[8:12] == sent[8:12]
        and stored[16:] == sent[16:]
    )


def corrupt(batch: bytes, position: int) -> bytes:
    data = bytearray(batch)
    data[position] ^= 0x40
    return bytes(data)


def assert_nothing_written(log, engine, end: int, size: int):
    """log (partition 0 of topic "t") ends at end after size bytes, also after a reopen."""
    assert log.log_end_offset == end
    assert log.read(0, 1 << 30).size == size
    if engine.disk:
        engine.reopen()
        again = engine.storage.partition("t", 0)
        assert (again.log_end_offset, again.read(0, 1 << 30).size) == (end, size)
