"""End to end, exactly once: three processes copy an input topic to an output topic in transactions
(consume, produce, commit the offsets in the transaction) while the input grows, and one of them is
SIGKILLed in the middle of a transaction and restarted, again and again. The output holds every
input record exactly once, each partition in the input's order.

The copier is compat_tests/eos_copier.py (confluent-kafka). It says "open" once a transaction's
records and offsets are written, and the test kills it then: each kill leaves aborted records and
pending offsets behind (its partitions' next owner finds them UNSTABLE until the abort). Its
session timeout is 1 s and its transaction timeout 2 s, so a killed copier's partitions move on
quickly; the broker aborts timed-out transactions every 100 ms.
"""

from __future__ import annotations

import subprocess
import sys
import threading
import time

from broker.testing import BrokerProcess
from compat_tests.clients import Out, consume, create_topic, end_offsets, produce

PARTITIONS = 6
RECORDS = 2400   # at least; the input grows until the last kill
CHUNK = 60
KILLS = 4
READ_COMMITTED = {"isolation.level": "read_committed"}


def copier(bootstrap: str, source: str, target: str, group: str, index: int) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "compat_tests.eos_copier", bootstrap, source, target, group,
                             f"{group}-copier-{index}", "50"], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                            text=True)


def kill_in_a_transaction(process: subprocess.Popen, timeout_s: float = 30) -> None:
    """SIGKILL the copier as soon as it says a transaction is open."""
    timer = threading.Timer(timeout_s, process.kill)   # a copier that never gets work must not hang the test
    timer.start()
    try:
        while (line := process.stdout.readline()) and line.strip() != "open":
            pass
        assert line.strip() == "open", "the copier never opened a transaction"
    finally:
        timer.cancel()
        process.kill()
        process.wait()


def test_three_copiers_one_killed_again_and_again_copy_every_record_exactly_once(tmp_path, topic_name):
    broker = BrokerProcess(tmp_path / "data", log_path=tmp_path / "broker.log", overrides={
        "transaction.abort.timed.out.transaction.cleanup.interval.ms": "100",
        "group.min.session.timeout.ms": "500"}).start()
    source, target, group = topic_name, f"{topic_name}-out", f"{topic_name}-eos"
    copiers: list[subprocess.Popen] = []
    try:
        bootstrap = broker.bootstrap
        create_topic("confluent", bootstrap, source, PARTITIONS)
        create_topic("confluent", bootstrap, target, PARTITIONS)
        copiers = [copier(bootstrap, source, target, group, i) for i in range(3)]
        for other in copiers[1:]:   # their output is not read; the pipes must not fill
            threading.Thread(target=other.stdout.read, daemon=True).start()

        killed = threading.Event()
        sent = [0]

        def feed():   # the input grows all along, and at least until the last kill
            while sent[0] < RECORDS or not killed.is_set():
                produce("confluent", bootstrap, source, [Out(b"k%d" % (i % 50), b"%06d" % i)
                                                         for i in range(sent[0], sent[0] + CHUNK)])
                sent[0] += CHUNK
                time.sleep(0.05)

        feeder = threading.Thread(target=feed)
        feeder.start()
        try:
            for _ in range(KILLS):
                kill_in_a_transaction(copiers[0])
                copiers[0] = copier(bootstrap, source, target, group, 0)
        finally:
            killed.set()
            feeder.join()
        threading.Thread(target=copiers[0].stdout.read, daemon=True).start()
        total = sent[0]
        copied = []
        deadline = time.monotonic() + 60
        while len(copied) < total and time.monotonic() < deadline:
            copied = consume("confluent", bootstrap, target, PARTITIONS, total, timeout_s=5, **READ_COMMITTED)
        assert all(c.poll() is None for c in copiers), "a copier died"
        everything = consume("confluent", bootstrap, target, PARTITIONS, 10 ** 6, timeout_s=2,
                             **{"isolation.level": "read_uncommitted"})
        inputs = end_offsets(bootstrap, source, PARTITIONS)
    finally:
        for c in copiers:
            c.terminate()
        for c in copiers:
            try:
                c.wait(10)
            except subprocess.TimeoutExpired:
                c.kill()
        assert broker.stop() == 0
    assert sum(inputs) == total >= RECORDS
    assert len(everything) > len(copied), "the killed copiers left no aborted records: nothing was proved"
    assert sorted(int(r.value) for r in copied) == list(range(total)), "records lost or copied twice"
    for p in range(PARTITIONS):
        in_partition = [int(r.value) for r in sorted(copied, key=lambda r: r.offset) if r.partition == p]
        assert in_partition == sorted(in_partition), f"partition {p} out of the input's order"
