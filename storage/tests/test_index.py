"""Index files: entry encoding, lookups, load-time checks."""

from __future__ import annotations

import struct
from array import array

from storage.index import OffsetIndex, TimeIndex, pack_time_entries, _unpack_time_entries


def test_time_entries_encode_as_kafka_writes_them():
    timestamps = array("q", [0, 1, -1, 2**32, -(2**32), 2**63 - 1, -(2**63), 1_700_000_000_123])
    offsets = array("i", [0, 1, -1, 2**31 - 1, -(2**31), 7, 8, 123456])
    data = pack_time_entries(timestamps, offsets)
    assert data == b"".join(struct.pack(">qi", t, o) for t, o in zip(timestamps, offsets))
    assert _unpack_time_entries(data) == (timestamps, offsets)
    assert pack_time_entries(array("q"), array("i")) == b""


def test_offset_index_file_and_lookups(tmp_path):
    index = OffsetIndex(str(tmp_path / "00000000000000000100.index"), 100)
    index.open_for_append()
    for offset, position in [(104, 500), (109, 1100), (130, 4000)]:
        index.append(offset, position)
    index.close()
    assert (tmp_path / "00000000000000000100.index").read_bytes() == struct.pack(">iiiiii", 4, 500, 9, 1100, 30, 4000)
    assert [index.lookup(o) for o in (100, 103, 104, 108, 109, 129, 130, 999)] == [0, 0, 500, 500, 1100, 1100, 4000, 4000]
    assert [index.position_at_or_below(p) for p in (0, 499, 500, 3999, 10**6)] == [-1, -1, 500, 1100, 4000]
    again = OffsetIndex(index.path, 100)
    assert again.load(log_bytes=4001, next_offset=131)
    assert list(again.relative_offsets) == [4, 9, 30] and list(again.positions) == [500, 1100, 4000]
    assert not OffsetIndex(index.path, 100).load(log_bytes=4000, next_offset=131)  # position past the log
    assert not OffsetIndex(index.path, 100).load(log_bytes=4001, next_offset=130)  # offset past the log


def test_time_index_keeps_only_rising_timestamps(tmp_path):
    index = TimeIndex(str(tmp_path / "00000000000000000000.timeindex"), 0)
    index.open_for_append()
    for timestamp, offset in [(-1, 0), (50, 3), (50, 5), (40, 6), (70, 9)]:
        index.maybe_append(timestamp, offset)
    index.close()
    assert list(struct.iter_unpack(">qi", (tmp_path / "00000000000000000000.timeindex").read_bytes())) == [
        (50, 3), (70, 9)]
    assert [index.lookup(t) for t in (0, 49, 50, 69, 70, 100)] == [0, 0, 3, 3, 9, 9]
    assert index.last_entry() == (70, 9)
