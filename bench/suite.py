"""The benchmark suite: name -> test (title, metrics shown, how to run it, broker overrides)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

from bench import workloads as w


@dataclass
class Test:
    title: str
    metrics: list[str]
    run: Callable
    overrides: dict[str, dict[str, str]] = field(default_factory=dict)


SUITE: dict[str, Test] = {
    "produce_100b": Test("produce 200k x 100 B, acks=1", ["msgs/s", "MB/s", "broker cores"],
                         lambda b: w.produce_throughput(b.start(), 200_000, 100)),
    "produce_1kb": Test("produce 50k x 1 KB, acks=1", ["msgs/s", "MB/s", "broker cores"],
                        lambda b: w.produce_throughput(b.start(), 50_000, 1000)),
    "consume_100b": Test("consume 200k x 100 B", ["msgs/s", "MB/s", "broker cores"],
                         lambda b: w.consume_throughput(b.start(), 200_000, 100)),
    "consume_1kb": Test("consume 50k x 1 KB", ["msgs/s", "MB/s", "broker cores"],
                        lambda b: w.consume_throughput(b.start(), 50_000, 1000)),
}
