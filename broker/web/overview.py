"""The console's overview: what the broker is, how long it has run, what it holds, and its
throughput in and out over the last minutes (sampled every second from the counters of
broker/web/stats.py into a ring the chart is drawn from)."""

from __future__ import annotations

import os
import shutil
import time
from collections import deque
from importlib.metadata import PackageNotFoundError, version

import anyio

from broker.web.groups import list_groups
from broker.web.stats import BYTES_IN, BYTES_OUT, MESSAGES_IN

THROUGHPUT_SAMPLES = 300          # seconds of history the chart shows


def kbroker_version() -> str:
    try:
        return version("kbroker")
    except PackageNotFoundError:
        return "unknown"


class Throughput:
    """Messages and bytes per second, one sample a second: (time ms, messages in/s, bytes in/s, bytes out/s)."""

    def __init__(self, stats):
        self.stats = stats
        self.samples: deque = deque(maxlen=THROUGHPUT_SAMPLES)
        self._last: tuple[float, list[int]] | None = None

    def sample(self) -> None:
        now = time.monotonic()
        totals = list(self.stats.totals)
        if self._last is not None:
            then, before = self._last
            seconds = max(now - then, 1e-3)
            self.samples.append((int(time.time() * 1000),
                                 round((totals[MESSAGES_IN] - before[MESSAGES_IN]) / seconds, 1),
                                 round((totals[BYTES_IN] - before[BYTES_IN]) / seconds, 1),
                                 round((totals[BYTES_OUT] - before[BYTES_OUT]) / seconds, 1)))
        self._last = (now, totals)

    def history(self) -> list[dict]:
        return [{"time": t, "messages_in": m, "bytes_in": bi, "bytes_out": bo} for t, m, bi, bo in self.samples]

    async def run(self) -> None:
        while True:
            self.sample()
            await anyio.sleep(1)


def overview(broker, server, throughput: Throughput, started: float) -> dict:
    storage = broker.storage
    topics = storage.topics()
    partitions = internal_partitions = size = 0
    for name, info in topics.items():
        if info.internal:
            internal_partitions += info.num_partitions
        else:
            partitions += info.num_partitions
        for index in range(info.num_partitions):
            size += storage.partition(name, index).size
    disk = None
    data_dir = broker.config.data_dir
    if data_dir is not None:
        try:
            usage = shutil.disk_usage(data_dir)
            disk = {"path": os.fspath(data_dir), "total": usage.total, "free": usage.free}
        except OSError:
            disk = None
    host, port = broker.advertised
    totals = broker.stats.totals if broker.stats is not None else [0, 0, 0]
    return {
        "version": kbroker_version(), "node_id": broker.node_id, "cluster_id": broker.cluster_id,
        "listener": f"{host}:{port}", "listening": listening(server),
        "uptime_s": round(time.time() - started, 1), "started_ms": int(started * 1000),
        "topics": sum(1 for i in topics.values() if not i.internal),
        "internal_topics": sum(1 for i in topics.values() if i.internal),
        "partitions": partitions, "internal_partitions": internal_partitions, "groups": len(list_groups(broker)),
        "log_bytes": size, "disk": disk,
        "connections": len(server.connections.live), "clients_with_telemetry": len(broker.telemetry.clients()),
        "messages_in": totals[MESSAGES_IN], "bytes_in": totals[BYTES_IN], "bytes_out": totals[BYTES_OUT],
        "throughput": throughput.history(),
    }


def listening(server) -> bool:
    """Is the Kafka port accepting? A Server with ``listening`` says so itself (every listener serving)."""
    if isinstance(getattr(type(server), "listening", None), property):
        return server.listening
    listener = getattr(server, "_listener", None)
    return listener is not None and listener.is_serving()
