"""The benchmark suite: name -> test (title, metrics shown, how to run it, broker overrides)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

from bench import workloads as w


KBROKER_GROUPS = {"kbroker": {"group.initial.rebalance.delay.ms": "0"}}


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
    "ceiling_1mb": Test("broker ceiling: pipelined Produce, 1 MB batches", ["MB/s", "requests/s", "broker µs/request"],
                        lambda b: w.produce_ceiling(b.start(), 1 << 20, 1000)),
    "ceiling_1kb": Test("broker ceiling: pipelined Produce, 1 KB batches", ["requests/s", "MB/s", "broker µs/request"],
                        lambda b: w.produce_ceiling(b.start(), 1024, 50_000)),
    "group_1": Test("consumer group of 1: all assigned", ["join s"],
                    lambda b: w.group_assignment(b.start(), 1), KBROKER_GROUPS),
    "group_4": Test("consumer group of 4: all assigned, then one leaves", ["join s", "rebalance s"],
                    lambda b: w.group_assignment(b.start(), 4), KBROKER_GROUPS),
    "group_16": Test("consumer group of 16: all assigned, then one leaves", ["join s", "rebalance s"],
                     lambda b: w.group_assignment(b.start(), 16), KBROKER_GROUPS),
}
