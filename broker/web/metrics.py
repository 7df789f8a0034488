"""``/metrics``: the broker in Prometheus' text format (version 0.0.4), named as Kafka's JMX
metrics are usually translated (the JMX exporter's lower-case form: type and name joined
with underscores, counters ending in ``_total``), and consumer lag as kafka_exporter names it.

- ``kafka_server_brokertopicmetrics_{messagesin,bytesin,bytesout}_total{topic}``;
- ``kafka_network_requestmetrics_requests_total{request}`` and the histogram
  ``kafka_network_requestmetrics_totaltimems{request}`` (milliseconds from a request's
  decoding to its response, long polls included, as Kafka's TotalTimeMs);
- ``kafka_log_log_{size,logstartoffset,logendoffset}{topic,partition}``;
- ``kafka_consumergroup_{current_offset,lag}{consumergroup,topic,partition}``,
  ``kafka_consumergroup_lag_sum{consumergroup}``, ``kafka_consumergroup_members{consumergroup}``;
- ``kafka_server_socketservermetrics_connection_count{listener}``,
  ``kafka_server_replicamanager_{underreplicatedpartitions,partitioncount,leadercount}``,
  ``kafka_coordinator_group_groupmetadatamanager_numgroups``;
- ``process_*`` (CPU seconds, resident and virtual memory, open and maximum descriptors,
  start time), as every Prometheus client library names them;
- what clients pushed (KIP-714): each metric under its own name with dots as underscores
  (``org_apache_kafka_producer_node_request_latency_avg``), labelled with the client's
  ``client_instance_id`` and ``client_id`` and the metric's own attributes.

Written by hand: the page for 1,000 partitions and 100 groups is a few thousand lines,
made with string formatting in a few milliseconds (bench README has the figures, beside
prometheus_client's own writer).
"""

from __future__ import annotations

import os
import re
import resource

from broker.otlp import GAUGE, SUM
from broker.web.groups import committed_offsets, list_groups
from broker.web.stats import _KEYS, LATENCY_BUCKETS_MS, BYTES_IN, BYTES_OUT, MESSAGES_IN
from kproto.messages import BY_KEY

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
_PAGE_SIZE = os.sysconf("SC_PAGE_SIZE")
_CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
_LE = [repr(float(b)) if not float(b).is_integer() else f"{float(b)}" for b in LATENCY_BUCKETS_MS] + ["+Inf"]
_BAD_NAME = re.compile(r"[^a-zA-Z0-9_:]")
_BAD_LABEL = re.compile(r"[^a-zA-Z0-9_]")


def escape(value) -> str:
    return str(value).replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def number(value) -> str:
    if isinstance(value, float):
        if value != value:
            return "NaN"
        if value in (float("inf"), float("-inf")):
            return "+Inf" if value > 0 else "-Inf"
        return repr(value)
    return str(value)


class _Page:
    def __init__(self) -> None:
        self.lines: list[str] = []

    def family(self, name: str, kind: str, doc: str) -> None:
        self.lines.append(f"# HELP {name} {doc}")
        self.lines.append(f"# TYPE {name} {kind}")

    def add(self, line: str) -> None:
        self.lines.append(line)

    def text(self) -> bytes:
        self.lines.append("")
        return "\n".join(self.lines).encode()


def render(broker, server) -> bytes:
    page = _Page()
    stats = broker.stats
    if stats is not None:
        stats.forget_deleted()
        _topic_metrics(page, stats)
        _request_metrics(page, stats)
    _log_metrics(page, broker)
    _group_metrics(page, broker)
    _broker_metrics(page, broker, server)
    _process_metrics(page)
    _client_metrics(page, broker)
    return page.text()


