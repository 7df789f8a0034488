"""The HTTP port's costs: ``python -m bench.console [--rounds N] [--skip-traffic]``.

1. ``http stack``: the broker's own HTTP/1.1 parsing and answering (broker/web/httpserver.py)
   beside h11 (the sans-I/O HTTP library uvicorn uses), per request, in-process, no sockets:
   a GET with browser-like headers answered with a small JSON body. Skipped without h11.
2. ``exposition``: writing 1,000 partitions' log gauges as Prometheus text by hand (as
   broker/web/metrics.py does) beside prometheus_client's ``generate_latest``. Skipped without it.
3. ``scale``: a broker with 1,000 partitions (10 topics x 100) and 100 groups with committed
   offsets; each console page's JSON asked 20 times (wall time, median and max), and /metrics
   scraped 20 times (the broker's CPU time per scrape, from /proc).
4. ``traffic``: the suite's produce and consume tests against kbroker with the HTTP port off,
   on with nobody looking (the counters alone), and on while a console is open on every page
   (each page asked every 2 s, /metrics every 5 s, from another process), in turn, N rounds:
   the medians and their ratios.
"""

from __future__ import annotations

import argparse
import asyncio
import http.client
import json
import statistics
import subprocess
import sys
import time

from bench.brokers import KBroker
from bench.suite import SUITE
from broker.testing import RawClient, free_port, process_cpu_seconds
from kproto.messages import CREATE_TOPICS, OFFSET_COMMIT, PRODUCE
from storage import build_batch

REQUEST = (b"GET /api/overview HTTP/1.1\r\nHost: 127.0.0.1:8080\r\nConnection: keep-alive\r\n"
           b"User-Agent: Mozilla/5.0 (X11; Linux x86_64) Chrome/156.0 Safari/537.36\r\nAccept: */*\r\n"
           b"Referer: http://127.0.0.1:8080/\r\nAccept-Encoding: gzip, deflate\r\nAccept-Language: en-US\r\n\r\n")
BODY = json.dumps({"topics": 10, "partitions": 1000, "groups": 100, "uptime_s": 1234.5}).encode()


# -- 1. the HTTP stack --------------------------------------------------------------------------

class _Transport(asyncio.Transport):
    def __init__(self):
        super().__init__()
        self.written = 0

    def write(self, data):
        self.written += len(data)

    def pause_reading(self):
        pass

    def resume_reading(self):
        pass

    def is_closing(self):
        return False

    def get_extra_info(self, name, default=None):
        return ("127.0.0.1", 5555) if name == "peername" else default


def http_stack(requests: int = 20000) -> dict:
    from broker.web.httpserver import HttpServer, Response, Router

    async def ours() -> float:
        router = Router()
        router.add("GET", "/api/overview", lambda request: Response(200, BODY))
        server = HttpServer(router)
        connection = server.new()
        transport = _Transport()
        connection.connection_made(transport)
        started = time.perf_counter()
        for _ in range(requests):
            connection.data_received(REQUEST)
            await asyncio.sleep(0)     # the answer runs in a task of the loop
            await asyncio.sleep(0)
        elapsed = time.perf_counter() - started
        assert transport.written > requests * len(BODY)
        connection.connection_lost(None)
        return elapsed

    result = {"own µs/request": asyncio.run(ours()) / requests * 1e6}
    try:
        import h11
    except ImportError:
        return result

    async def with_h11() -> float:
        conn = h11.Connection(h11.SERVER)
        written = 0
        started = time.perf_counter()
        for _ in range(requests):
            conn.receive_data(REQUEST)
            while True:
                event = conn.next_event()
                if isinstance(event, h11.EndOfMessage) or event is h11.NEED_DATA:
                    break
            await asyncio.sleep(0)
            await asyncio.sleep(0)
            headers = [("Content-Type", "application/json"), ("Content-Length", str(len(BODY))),
                       ("Cache-Control", "no-store"), ("X-Content-Type-Options", "nosniff")]
            written += len(conn.send(h11.Response(status_code=200, headers=headers)))
            written += len(conn.send(h11.Data(data=BODY)))
            written += len(conn.send(h11.EndOfMessage()))
            conn.start_next_cycle()
        return time.perf_counter() - started

    result["h11 µs/request"] = asyncio.run(with_h11()) / requests * 1e6
    return result


