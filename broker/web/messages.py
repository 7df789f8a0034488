"""The console's messages page: a window of one partition's records, newest first; and producing one.

Browsing reads only the window asked for: the log finds the batch holding the window's
first offset through its index, and batches are read and decoded until its last offset
(at most READ_MAX_BYTES in all). A window is given by its last offset (``end``, default
the newest record), its first (``start``), or a time (``timestamp``: the first record at
or after it, found through the time index), and ``limit`` records long. Keys, values and
header values go to the page as base64, cut at SHOWN_MAX_BYTES each (the page shows them
as text, JSON or hex, always as text nodes: nothing a record holds becomes markup).

Producing goes through the Produce handler (acks=all) with one record in a batch built
here; without a partition, a keyed record goes where Kafka's default partitioner would
put it (murmur2 of the key), an unkeyed one to a partition chosen in turn.
"""

from __future__ import annotations

import base64
import binascii
import itertools
import json

from broker.clock import now_ms
from broker.partitioner import partition_for_key
from broker.web.calls import call, error_name, http_status, request_for
from broker.web.httpserver import HttpError, Request
from broker.web.topics import _topic_info, partition_log
from kproto.api_keys import ApiKey
from storage import Record, build_batch, decode_records, iter_batches, read_header
from storage.errors import StorageError

LIMIT_DEFAULT, LIMIT_MAX = 50, 500
READ_MAX_BYTES = 8 << 20          # read for one window, whatever its records weigh
READ_FIRST_BYTES = 64 << 10       # the first read of a window (at least one whole batch comes back)
READ_STEP_MAX_BYTES = 1 << 20     # later reads double up to this
SHOWN_MAX_BYTES = 64 << 10        # of each key, value and header value
ALL_PARTITIONS_MAX = 256          # "every partition" reads at most this many (the non-empty ones)

_round_robin = itertools.count()


def _b64(data: bytes | None) -> dict | None:
    if data is None:
        return None
    shown = data[:SHOWN_MAX_BYTES]
    return {"b64": base64.b64encode(shown).decode(), "size": len(data), "truncated": len(data) > len(shown)}


def read_window(log, low: int, high: int) -> tuple[list[tuple], int]:
    """Records of offsets ``low..high`` (inclusive) of a partition log, oldest first, each with its
    batch header; and the bytes read."""
    found = []
    offset, read, step = low, 0, READ_FIRST_BYTES
    while offset <= high and read < READ_MAX_BYTES:
        try:
            data = log.read(offset, min(step, READ_MAX_BYTES - read)).read_bytes()
            step = min(step * 2, READ_STEP_MAX_BYTES)
        except StorageError:
            break
        if not data:
            break
        read += len(data)
        last = offset - 1
        for batch in iter_batches(data):
            header = read_header(batch)
            last = header.last_offset
            if last < low or header.is_control:
                continue
            for record in decode_records(batch):
                if low <= record.offset <= high:
                    found.append((record, header))
            if last >= high:
                break
        if last < offset:
            break
        offset = last + 1
    return found, read


def _window(log, request: Request, limit: int) -> tuple[int, int]:
    start, end = log.log_start_offset, log.log_end_offset
    if request.arg("timestamp") not in (None, ""):
        timestamp = request.int_arg("timestamp")
        hit = log.offset_for_timestamp(timestamp)
        low = hit[0] if hit is not None else end
        return max(low, start), min(max(low, start) + limit - 1, end - 1)
    if request.arg("start") not in (None, ""):
        low = max(request.int_arg("start"), start)
        return low, min(low + limit - 1, end - 1)
    high = request.int_arg("end", end - 1)
    high = min(high, end - 1)
    return max(high - limit + 1, start), high