def _topic_metrics(page: _Page, stats) -> None:
    topics = sorted(stats.topics.items())
    for index, name, doc in ((MESSAGES_IN, "messagesin", "Messages appended to the topic."),
                             (BYTES_IN, "bytesin", "Bytes of record batches produced to the topic."),
                             (BYTES_OUT, "bytesout", "Bytes of record batches fetched from the topic.")):
        family = f"kafka_server_brokertopicmetrics_{name}_total"
        page.family(family, "counter", doc)
        for topic, counters in topics:
            page.add(f'{family}{{topic="{escape(topic)}"}} {counters[index]}')


def _request_metrics(page: _Page, stats) -> None:
    served = [(BY_KEY[key].name, key) for key in range(_KEYS) if stats.requests[key] and key in BY_KEY]
    served.sort()
    page.family("kafka_network_requestmetrics_requests_total", "counter", "Requests received, per API.")
    for name, key in served:
        page.add(f'kafka_network_requestmetrics_requests_total{{request="{name}"}} {stats.requests[key]}')
    family = "kafka_network_requestmetrics_totaltimems"
    page.family(family, "histogram", "Milliseconds from a request's arrival to its response, per API.")
    for name, key in served:
        buckets = stats.buckets[key]
        if buckets is None:
            continue
        running = 0
        for le, count in zip(_LE, buckets):
            running += count
            page.add(f'{family}_bucket{{request="{name}",le="{le}"}} {running}')
        page.add(f'{family}_sum{{request="{name}"}} {number(stats.time_ns[key] / 1e6)}')
        page.add(f'{family}_count{{request="{name}"}} {running}')


def _log_metrics(page: _Page, broker) -> None:
    storage = broker.storage
    rows = []
    for topic, info in sorted(storage.topics().items()):
        label = escape(topic)
        for index in range(info.num_partitions):
            log = storage.partition(topic, index)
            rows.append((f'{{topic="{label}",partition="{index}"}}', log.size, log.log_start_offset,
                         log.log_end_offset))
    for position, name, doc in ((1, "size", "Bytes of the partition's log."),
                                (2, "logstartoffset", "The partition's first offset."),
                                (3, "logendoffset", "The offset the partition's next record gets.")):
        family = f"kafka_log_log_{name}"
        page.family(family, "gauge", doc)
        page.lines += [f"{family}{row[0]} {row[position]}" for row in rows]


def _group_metrics(page: _Page, broker) -> None:
    groups = list_groups(broker)
    offsets = committed_offsets(broker, [g["group_id"] for g in groups])
    storage = broker.storage
    current, lags, sums = [], [], []
    for group in groups:
        group_id = group["group_id"]
        label = escape(group_id)
        total = 0
        for (topic, partition), committed in sorted(offsets.get(group_id, {}).items()):
            try:
                end = storage.partition(topic, partition).log_end_offset
            except Exception:
                continue
            lag = max(end - committed, 0)
            total += lag
            labels = f'{{consumergroup="{label}",topic="{escape(topic)}",partition="{partition}"}}'
            current.append(f"kafka_consumergroup_current_offset{labels} {committed}")
            lags.append(f"kafka_consumergroup_lag{labels} {lag}")
        sums.append(f'kafka_consumergroup_lag_sum{{consumergroup="{label}"}} {total}')
    page.family("kafka_consumergroup_current_offset", "gauge", "The group's committed offset of the partition.")
    page.lines += current
    page.family("kafka_consumergroup_lag", "gauge", "The partition's log end offset less the group's committed one.")
    page.lines += lags
    page.family("kafka_consumergroup_lag_sum", "gauge", "The group's lag over all its partitions.")
    page.lines += sums


