"""The test kit's speed: ``python -m bench.testkit [--rounds N]``.

- ``KafkaBroker()`` start plus close, in-process, with two topics: median over many.
- 100 tests, each with a fresh ``kafka_broker`` fixture and one produce and one consume with
  confluent-kafka, run by pytest in a process of their own: the session's wall time, and the
  resident memory of that process after the first test and after the last.
- ``KafkaBroker(process=True)``: launch to serving (its ready file written and its control
  socket answering), median.

Targets (what the issue asked): start+stop <= 30 ms; the 100 tests <= 5 s with RSS after them
within 20 MB of RSS after the first; the process flavour started within 0.3 s.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

from broker.testing import KafkaBroker

HUNDRED_TESTS = '''
import pytest
from confluent_kafka import Consumer, Producer, TopicPartition


@pytest.mark.parametrize("n", range(100))
@pytest.mark.kafka_broker(topics={"t": 1})
def test_produce_and_consume(kafka_broker, n):
    producer = Producer(kafka_broker.config(linger_ms=0))
    producer.produce("t", b"message %d" % n)
    assert producer.flush(10) == 0
    consumer = Consumer(kafka_broker.config(group_id="g", fetch_wait_max_ms=10))
    consumer.assign([TopicPartition("t", 0, 0)])
    message = consumer.poll(10)
    assert message.value() == b"message %d" % n
    consumer.close()
'''

CONFTEST = '''
import json, os, time
from broker.testing import process_rss_bytes

rss = []
started = []


def pytest_sessionstart(session):
    started.append(time.perf_counter())


def pytest_runtest_logfinish(nodeid, location):
    rss.append(process_rss_bytes(os.getpid()))


def pytest_sessionfinish(session, exitstatus):
    with open(os.environ["TESTKIT_BENCH_OUT"], "w") as f:
        json.dump({"seconds": time.perf_counter() - started[0], "rss": rss, "exit": int(exitstatus)}, f)
'''


def start_stop_ms(samples: int = 50) -> float:
    KafkaBroker(topics={"orders": 3, "audit": 1}).start().close()   # modules loaded once, as in a test run
    times = []
    for _ in range(samples):
        started = time.perf_counter()
        kb = KafkaBroker(topics={"orders": 3, "audit": 1}).start()
        kb.close()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def hundred_tests() -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        (root / "test_hundred.py").write_text(textwrap.dedent(HUNDRED_TESTS))
        (root / "conftest.py").write_text(textwrap.dedent(CONFTEST))
        out = root / "out.json"
        subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(root)], cwd=root,
                       env={**__import__("os").environ, "TESTKIT_BENCH_OUT": str(out)}, check=False,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=600)
        result = json.loads(out.read_text())
    if result["exit"] != 0:
        raise RuntimeError(f"the 100 tests did not pass (exit {result['exit']})")
    rss = result["rss"]
    if len(rss) != 100:
        raise RuntimeError(f"{len(rss)} tests ran, not 100")
    return {"seconds": result["seconds"], "rss_first_mb": rss[0] / 1e6, "rss_last_mb": rss[-1] / 1e6,
            "rss_growth_mb": (rss[-1] - rss[0]) / 1e6}


def process_start_s(samples: int = 5) -> float:
    times = []
    for _ in range(samples):
        started = time.perf_counter()
        kb = KafkaBroker(process=True).start()
        times.append(time.perf_counter() - started)
        kb.close()
    return statistics.median(times)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.testkit")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args(argv)
    rows = {"start+close in-process, 2 topics (median ms)": [], "100 tests with a fresh broker (s)": [],
            "RSS after the first test (MB)": [], "RSS growth over the 100 tests (MB)": [],
            "process flavour start (median s)": []}
    for round_index in range(args.rounds):
        rows["start+close in-process, 2 topics (median ms)"].append(start_stop_ms())
        hundred = hundred_tests()
        rows["100 tests with a fresh broker (s)"].append(hundred["seconds"])
        rows["RSS after the first test (MB)"].append(hundred["rss_first_mb"])
        rows["RSS growth over the 100 tests (MB)"].append(hundred["rss_growth_mb"])
        rows["process flavour start (median s)"].append(process_start_s())
        print(f"  round {round_index + 1}: " + ", ".join(f"{k} {v[-1]:.3g}" for k, v in rows.items()), file=sys.stderr)
    print("| measure | median of rounds | rounds |\n|---|---|---|")
    for name, values in rows.items():
        print(f"| {name} | {statistics.median(values):.3g} | {', '.join(f'{v:.3g}' for v in values)} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