# -- 2. the exposition ----------------------------------------------------------------------------

def exposition(partitions: int = 1000) -> dict:
    rows = [(f"topic-{i // 100}", i % 100, 123456 + i, 0, 1000 + i) for i in range(partitions)]

    def by_hand() -> bytes:
        lines = []
        for position, name in ((2, "size"), (3, "logstartoffset"), (4, "logendoffset")):
            family = f"kafka_log_log_{name}"
            lines.append(f"# HELP {family} doc")
            lines.append(f"# TYPE {family} gauge")
            lines += [f'{family}{{topic="{row[0]}",partition="{row[1]}"}} {row[position]}' for row in rows]
        lines.append("")
        return "\n".join(lines).encode()

    result = {"by hand ms": _best(by_hand) * 1000}
    try:
        from prometheus_client import CollectorRegistry, generate_latest
        from prometheus_client.core import GaugeMetricFamily
    except ImportError:
        return result

    class Logs:
        def collect(self):
            for position, name in ((2, "size"), (3, "logstartoffset"), (4, "logendoffset")):
                family = GaugeMetricFamily(f"kafka_log_log_{name}", "doc", labels=["topic", "partition"])
                for row in rows:
                    family.add_metric([row[0], str(row[1])], row[position])
                yield family

    registry = CollectorRegistry()
    registry.register(Logs())
    result["prometheus_client ms"] = _best(lambda: generate_latest(registry)) * 1000
    return result


def _best(func, repeat: int = 20) -> float:
    best = float("inf")
    for _ in range(repeat):
        started = time.perf_counter()
        func()
        best = min(best, time.perf_counter() - started)
    return best


# -- 3. scale -------------------------------------------------------------------------------------

class ConsoleKBroker(KBroker):
    """kbroker with its HTTP port on."""

    name = "kbroker+console"

    def __init__(self, overrides=None):
        super().__init__(overrides)
        self.http_port = free_port()

    def command(self) -> list[str]:
        return super().command() + ["--http-port", str(self.http_port)]


def _get(port: int, path: str) -> tuple[float, bytes]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    started = time.perf_counter()
    connection.request("GET", path)
    body = connection.getresponse().read()
    elapsed = time.perf_counter() - started
    connection.close()
    return elapsed, body


def scale(topics: int = 10, partitions: int = 100, groups: int = 100, asks: int = 20) -> dict:
    broker = ConsoleKBroker().start()
    try:
        with RawClient(broker.bootstrap, timeout_s=60) as client:
            for t in range(topics):
                client.request(CREATE_TOPICS, 7, {"topics": [{"name": f"t{t}", "num_partitions": partitions,
                                                              "replication_factor": 1, "assignments": [],
                                                              "configs": []}], "timeout_ms": 5000})
                records = build_batch([b"x" * 100] * 10)
                client.request(PRODUCE, 9, {"transactional_id": None, "acks": 1, "timeout_ms": 5000, "topic_data": [
                    {"name": f"t{t}", "partition_data": [{"index": p, "records": records}
                                                         for p in range(partitions)]}]})
            for g in range(groups):
                topic = f"t{g % topics}"
                client.request(OFFSET_COMMIT, 8, {
                    "group_id": f"group-{g}", "generation_id_or_member_epoch": -1, "member_id": "",
                    "group_instance_id": None, "topics": [{"name": topic, "partitions": [
                        {"partition_index": p, "committed_offset": 5, "committed_leader_epoch": -1,
                         "committed_metadata": ""} for p in range(10)]}]})
        port = broker.http_port
        pages = {"overview": "/api/overview", "topics": "/api/topics", "topic (100 partitions)": "/api/topics/t0",
                 "messages (newest 50)": "/api/topics/t0/messages?partition=0&limit=50",
                 "groups": "/api/groups", "group": "/api/groups/group-0", "console page": "/"}
        result = {}
        for name, path in pages.items():
            times = [_get(port, path)[0] for _ in range(asks)]
            result[f"{name} ms p50"] = statistics.median(times) * 1000
            result[f"{name} ms max"] = max(times) * 1000
        _get(port, "/metrics")
        cpu = process_cpu_seconds(broker.pid)
        walls, size = [], 0
        for _ in range(asks):
            wall, body = _get(port, "/metrics")
            walls.append(wall)
            size = len(body)
        result["/metrics broker CPU ms per scrape"] = (process_cpu_seconds(broker.pid) - cpu) / asks * 1000
        result["/metrics wall ms p50"] = statistics.median(walls) * 1000
        result["/metrics KB"] = size / 1024
        return result
    finally:
        broker.stop()


