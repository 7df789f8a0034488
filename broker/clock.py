"""The broker's one clock: wall-clock milliseconds, as Kafka timestamps are."""

import time


def now_ms() -> int:
    return time.time_ns() // 1_000_000
