"""The benchmark suite: name -> test (title, metrics shown, how to run it, broker overrides)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

from bench import footprint, groups, loadgen, log_life
from bench import transactions as txn
from bench import workloads as w


KBROKER_GROUPS = {"kbroker": {"group.initial.rebalance.delay.ms": "0"}}
# KIP-848: members learn of revocations and of released partitions only by heartbeating, so
# Kafka's 5 s default interval makes a group forming one member at a time take seconds; the
# bench sets 100 ms, as one would for fast joins (Tansu serves no KIP-848).
KBROKER_KIP848 = {"kbroker": {"group.consumer.heartbeat.interval.ms": "100"}}


@dataclass
class Test:
    title: str
    metrics: list[str]
    run: Callable
    overrides: dict[str, dict[str, str]] = field(default_factory=dict)
    brokers: tuple[str, ...] = ("kbroker", "tansu")   # the brokers it applies to


SUITE: dict[str, Test] = {
    "produce_100b": Test("produce 200k x 100 B, acks=1, 1 partition", ["msgs/s", "broker µs/msg", "broker cores"],
                         lambda b: w.produce_throughput(b.start(), 200_000, 100)),
    "produce_100b_raw": Test("produce 200k x 100 B in fixed 11-message requests, 5 in flight (raw load generator)",
                             ["msgs/s", "broker µs/msg", "broker µs/request"],
                             lambda b: loadgen.produce_fixed_batches(b.start())),
    "produce_1kb": Test("produce 50k x 1 KB, acks=1", ["MB/s", "broker µs/msg", "broker cores"],
                        lambda b: w.produce_throughput(b.start(), 50_000, 1000)),
    "produce_small": Test("produce 100k x 100 B in 10-message requests, linger.ms=0",
                          ["msgs/s", "broker µs/request", "broker cores"],
                          lambda b: w.produce_small_requests(b.start())),
    "consume_100b": Test("consume 200k x 100 B by assignment, from earliest", ["msgs/s", "broker µs/msg", "broker cores"],
                         lambda b: w.consume_throughput(b.start(), 200_000, 100)),
    "latency": Test("end-to-end latency, 1,000 msg/s for 10 s, acks=all", ["p50 ms", "p99 ms", "max ms", "loop lag p99 ms", "broker cores"],
                    lambda b: w.end_to_end_latency(b.start())),
    "startup": Test("start-up: launch to first Metadata answer / idle RSS", ["first Metadata s", "idle RSS MB"],
                    lambda b: footprint.startup(b)),
    "memory": Test("memory after producing 1M x 100 B", ["RSS MB"],
                   lambda b: footprint.memory_after_produce(b.start())),
    "group_1": Test("consumer group of 1: all assigned", ["join s"],
                    lambda b: groups.group_assignment(b.start(), 1), KBROKER_GROUPS),
    "group_2": Test("consumer group of 2: all assigned, then one leaves", ["join s", "rebalance s"],
                    lambda b: groups.group_assignment(b.start(), 2), KBROKER_GROUPS),
    "group_4": Test("consumer group of 4: all assigned, then one leaves", ["join s", "rebalance s"],
                    lambda b: groups.group_assignment(b.start(), 4), KBROKER_GROUPS),
    "kip848_4": Test("KIP-848 consumer group of 4: all assigned, then one leaves", ["join s", "rebalance s"],
                     lambda b: groups.group_assignment(b.start(), 4, "consumer"), KBROKER_KIP848),
    "share_4": Test("share group of 4 consumers on one partition, 200k x 100 B", ["msgs/s", "busiest share", "broker µs/msg"],
                    lambda b: groups.share_throughput(b.start())),
    "many_topics": Test("100 topics x 10 partitions", ["spread msgs/s", "spread / one", "spread broker µs/msg",
                                                     "one broker µs/msg", "Metadata p50 ms"],
                        lambda b: footprint.many_topics(b.start())),
    "ceiling_1mb": Test("broker ceiling: pipelined Produce, 1 MB batches", ["MB/s", "requests/s", "broker µs/request"],
                        lambda b: loadgen.produce_ceiling(b.start(), 1 << 20, 1000)),
    "ceiling_1kb": Test("broker ceiling: pipelined Produce, 1 KB batches", ["requests/s", "MB/s", "broker µs/request"],
                        lambda b: loadgen.produce_ceiling(b.start(), 1024, 50_000)),
    "fetch_small": Test("fetch: one raw consumer, one request in flight, each returning 10 x 100 B",
                        ["requests/s", "broker µs/request"], lambda b: loadgen.fetch_small(b.start())),
    "fetch_ceiling": Test("fetch ceiling: one consumer reading a 1 GB partition", ["GB/s", "broker cores"],
                          lambda b: loadgen.fetch_ceiling(b.start())),
    # the log's life, kbroker only: compared with itself without the work
    "cleaner": Test("cleaner: one round over 200 MB of 100-byte keyed records, all dirty",
                    ["MB/s per core", "MB/s", "kept %"], log_life.cleaner_throughput, brokers=("kbroker",)),
    "cleaner_loop_lag": Test("event loop waking every 1 ms while 100 MB are cleaned: how late (ms)",
                             ["idle p99 ms", "thread p99 ms", "process p99 ms", "thread max ms", "process max ms"],
                             log_life.cleaner_loop_lag, brokers=("kbroker",)),
    "compaction_latency": Test("end-to-end latency, 1,000 msg/s, while a 1 GB compacted topic is cleaned",
                               ["p50 ms", "p99 ms", "p50 ms, cleaner off", "p99 ms, cleaner off",
                                "p99 difference ms", "first round s", "test s", "MB compacted"],
                               log_life.compaction_latency, brokers=("kbroker",)),
    "restart_many": Test("restart: 1,000 partitions x 10 segments, 1M offset commits of 100 groups",
                         ["first Metadata s", "first OffsetFetch s"], log_life.restart_many, brokers=("kbroker",)),
    "txn_produce": Test("produce 200k x 100 B in transactions of 1,000 vs idempotent, acks=all",
                        ["txn msgs/s", "idempotent msgs/s", "txn / idempotent", "broker cores"],
                        lambda b: txn.txn_vs_idempotent(b.start())),
    "txn_produce_linger0": Test("the same with linger.ms=0 for both",
                                ["txn msgs/s", "idempotent msgs/s", "txn / idempotent", "broker cores"],
                                lambda b: txn.txn_vs_idempotent(b.start(), **{"linger.ms": 0})),
    "txn_commit": Test("commit round trip: EndTxn of a transaction of 10 partitions (raw frames)",
                       ["EndTxn p50 ms", "EndTxn p99 ms", "broker µs/transaction"],
                       lambda b: txn.commit_round_trip(b.start())),
    "read_committed": Test("consume 200k x 100 B, 10% in aborted transactions: read_committed vs read_uncommitted",
                           ["read_committed log msgs/s", "read_uncommitted log msgs/s", "committed / uncommitted",
                            "broker cores"],
                           lambda b: txn.read_committed_consume(b.start())),
}
