"""offset_for_timestamp and max_timestamp: exact record offsets, any codec, LogAppendTime."""

from __future__ import annotations

import pytest

from storage import Compression, LogConfig, Record, build_batch

# (timestamps of each batch's records); offsets 0-2, 3-5, 6-7, 8-10
TIMESTAMPS = [[100, 300, 200], [150, 250, 400], [400, 50], [500, 500, 450]]
EXPECTED = {
    0: (0, 100),
    100: (0, 100),
    101: (1, 300),
    300: (1, 300),
    301: (5, 400),
    400: (5, 400),
    401: (8, 500),
    500: (8, 500),
    501: None,
}
LAYOUTS = {
    "one segment": {},
    "index every batch": {"index.interval.bytes": "0"},
    "segment per batch": {"segment.bytes": "100", "index.interval.bytes": "0"},
}


def batches(codec):
    return [
        build_batch([Record(timestamp=t, value=b"v%d" % t) for t in stamps], compression=codec) for stamps in TIMESTAMPS
    ]


@pytest.mark.parametrize("layout", list(LAYOUTS))
@pytest.mark.parametrize("codec", list(Compression))
def test_offset_for_timestamp_and_max_timestamp(engine, codec, layout):
    storage = engine.open()
    storage.create_topic("t", 1, LAYOUTS[layout])
    log = storage.partition("t", 0)
    assert log.max_timestamp() == (-1, -1)
    assert log.offset_for_timestamp(0) is None
    for batch in batches(codec):
        log.append(batch, now_ms=1)
    if engine.disk and layout == "segment per batch":
        assert len(log.segments) == 4
    for _ in range(2):
        assert {target: log.offset_for_timestamp(target) for target in EXPECTED} == EXPECTED
        assert log.max_timestamp() == (8, 500)
        log = engine.reopen().partition("t", 0)


def test_log_append_time(engine):
    storage = engine.open(LogConfig(message_timestamp_type="LogAppendTime"))
    storage.create_topic("t", 1, {"segment.bytes": "150"})
    log = storage.partition("t", 0)
    for now_ms, codec in [(1000, Compression.NONE), (3000, Compression.ZSTD), (3000, Compression.SNAPPY), (2000, Compression.GZIP)]:
        log.append(build_batch([Record(timestamp=7, value=b"a"), Record(timestamp=9, value=b"b")], compression=codec),
                   now_ms=now_ms)
    for _ in range(2):
        assert log.offset_for_timestamp(7) == (0, 1000)
        assert log.offset_for_timestamp(1001) == (2, 3000)
        assert log.offset_for_timestamp(3001) is None
        # the first batch to reach the maximum; for LogAppendTime Kafka names its last offset
        assert log.max_timestamp() == (3, 3000)
        log = engine.reopen().partition("t", 0)


def test_timestamps_equal_to_the_maximum_later_in_the_log(engine):
    storage = engine.open()
    storage.create_topic("t", 1, {"index.interval.bytes": "1"})
    log = storage.partition("t", 0)
    for stamps in ([5, 9, 9], [9, 1], [8]):
        log.append(build_batch([Record(timestamp=t, value=b"x") for t in stamps]), now_ms=1)
    for _ in range(2):
        assert log.max_timestamp() == (1, 9)
        assert log.offset_for_timestamp(9) == (1, 9)
        assert log.offset_for_timestamp(6) == (1, 9)
        assert log.offset_for_timestamp(-5) == (0, 5)
        log = engine.reopen().partition("t", 0)
