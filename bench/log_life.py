"""Benchmarks of the log's life: the cleaner's speed, what cleaning costs the event loop and
the end-to-end latency, and a restart with many segments and a large __consumer_offsets.

kbroker only (Tansu has no compaction to compare with): the comparisons are kbroker with and
without the work, side by side.
"""

from __future__ import annotations

import os
import random
import shutil
import tempfile
import time

from broker.testing import RawClient
from kproto.messages import METADATA, OFFSET_COMMIT, OFFSET_FETCH
from storage import Record, build_batch
from storage.cleaner import CleanJob, SegmentToClean, clean

RECORD_BYTES = 100


# -- the cleaner alone -------------------------------------------------------------------------------


def write_keyed_segments(directory: str, total_bytes: int, keys: int, segment_bytes: int = 64 << 20,
                         per_batch: int = 160, seed: int = 1) -> tuple[list[SegmentToClean], int]:
    """Segment files of ~100-byte keyed records (16-byte keys), uncompressed, in batches of
    per_batch records as a producer's linger makes them; returns the segments and the end offset."""
    rng = random.Random(seed)
    now = int(time.time() * 1000)
    value = b"v" * (RECORD_BYTES - 31)   # with its key and framing, a record is ~100 bytes on disk
    segments, parts, offset, base, size = [], [], 0, 0, 0
    while True:
        records = [Record(timestamp=now, key=b"key-%012d" % rng.randrange(keys), value=value)
                   for _ in range(per_batch)]
        batch = build_batch(records, base_offset=offset, partition_leader_epoch=0)
        parts.append(batch)
        size += len(batch)
        offset += per_batch
        if size >= segment_bytes or sum(s.size for s in segments) + size >= total_bytes:
            path = os.path.join(directory, f"{base:020d}.log")
            with open(path, "wb") as file:
                file.write(b"".join(parts))
            segments.append(SegmentToClean(base, size, offset, path=path))
            parts, base, size = [], offset, 0
            if sum(s.size for s in segments) >= total_bytes:
                return segments, offset


def cleaning_job(directory: str, segments: list[SegmentToClean], end: int) -> CleanJob:
    return CleanJob(topic="bench", partition=0, directory=directory, segments=segments, first_dirty_offset=0,
                    first_uncleanable_offset=end, now_ms=int(time.time() * 1000), delete_retention_ms=86_400_000,
                    segment_bytes=1 << 30, index_interval_bytes=4096, max_map_entries=1 << 20)


def cleaner_throughput(_broker=None, total_mb: int = 200, keys: int = 100_000) -> dict:
    """One cleaning round of a fully dirty log of 100-byte keyed records, in this process:
    MB of log read per CPU second (the map and the copy both read it) and per wall second."""
    directory = tempfile.mkdtemp(prefix="kbroker-cleaner-")
    try:
        segments, end = write_keyed_segments(directory, total_mb << 20, keys)
        size = sum(s.size for s in segments)
        wall, cpu = time.perf_counter(), time.process_time()
        result = clean(cleaning_job(directory, segments, end))
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        return {"MB/s per core": size / cpu / 1e6, "MB/s": size / wall / 1e6,
                "kept %": 100 * result.records_kept / max(result.records_read, 1), "log MB": size / 1e6}
    finally:
        shutil.rmtree(directory, ignore_errors=True)


def cleaner_loop_lag(_broker=None, total_mb: int = 100, keys: int = 100_000) -> dict:
    """An event loop that wakes every millisecond while a cleaning round runs in a worker
    thread or a worker process: p99 of how late it woke (ms), and the same with no cleaning."""
    import anyio
    import anyio.to_process
    import anyio.to_thread

    directory = tempfile.mkdtemp(prefix="kbroker-cleaner-")
    try:
        segments, end = write_keyed_segments(directory, total_mb << 20, keys)
        job = cleaning_job(directory, segments, end)
        results = {}

        async def measure(name, work) -> None:
            lags: list[float] = []
            done = anyio.Event()

            async def tick() -> None:
                while not done.is_set():
                    started = time.perf_counter()
                    await anyio.sleep(0.001)
                    lags.append(time.perf_counter() - started - 0.001)

            async with anyio.create_task_group() as tg:
                tg.start_soon(tick)
                await work()
                done.set()
            lags.sort()
            results[f"{name} p99 ms"] = lags[int(len(lags) * 0.99)] * 1e3
            results[f"{name} max ms"] = lags[-1] * 1e3

        async def main() -> None:
            await anyio.to_process.run_sync(os.getpid)   # a worker started before measuring
            started = time.perf_counter()
            await measure("thread", lambda: anyio.to_thread.run_sync(clean, job))
            took = time.perf_counter() - started
            await measure("process", lambda: anyio.to_process.run_sync(clean, job))
            await measure("idle", lambda: anyio.sleep(took))

        anyio.run(main)
        return results
    finally:
        shutil.rmtree(directory, ignore_errors=True)


# -- a broker compacting 1 GB while serving -----------------------------------------------------------


def _topic_bytes(data_dir, topic: str) -> int:
    total = 0
    for name in os.listdir(data_dir):
        if name.startswith(topic + "-"):
            for file in os.listdir(os.path.join(data_dir, name)):
                if file.endswith(".log"):
                    total += os.path.getsize(os.path.join(data_dir, name, file))
    return total