def _broker_metrics(page: _Page, broker, server) -> None:
    partitions = sum(info.num_partitions for info in broker.storage.topics().values())
    page.family("kafka_server_socketservermetrics_connection_count", "gauge", "Open client connections.")
    page.add(f'kafka_server_socketservermetrics_connection_count{{listener="PLAINTEXT"}} '
             f"{len(server.connections.live)}")
    page.family("kafka_server_replicamanager_underreplicatedpartitions", "gauge",
                "Partitions with fewer in-sync replicas than replicas (one broker: none).")
    page.add("kafka_server_replicamanager_underreplicatedpartitions 0")
    page.family("kafka_server_replicamanager_partitioncount", "gauge", "Partitions on this broker.")
    page.add(f"kafka_server_replicamanager_partitioncount {partitions}")
    page.family("kafka_server_replicamanager_leadercount", "gauge", "Partitions this broker leads.")
    page.add(f"kafka_server_replicamanager_leadercount {partitions}")
    page.family("kafka_coordinator_group_groupmetadatamanager_numgroups", "gauge", "Groups the coordinator has.")
    page.add(f"kafka_coordinator_group_groupmetadatamanager_numgroups {len(list_groups(broker))}")


def _process_metrics(page: _Page) -> None:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    page.family("process_cpu_seconds_total", "counter", "User and system CPU time of the broker process.")
    page.add(f"process_cpu_seconds_total {number(usage.ru_utime + usage.ru_stime)}")
    try:
        with open("/proc/self/statm") as f:
            virtual, resident = (int(x) for x in f.read().split()[:2])
        page.family("process_resident_memory_bytes", "gauge", "Resident memory of the broker process.")
        page.add(f"process_resident_memory_bytes {resident * _PAGE_SIZE}")
        page.family("process_virtual_memory_bytes", "gauge", "Virtual memory of the broker process.")
        page.add(f"process_virtual_memory_bytes {virtual * _PAGE_SIZE}")
        page.family("process_open_fds", "gauge", "Open file descriptors (segments, index files, sockets).")
        page.add(f"process_open_fds {len(os.listdir('/proc/self/fd'))}")
        page.family("process_start_time_seconds", "gauge", "When the process started, in seconds since the epoch.")
        page.add(f"process_start_time_seconds {number(round(_start_time(), 2))}")
    except (OSError, ValueError):
        pass
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    page.family("process_max_fds", "gauge", "The most file descriptors the process may open.")
    page.add(f"process_max_fds {soft}")


def _start_time() -> float:
    with open("/proc/self/stat") as f:
        ticks = int(f.read().rsplit(")", 1)[1].split()[19])
    with open("/proc/stat") as f:
        boot = next(int(line.split()[1]) for line in f if line.startswith("btime"))
    return boot + ticks / _CLOCK_TICKS


def metric_name(name: str) -> str:
    text = _BAD_NAME.sub("_", name)
    return text if text and not text[0].isdigit() else f"_{text}"


def _client_metrics(page: _Page, broker) -> None:
    families: dict[str, tuple[str, str, list[str]]] = {}
    for client in broker.telemetry.clients():
        base = f'client_instance_id="{client.id_text}",client_id="{escape(client.client_id or "")}"'
        for point in client.series.values():
            name = metric_name(point.name)
            extra = "".join(f',{_label(k)}="{escape(v)}"' for k, v in point.attributes
                            if _label(k) not in ("client_instance_id", "client_id"))
            labels = "{" + base + extra + "}"
            if point.kind == GAUGE or (point.kind == SUM and not point.monotonic):
                kind, lines = "gauge", [f"{name}{labels} {number(point.value)}"]
            elif point.kind == SUM:
                name = name if name.endswith("_total") else f"{name}_total"
                kind, lines = "counter", [f"{name}{labels} {number(point.value)}"]
            else:
                kind = "summary"
                lines = [f"{name}_count{labels} {point.count or 0}", f"{name}_sum{labels} {number(point.value)}"]
            family = families.get(name)
            if family is None:
                family = families[name] = (kind, point.description or f"Pushed by clients ({point.kind}).", [])
            if family[0] == kind:
                family[2].extend(lines)
    for name in sorted(families):
        kind, doc, lines = families[name]
        page.family(name, kind, escape(doc).replace('\\"', '"'))
        page.lines += lines


def _label(key: str) -> str:
    text = _BAD_LABEL.sub("_", key)
    return text if text and not text[0].isdigit() and not text.startswith("__") else f"a_{text}"
