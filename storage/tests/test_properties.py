"""Hypothesis: random appends, reads and restarts never lose or change an acknowledged batch."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from storage import Compression, LogConfig, Record, Storage, build_batch, read_header

from .helpers import split

batch_specs = st.tuples(
    st.integers(1, 5),  # records
    st.integers(0, 300),  # value bytes
    st.sampled_from(list(Compression)),
    st.integers(0, 2**40),  # timestamp
)
operations = st.lists(
    st.one_of(
        st.tuples(st.just("append"), st.lists(batch_specs, min_size=1, max_size=3)),
        st.tuples(st.just("read"), st.floats(0, 1), st.integers(0, 3000)),
        st.tuples(st.just("reopen"), st.booleans()),
        st.tuples(st.just("flush")),
    ),
    max_size=40,
)


def make(spec, tag):
    count, value_bytes, codec, timestamp = spec
    records = [Record(timestamp=timestamp + i, key=b"%d" % tag, value=bytes([tag % 256]) * value_bytes) for i in range(count)]
    return build_batch(records, compression=codec)


def check_read(log, acked, offset, max_bytes):
    """The read starts with the batch holding offset, is contiguous, whole, and within max_bytes."""
    read = log.read(offset, max_bytes)
    got = split(read.read_bytes())
    assert read.size == sum(len(b) for b in got)
    if offset == log.log_end_offset:
        assert got == []
        return
    assert got, "a read below log_end_offset returns at least one batch"
    assert read.size <= max_bytes or len(got) == 1
    first = read_header(got[0])
    assert first.base_offset <= offset <= first.last_offset
    for batch in got:
        base = read_header(batch).base_offset
        assert batch[16:] == acked[base][16:] and batch[8:12] == acked[base][8:12]
    bases = [read_header(b).base_offset for b in got]
    expected = sorted(acked)
    start = expected.index(bases[0])
    assert bases == expected[start : start + len(bases)]


@pytest.mark.parametrize("kind", ["disk", "memory"])
@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    ops=operations,
    segment_bytes=st.integers(100, 3000),
    index_interval_bytes=st.integers(0, 1000),
)
def test_acknowledged_batches_stay_readable(kind, ops, segment_bytes, index_interval_bytes):
    config = LogConfig(segment_bytes=segment_bytes, index_interval_bytes=index_interval_bytes)
    with tempfile.TemporaryDirectory() as tmp:
        data_dir = Path(tmp) / "data" if kind == "disk" else None
        storage = Storage.open(data_dir, config)
        storage.create_topic("t", 1)
        log = storage.partition("t", 0)
        acked: dict[int, bytes] = {}  # base offset -> batch as sent
        tag = 0
        try:
            for op in ops:
                if op[0] == "append":
                    sent = []
                    for spec in op[1]:
                        tag += 1
                        sent.append(make(spec, tag))
                    result = log.append(b"".join(sent), now_ms=tag)
                    offset = result.base_offset
                    for batch in sent:
                        acked[offset] = batch
                        offset += read_header(batch).records_count
                    assert offset == result.last_offset + 1 == log.log_end_offset
                elif op[0] == "read":
                    offset = round(op[1] * log.log_end_offset)
                    check_read(log, acked, offset, op[2])
                elif op[0] == "reopen" and data_dir is not None:
                    storage.close()
                    if op[1]:  # as after a crash: no clean-shutdown marker
                        (data_dir / ".kbroker_clean_shutdown").unlink()
                    storage = Storage.open(data_dir, config)
                    log = storage.partition("t", 0)
                elif op[0] == "flush":
                    storage.flush()
            end = sum(read_header(b).records_count for b in acked.values())
            assert log.log_end_offset == end
            offset = 0
            while offset < end:
                check_read(log, acked, offset, 1)
                offset = read_header(split(log.read(offset, 1).read_bytes())[0]).last_offset + 1
        finally:
            storage.close()