def fill_compacted(bootstrap: str, topic: str, total_bytes: int, keys: int) -> int:
    """total_bytes of ~100-byte keyed records in a compacted topic; returns the record count."""
    from confluent_kafka import Producer
    from confluent_kafka.admin import AdminClient, NewTopic

    admin = AdminClient({"bootstrap.servers": bootstrap})
    configs = {"cleanup.policy": "compact", "segment.bytes": str(64 << 20)}
    for future in admin.create_topics([NewTopic(topic, 1, 1, config=configs)]).values():
        future.result(30)
    producer = Producer({"bootstrap.servers": bootstrap, "acks": 1, "linger.ms": 20,
                         "batch.size": 1 << 20, "queue.buffering.max.messages": 1_000_000})
    value = b"v" * (RECORD_BYTES - 31)
    count = total_bytes // RECORD_BYTES
    rng = random.Random(7)
    for _ in range(count):
        key = b"key-%012d" % rng.randrange(keys)
        while True:
            try:
                producer.produce(topic, value, key)
                break
            except BufferError:
                producer.poll(0.01)
    if producer.flush(300):
        raise RuntimeError("fill did not finish")
    return count


def compaction_latency(broker, total_mb: int = 1024, keys: int = 200_000) -> dict:
    """The end-to-end latency test (1,000 msg/s, acks=all) on a broker holding a compacted
    1 GB topic: once with the cleaner off, once right after a restart with it on, so that it
    compacts the whole topic while the test runs. p50/p99 of both, the seconds from that restart
    to the end of the cleaner's first round and to the end of the test (the round must outlast
    the test, so that the cleaner worked through all of it), and the MB the round freed."""
    from bench.brokers import Broker
    from bench.workloads import end_to_end_latency

    topic = "compacted-1gb"
    data_dir = broker.data_dir / "data"
    quiet = {"log.cleaner.enable": "false"}
    busy = {"log.cleaner.enable": "true", "log.cleaner.backoff.ms": "100"}
    broker.overrides = dict(quiet)
    broker.start()
    fill_compacted(broker.bootstrap, topic, total_mb << 20, keys)
    Broker.stop(broker)                       # keeps the data directory
    broker.start()
    without = end_to_end_latency(broker)
    Broker.stop(broker)
    before = _topic_bytes(data_dir, topic)
    broker.overrides = dict(busy)
    broker.start()
    started = time.perf_counter()
    during = end_to_end_latency(broker)
    measured = time.perf_counter() - started
    while _topic_bytes(data_dir, topic) >= before and time.perf_counter() - started < 600:
        time.sleep(0.1)   # the first round maps the whole dirty log before it writes
    cleaning = time.perf_counter() - started
    return {"p50 ms": during["p50 ms"], "p99 ms": during["p99 ms"], "p50 ms, cleaner off": without["p50 ms"],
            "p99 ms, cleaner off": without["p99 ms"], "p99 difference ms": during["p99 ms"] - without["p99 ms"],
            "first round s": cleaning, "test s": measured,
            "MB compacted": (before - _topic_bytes(data_dir, topic)) / 1e6}


# -- a restart with many segments and many committed offsets --------------------------------------------


def _commit_body(group: str, topics: list[str], partitions: int, offset: int) -> dict:
    return {"group_id": group, "generation_id_or_member_epoch": -1, "member_id": "", "group_instance_id": None,
            "retention_time_ms": -1,
            "topics": [{"name": t, "partitions": [
                {"partition_index": p, "committed_offset": offset, "committed_leader_epoch": -1,
                 "committed_metadata": ""} for p in range(partitions)]} for t in topics]}


def restart_many(broker, topics: int = 100, partitions: int = 10, segments: int = 10, groups: int = 100,
                 commits: int = 1_000_000) -> dict:
    """1,000 partitions of 10 segments each and a __consumer_offsets that took 1M commits for
    100 groups; then a clean restart: seconds from launch to the first Metadata answer and to
    the first OffsetFetch answer (the offsets loaded)."""
    from bench.brokers import Broker
    from confluent_kafka.admin import AdminClient, NewTopic

    segment_bytes = 16 << 10
    broker.overrides = {"log.segment.bytes": str(segment_bytes)}
    broker.start()
    admin = AdminClient({"bootstrap.servers": broker.bootstrap})
    names = [f"restart-{i:03d}" for i in range(topics)]
    for future in admin.create_topics([NewTopic(n, partitions, 1) for n in names]).values():
        future.result(60)
    batch = build_batch([Record(timestamp=int(time.time() * 1000), key=None, value=b"x" * 900) for _ in range(16)],
                        partition_leader_epoch=-1)
    per_partition = segments * segment_bytes // len(batch) + 1
    from kproto.messages import PRODUCE
    with RawClient(broker.bootstrap, timeout_s=60) as client:
        for _ in range(per_partition):
            client.request(PRODUCE, 9, {"transactional_id": None, "acks": 1, "timeout_ms": 30000, "topic_data": [
                {"name": n, "partition_data": [{"index": p, "records": batch} for p in range(partitions)]}
                for n in names]})
        # commits: each request commits every partition of 10 topics for one group
        per_request = 10 * partitions
        for i in range(commits // per_request):
            group = f"group-{i % groups:03d}"
            chosen = names[(i // groups) % (topics // 10) * 10:][:10]
            client.request(OFFSET_COMMIT, 8, _commit_body(group, chosen, partitions, i))
    Broker.stop(broker)
    started = time.perf_counter()
    broker.start(wait=False)
    while True:
        try:
            client = RawClient(broker.bootstrap, timeout_s=60)
            break
        except OSError:
            time.sleep(0.001)
    with client:
        client.request(METADATA, 1, {"topics": None})
        first_metadata = time.perf_counter() - started
        client.request(OFFSET_FETCH, 7, {"group_id": "group-000", "topics": None, "require_stable": False})
        first_offsets = time.perf_counter() - started
    return {"first Metadata s": first_metadata, "first OffsetFetch s": first_offsets}


__all__ = ["cleaner_loop_lag", "cleaner_throughput", "compaction_latency", "restart_many"]
