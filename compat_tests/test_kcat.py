"""kcat (librdkafka 2.0.x on Debian): metadata, produce with keys and headers, consume, compression, offsets by time."""

from __future__ import annotations

import json
import shutil
import subprocess
from collections import defaultdict

import pytest

from compat_tests.clients import (CREATE_TIME, Out, Window, batch_headers, consume, create_topic, fetch_log,
                                  produce)

pytestmark = pytest.mark.skipif(shutil.which("kcat") is None, reason="kcat is not installed")


def kcat(bootstrap: str, *args: str, stdin: str | None = None) -> str:
    done = subprocess.run(["kcat", "-b", bootstrap, "-X", "socket.timeout.ms=10000", *args], input=stdin,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, f"kcat {' '.join(args)} exited {done.returncode}: {done.stderr}"
    return done.stdout


def test_metadata_lists_broker_and_topics(bootstrap, topic_name):
    create_topic("confluent", bootstrap, topic_name, 3)
    port = bootstrap.rsplit(":", 1)[1]
    lines = kcat(bootstrap, "-L").splitlines()
    assert " 1 brokers:" in lines
    assert f"  broker 1 at 127.0.0.1:{port} (controller)" in lines
    start = lines.index(f'  topic "{topic_name}" with 3 partitions:')
    assert lines[start + 1:start + 4] == [f"    partition {p}, leader 1, replicas: 1, isrs: 1" for p in range(3)]

    one = kcat(bootstrap, "-L", "-t", topic_name).splitlines()
    assert " 1 topics:" in one
    assert f'  topic "{topic_name}" with 3 partitions:' in one


def test_produce_keys_headers_nulls_and_consume(bootstrap, topic_name):
    create_topic("confluent", bootstrap, topic_name, 1)
    window = Window()
    # -K: splits key from value; -Z turns an empty key or value into NULL
    kcat(bootstrap, "-P", "-t", topic_name, "-p", "0", "-K:", "-Z", "-H", "source=kcat", "-H", "n=1",
         stdin="k1:v1\nk2:value with spaces\nk3:\n:v4\nk5:a:b\n")
    window.close()
    out = kcat(bootstrap, "-C", "-t", topic_name, "-p", "0", "-o", "beginning", "-e", "-J")
    got = [json.loads(line) for line in out.splitlines()]
    assert all(g.pop("ts") in window for g in got)
    expected_kv = [("k1", "v1"), ("k2", "value with spaces"), ("k3", None), (None, "v4"), ("k5", "a:b")]
    assert got == [{"topic": topic_name, "partition": 0, "offset": i, "tstype": "create", "broker": 1,
                    "headers": ["source", "kcat", "n", "1"], "key": k, "payload": v}
                   for i, (k, v) in enumerate(expected_kv)]

    formatted = kcat(bootstrap, "-C", "-t", topic_name, "-p", "0", "-o", "beginning", "-e", "-Z",
                     "-f", "%o|%k|%s|%h\n")
    assert formatted == ("0|k1|v1|source=kcat,n=1\n1|k2|value with spaces|source=kcat,n=1\n"
                         "2|k3|NULL|source=kcat,n=1\n3|NULL|v4|source=kcat,n=1\n4|k5|a:b|source=kcat,n=1\n")

    # and another client sees the same: nulls stay null
    received = consume("kafka-python", bootstrap, topic_name, [0], 5)
    assert [(r.key, r.value, r.headers, r.timestamp_type) for r in received] == [
        (None if k is None else k.encode(), None if v is None else v.encode(),
         (("source", b"kcat"), ("n", b"1")), CREATE_TIME) for k, v in expected_kv]


def test_keyed_partitioning_and_consume_all_partitions(bootstrap, topic_name):
    create_topic("kafka-python", bootstrap, topic_name, 4)
    lines = [f"key{i % 20}:value-{i}" for i in range(400)]
    kcat(bootstrap, "-P", "-t", topic_name, "-K:", stdin="\n".join(lines) + "\n")
    out = kcat(bootstrap, "-C", "-t", topic_name, "-o", "beginning", "-e", "-f", "%p %o %k %s\n")
    rows = [line.split(" ") for line in out.splitlines()]
    assert len(rows) == 400
    partitions_of = defaultdict(set)
    per_partition = defaultdict(list)
    for p, o, k, v in rows:
        partitions_of[k].add(p)
        per_partition[p].append((int(o), int(v.split("-")[1])))
    assert all(len(ps) == 1 for ps in partitions_of.values()), "a key landed in two partitions"
    assert len(per_partition) > 1
    for entries in per_partition.values():
        assert [o for o, _ in entries] == list(range(len(entries)))
        assert [n for _, n in entries] == sorted(n for _, n in entries), "order within a partition"


@pytest.mark.parametrize("codec,bits", [("gzip", 1), ("snappy", 2), ("lz4", 3), ("zstd", 4)])
def test_kcat_compression_read_by_aiokafka(codec, bits, bootstrap, topic_name):
    create_topic("confluent", bootstrap, topic_name, 1)
    lines = [f"k{i}:{'payload-%d ' % i * 10}" for i in range(300)]
    kcat(bootstrap, "-P", "-t", topic_name, "-p", "0", "-K:", "-z", codec, "-X", "linger.ms=50",
         stdin="\n".join(lines) + "\n")
    assert {h.attributes & 7 for h in batch_headers(fetch_log(bootstrap, topic_name))} == {bits}
    received = consume("aiokafka", bootstrap, topic_name, [0], 300)
    assert [(r.key, r.value) for r in received] == [tuple(s.encode() for s in line.split(":", 1)) for line in lines]


def test_kcat_reads_compressed_batches_of_confluent(bootstrap, topic_name):
    create_topic("confluent", bootstrap, topic_name, 1)
    produce("confluent", bootstrap, topic_name, [Out(b"k%d" % i, b"zstd-%d" % i, partition=0) for i in range(50)],
            **{"compression.type": "zstd"})
    out = kcat(bootstrap, "-C", "-t", topic_name, "-p", "0", "-o", "beginning", "-e", "-f", "%o %k %s\n")
    assert out == "".join(f"{i} k{i} zstd-{i}\n" for i in range(50))


def test_query_offsets_by_time(bootstrap, topic_name):
    create_topic("confluent", bootstrap, topic_name, 1, {"retention.ms": "-1"})   # old timestamps
    t = 1_650_000_000_000
    produce("confluent", bootstrap, topic_name, [Out(None, b"v%d" % i, partition=0, timestamp=t + 1000 * i)
                                                 for i in range(5)])
    queries = {t: 0, t + 2000: 2, t + 2500: 3, t + 4000: 4, t + 4001: -1, -2: 0, -1: 5}
    for ts, offset in queries.items():
        assert kcat(bootstrap, "-Q", "-t", f"{topic_name}:0:{ts}") == f"{topic_name} [0] offset {offset}\n", ts