# -- 4. traffic with the console open ------------------------------------------------------------------

def open_console(port: int) -> None:
    """A console left open on every page, refreshing as its pages do (each page every 2 s,
    /metrics every 5 s, as a Prometheus might): run in a process of its own, so it takes no
    time from the load generator's."""
    tick = 0
    while True:
        time.sleep(1.0)
        tick += 1
        paths = ["/api/overview", "/api/topics", "/api/groups", "/api/clients"] if tick % 2 == 0 else []
        if tick % 5 == 0:
            paths.append("/metrics")
        for path in paths:
            try:
                _get(port, path)
            except OSError:
                pass


class KBrokerWithOpenConsole(ConsoleKBroker):
    def start(self, wait: bool = True):
        super().start(wait)
        self.console = subprocess.Popen([sys.executable, "-m", "bench.console", "--open-console",
                                         str(self.http_port)])
        return self

    def stop(self) -> None:
        console = getattr(self, "console", None)
        if console is not None:
            console.terminate()
            console.wait(10)
            self.console = None
        super().stop()


def traffic(rounds: int, names: list[str]) -> str:
    kinds = {"off": KBroker, "port on": ConsoleKBroker, "console open": KBrokerWithOpenConsole}
    samples: dict[tuple[str, str, str], list[float]] = {}
    for name in names:
        test = SUITE[name]
        for round_index in range(rounds):
            order = list(kinds)[round_index % 3:] + list(kinds)[:round_index % 3]
            for kind in order:
                broker = kinds[kind](test.overrides.get("kbroker"))
                try:
                    metrics = test.run(broker)
                except Exception as exc:   # a failed sample is reported, not fatal (as in bench/__main__)
                    print(f"  {name} / {kind}: failed: {exc}", file=sys.stderr)
                    continue
                finally:
                    broker.stop()
                print(f"  {name} / {kind} round {round_index + 1}: {metrics}", file=sys.stderr)
                for metric, value in metrics.items():
                    samples.setdefault((name, metric, kind), []).append(value)
    lines = ["| test | metric | HTTP port off | port on, nobody looking | console open | on / off | open / off |",
             "|---|---|---|---|---|---|---|"]
    for name in names:
        for metric in SUITE[name].metrics:
            off, on, open_ = (samples.get((name, metric, kind)) for kind in kinds)
            if not off or not on or not open_:
                continue
            a, b, c = statistics.median(off), statistics.median(on), statistics.median(open_)
            lines.append(f"| {SUITE[name].title} | {metric} | {a:,.3g} | {b:,.3g} | {c:,.3g} | {b / a:.2f} | "
                         f"{c / a:.2f} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.console")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--skip-traffic", action="store_true")
    parser.add_argument("--traffic", default="produce_100b,produce_small,consume_100b,ceiling_1kb")
    parser.add_argument("--open-console", type=int, metavar="PORT", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.open_console:
        open_console(args.open_console)
        return 0
    for title, result in (("http stack", http_stack()), ("exposition, 1,000 partitions x 3 gauges", exposition()),
                          ("scale: 1,000 partitions, 100 groups", scale())):
        print(f"\n{title}")
        for key, value in result.items():
            print(f"  {key}: {value:,.3g}")
    if not args.skip_traffic:
        print("\ntraffic, HTTP port off vs a console open on every page")
        print(traffic(args.rounds, args.traffic.split(",")))
    return 0


if __name__ == "__main__":
    sys.exit(main())
