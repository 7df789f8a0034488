"""Reading OpenTelemetry metrics (OTLP ``MetricsData`` v1, protobuf), as KIP-714 clients push them.

A small protobuf reader for the few messages involved: no dependency, no generated code.
Each data point comes out as a ``Point``: the metric's name, kind, unit, the point's
attributes (the resource's, then its own), and its value. Gauges and sums carry a number;
histograms and summaries carry their count and sum. Anything that does not parse raises
``ValueError``.

The field numbers are OTLP's (opentelemetry/proto/metrics/v1/metrics.proto):
MetricsData.resource_metrics=1; ResourceMetrics.resource=1, scope_metrics=2;
Resource.attributes=1; ScopeMetrics.metrics=2; Metric.name=1, description=2, unit=3,
gauge=5, sum=7, histogram=9, exponential_histogram=10, summary=11; Gauge/Sum/Histogram/
Summary.data_points=1, Sum.aggregation_temporality=2, is_monotonic=3; NumberDataPoint
time_unix_nano=3, as_double=4, as_int=6, attributes=7; HistogramDataPoint count=4, sum=5,
attributes=9; SummaryDataPoint count=4, sum=5, attributes=7; KeyValue key=1, value=2;
AnyValue string=1, bool=2, int=3, double=4.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import Iterator

VARINT, FIXED64, LENGTH, FIXED32 = 0, 1, 2, 5
GAUGE, SUM, HISTOGRAM, EXPONENTIAL_HISTOGRAM, SUMMARY = "gauge", "sum", "histogram", "exponential_histogram", "summary"
_KINDS = {5: GAUGE, 7: SUM, 9: HISTOGRAM, 10: EXPONENTIAL_HISTOGRAM, 11: SUMMARY}
_POINT_ATTRIBUTES = {GAUGE: 7, SUM: 7, HISTOGRAM: 9, EXPONENTIAL_HISTOGRAM: 1, SUMMARY: 7}
_double = struct.Struct("<d").unpack_from
_int64 = struct.Struct("<q").unpack_from
DELTA = 1   # AggregationTemporality


@dataclass(frozen=True)
class Point:
    name: str
    kind: str                          # gauge, sum, histogram, exponential_histogram or summary
    unit: str
    description: str
    attributes: tuple[tuple[str, str], ...]
    value: float                       # the number; for histograms and summaries the sum
    count: int | None = None           # histograms and summaries
    time_unix_nano: int = 0
    monotonic: bool = False
    delta: bool = False                # a sum or histogram sent as the change since the last push


def fields(data: memoryview) -> Iterator[tuple[int, int, object]]:
    """(field number, wire type, value) of a message: an int for varints and fixed fields, a
    memoryview for length-delimited ones."""
    pos, end = 0, len(data)
    while pos < end:
        key, pos = _varint(data, pos)
        number, wire = key >> 3, key & 7
        if number == 0:
            raise ValueError("field number 0")
        if wire == VARINT:
            value, pos = _varint(data, pos)
        elif wire == FIXED64:
            if pos + 8 > end:
                raise ValueError("truncated fixed64")
            value = int.from_bytes(data[pos:pos + 8], "little")
            pos += 8
        elif wire == LENGTH:
            size, pos = _varint(data, pos)
            if pos + size > end:
                raise ValueError("truncated length-delimited field")
            value = data[pos:pos + size]
            pos += size
        elif wire == FIXED32:
            if pos + 4 > end:
                raise ValueError("truncated fixed32")
            value = int.from_bytes(data[pos:pos + 4], "little")
            pos += 4
        else:
            raise ValueError(f"wire type {wire} not supported")
        yield number, wire, value


def _varint(data: memoryview, pos: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        if pos >= len(data):
            raise ValueError("truncated varint")
        byte = data[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return result, pos
        shift += 7
        if shift > 63:
            raise ValueError("varint too long")


def _text(value) -> str:
    if not isinstance(value, memoryview):
        raise ValueError("expected a string")
    return bytes(value).decode("utf-8", "replace")


def _any_value(data: memoryview) -> str:
    for number, wire, value in fields(data):
        if number == 1 and wire == LENGTH:
            return _text(value)
        if number == 2 and wire == VARINT:
            return "true" if value else "false"
        if number == 3 and wire == VARINT:
            return str(value - (1 << 64) if value >= 1 << 63 else value)
        if number == 4 and wire == FIXED64:
            return repr(_double(value.to_bytes(8, "little"))[0])
    return ""


def _attributes(data: memoryview) -> tuple[str, str]:
    key, text = "", ""
    for number, wire, value in fields(data):
        if number == 1 and wire == LENGTH:
            key = _text(value)
        elif number == 2 and wire == LENGTH:
            text = _any_value(value)
    return key, text


def _as_double(raw: int) -> float:
    return _double(raw.to_bytes(8, "little"))[0]


def _point(metric: dict, kind: str, data: memoryview, resource: tuple) -> Point:
    attributes, value, count, time_ns = [], 0.0, None, 0
    attribute_field = _POINT_ATTRIBUTES[kind]
    for number, wire, raw in fields(data):
        if number == attribute_field and wire == LENGTH:
            attributes.append(_attributes(raw))
        elif number == 3 and wire == FIXED64:
            time_ns = raw
        elif kind in (GAUGE, SUM):
            if number == 4 and wire == FIXED64:
                value = _as_double(raw)
            elif number == 6 and wire == FIXED64:
                value = float(_int64(raw.to_bytes(8, "little"))[0])
        elif number == 4 and wire == FIXED64:
            count = raw
        elif number == 5 and wire == FIXED64:
            value = _as_double(raw)
    return Point(metric["name"], kind, metric["unit"], metric["description"], resource + tuple(attributes), value,
                 count, time_ns, metric["monotonic"], metric["delta"])


def _metric(data: memoryview, resource: tuple) -> list[Point]:
    metric = {"name": "", "unit": "", "description": "", "monotonic": False, "delta": False}
    bodies = []
    for number, wire, value in fields(data):
        if wire != LENGTH:
            continue
        if number == 1:
            metric["name"] = _text(value)
        elif number == 2:
            metric["description"] = _text(value)
        elif number == 3:
            metric["unit"] = _text(value)
        elif number in _KINDS:
            bodies.append((_KINDS[number], value))
    points = []
    for kind, body in bodies:
        raw_points = []
        for number, wire, value in fields(body):
            if number == 1 and wire == LENGTH:
                raw_points.append(value)
            elif number == 2 and wire == VARINT:
                metric["delta"] = value == DELTA
            elif number == 3 and wire == VARINT:
                metric["monotonic"] = bool(value)
        points += [_point(metric, kind, raw, resource) for raw in raw_points]
    return points


def parse_metrics_data(payload: bytes | memoryview) -> list[Point]:
    """Every data point of a ``MetricsData`` message."""
    points = []
    for number, wire, resource_metrics in fields(memoryview(payload)):
        if number != 1 or wire != LENGTH:
            continue
        resource: tuple = ()
        scopes = []
        for inner, inner_wire, value in fields(resource_metrics):
            if inner == 1 and inner_wire == LENGTH:
                resource = tuple(_attributes(kv) for n, w, kv in fields(value) if n == 1 and w == LENGTH)
            elif inner == 2 and inner_wire == LENGTH:
                scopes.append(value)
        for scope in scopes:
            for n, w, metric in fields(scope):
                if n == 2 and w == LENGTH:
                    points += _metric(metric, resource)
    return points


# -- writing: for tests, and for clients of our own --------------------------------------------

def _key(number: int, wire: int) -> bytes:
    return _encode_varint(number << 3 | wire)


def _encode_varint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def _len_field(number: int, payload: bytes) -> bytes:
    return _key(number, LENGTH) + _encode_varint(len(payload)) + payload


def _key_value(key: str, value: str) -> bytes:
    return _len_field(1, key.encode()) + _len_field(2, _len_field(1, value.encode()))


def encode_metrics_data(resource: dict[str, str], metrics: list[tuple[str, str, float, dict[str, str]]],
                        time_unix_nano: int = 0) -> bytes:
    """A ``MetricsData`` of gauges and cumulative monotonic sums: ``(name, "gauge"|"sum", value,
    attributes)``; what a client pushes, written for tests."""
    encoded = []
    for name, kind, value, attributes in metrics:
        point = (_key(3, FIXED64) + time_unix_nano.to_bytes(8, "little")
                 + _key(4, FIXED64) + struct.pack("<d", value)
                 + b"".join(_len_field(7, _key_value(k, v)) for k, v in attributes.items()))
        body = _len_field(1, point)
        if kind == SUM:
            body += _key(2, VARINT) + _encode_varint(2) + _key(3, VARINT) + _encode_varint(1)
        encoded.append(_len_field(1, name.encode()) + _len_field(5 if kind == GAUGE else 7, body))
    scope = b"".join(_len_field(2, m) for m in encoded)
    resource_part = _len_field(1, b"".join(_len_field(1, _key_value(k, v)) for k, v in resource.items()))
    return _len_field(1, resource_part + _len_field(2, scope))
