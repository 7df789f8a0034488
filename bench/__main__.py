"""Run every benchmark against kbroker and Tansu, alternating which goes first, and print one table.

    python -m bench [--rounds 3] [--only NAME[,NAME...]] [--brokers kbroker,tansu]
"""

from __future__ import annotations

import argparse
import platform
import statistics
import sys
import time

from bench.brokers import BROKERS
from bench.suite import SUITE


def run(names: list[str], brokers: list[str], rounds: int) -> dict:
    results: dict[tuple[str, str], list[dict]] = {}
    for name in names:
        test = SUITE[name]
        for round_index in range(rounds):
            order = brokers if round_index % 2 == 0 else list(reversed(brokers))
            for broker_name in order:
                if broker_name not in test.brokers:
                    continue
                broker = BROKERS[broker_name](test.overrides.get(broker_name))
                try:
                    metrics = test.run(broker)
                except Exception as exc:  # a failed sample is reported, not fatal
                    print(f"  {name} / {broker_name}: failed: {exc}", file=sys.stderr)
                    metrics = None
                finally:
                    broker.stop()
                if metrics is not None:
                    results.setdefault((name, broker_name), []).append(metrics)
                    shown = ", ".join(f"{k} {v:,.3g}" for k, v in metrics.items())
                    print(f"  {name} / {broker_name} round {round_index + 1}: {shown}", file=sys.stderr)
    return results


def table(results: dict, names: list[str], brokers: list[str]) -> str:
    lines = [f"kbroker bench, {time.strftime('%Y-%m-%d')}, {platform.node()}, "
             f"Python {platform.python_version()}, medians of the rounds",
             "", "| test | metric | kbroker | tansu | kbroker / tansu | samples |", "|---|---|---|---|---|---|"]
    for name in names:
        test = SUITE[name]
        for metric in test.metrics:
            cells = []
            medians = {}
            for broker_name in ("kbroker", "tansu"):
                samples = [m[metric] for m in results.get((name, broker_name), []) if metric in m]
                medians[broker_name] = statistics.median(samples) if samples else None
                cells.append(f"{medians[broker_name]:,.3g}" if samples else "-")
            ratio = (f"{medians['kbroker'] / medians['tansu']:.2f}x"
                     if medians["kbroker"] is not None and medians["tansu"] else "-")
            count = len(results.get((name, "kbroker"), []))
            lines.append(f"| {test.title} | {metric} | {cells[0]} | {cells[1]} | {ratio} | {count} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--only", help="comma-separated test names: " + ", ".join(SUITE))
    parser.add_argument("--brokers", default="kbroker,tansu")
    args = parser.parse_args(argv)
    names = args.only.split(",") if args.only else list(SUITE)
    brokers = args.brokers.split(",")
    started = time.perf_counter()
    results = run(names, brokers, args.rounds)
    print(table(results, names, brokers))
    print(f"\n({time.perf_counter() - started:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