def browse(broker, request: Request, name: str) -> dict:
    info = _topic_info(broker, name)
    limit = request.int_arg("limit", LIMIT_DEFAULT, low=1, high=LIMIT_MAX)
    partition = request.int_arg("partition", 0, low=-1, high=info.num_partitions - 1)
    partitions = [partition] if partition >= 0 else list(range(info.num_partitions))
    rows, windows, read = [], [], 0
    for index in partitions:
        log = partition_log(broker, name, index)
        if partition < 0 and log.log_end_offset == log.log_start_offset:
            continue
        if len(windows) >= ALL_PARTITIONS_MAX:
            break
        low, high = _window(log, request, limit)
        windows.append({"partition": index, "start": low, "end": high, "earliest": log.log_start_offset,
                        "latest": log.log_end_offset})
        if high < low:
            continue
        found, nbytes = read_window(log, low, high)
        read += nbytes
        rows += [_row(index, record, header) for record, header in found]
    rows.sort(key=lambda r: (r["timestamp"], r["offset"]) if partition < 0 else (r["offset"],), reverse=True)
    return {"topic": name, "partition": partition, "limit": limit, "windows": windows, "bytes_read": read,
            "messages": rows[:limit] if partition < 0 else rows}


def _row(partition: int, record: Record, header) -> dict:
    return {"partition": partition, "offset": record.offset, "timestamp": record.timestamp,
            "timestamp_type": "LogAppendTime" if header.timestamp_type else "CreateTime",
            "key": _b64(record.key), "value": _b64(record.value),
            "headers": [{"key": k, "value": _b64(v)} for k, v in record.headers],
            "compression": header.compression.name.lower(), "transactional": header.is_transactional}


# -- producing one -----------------------------------------------------------------------------

def _decode(value, encoding: str, what: str) -> bytes | None:
    if value is None:
        return None
    if encoding == "json":
        return json.dumps(value, ensure_ascii=False).encode()
    if not isinstance(value, str):
        raise HttpError(400, f"{what} must be text (or null)")
    try:
        if encoding == "text":
            return value.encode("utf-8")
        if encoding == "hex":
            return bytes.fromhex(value)
        if encoding == "base64":
            return base64.b64decode(value, validate=True)
    except (ValueError, binascii.Error):
        raise HttpError(400, f"{what} is not valid {encoding}") from None
    raise HttpError(400, f"unknown encoding {encoding!r}: text, json, hex or base64")


def produce(broker, request: Request, name: str) -> dict:
    """``{"partition": n|null, "key": .., "value": .., "headers": [{"key": .., "value": ..}],
    "encoding": "text"|"json"|"hex"|"base64"}``: one record, acks=all."""
    info = _topic_info(broker, name)
    body = request.json_object()
    encoding = body.get("encoding", "text")
    if not isinstance(encoding, str):
        raise HttpError(400, "encoding must be text")
    key = _decode(body.get("key"), "text" if encoding == "json" else encoding, "key")
    value = _decode(body.get("value"), encoding, "value")
    headers = body.get("headers") or []
    if not isinstance(headers, list) or not all(isinstance(h, dict) and isinstance(h.get("key"), str)
                                                for h in headers):
        raise HttpError(400, "headers must be a list of {key, value}")
    record_headers = [(h["key"], _decode(h.get("value"), "text", "header value")) for h in headers]
    partition = body.get("partition")
    if partition is None:
        if key is not None:
            partition = partition_for_key(key, info.num_partitions)
        else:
            partition = next(_round_robin) % info.num_partitions
    if not isinstance(partition, int) or isinstance(partition, bool) or not 0 <= partition < info.num_partitions:
        raise HttpError(400, f"partition must be within 0..{info.num_partitions - 1}")
    batch = build_batch([Record(timestamp=now_ms(), key=key, value=value, headers=record_headers)])
    response = call(broker, ApiKey.PRODUCE, 9, request_for(
        ApiKey.PRODUCE, 9, acks=-1, timeout_ms=5000,
        topic_data=[{"name": name, "partition_data": [{"index": partition, "records": batch}]}]),
        client_host=request.peer, principal=request.principal)
    [part] = response["responses"][0]["partition_responses"]
    if part["error_code"]:
        raise HttpError(http_status(part["error_code"], 400),
                        f"{error_name(part['error_code'])}: {part.get('error_message') or ''}".rstrip(": "))
    return {"topic": name, "partition": partition, "offset": part["base_offset"]}
