"""Fetch v0-3: the records read for each partition, down-converted to message sets.

v0-1 get magic 0, v2-3 magic 1 (storage.legacy_records.down_convert: control batches left
out, a compressed batch one wrapper, an uncompressed one a message per record from the
fetch offset on; zstd gets UNSUPPORTED_COMPRESSION_TYPE when it comes first). Only these
versions pay for it: v4+ sends the file bytes.

A topic with message.downconversion.enable=false answers these versions UNSUPPORTED_VERSION
for its partitions, as Kafka 3.9 does.

Sizes follow Kafka's lazy down-conversion: a partition's converted entries stay within the
bytes its read returned, whole entries only, but the first whole entry always goes, so a
consumer makes progress (v3, KIP-74). v0-2 have a hard limit: when the first stored batch is
larger than partition_max_bytes, what fits goes, and a first entry larger than the limit
goes cut at it, which old consumers report as a message larger than their fetch size; each
partition has its own limit (v0-2 have no limit for the whole response).
"""

from broker.errors import storage_error_code
from kproto.errors import ErrorCode
from storage import FileSlice
from storage.errors import StorageError, UnsupportedCompressionTypeError
from storage.legacy_records import MAGIC_V0, MAGIC_V1, down_convert


def message_format(api_version: int) -> int:
    """The magic a Fetch version reads: 0 for v0-1, 1 for v2-3."""
    return MAGIC_V0 if api_version <= 1 else MAGIC_V1


def _held_back(p) -> bool:
    """A partition left empty although it has records at the offset: its first batch was
    over the limit after another partition's data (fetch.py reads so for v3+)."""
    entry = p.entry
    return entry["error_code"] == 0 and entry["log_start_offset"] <= p.offset < entry["high_watermark"]


def _enabled(broker, topic: str) -> bool:
    """The topic's message.downconversion.enable (true unless set false)."""
    info = broker.storage.topic(topic)
    value = info.configs.get("message.downconversion.enable") if info is not None else None
    return (value or "true").strip().lower() != "false"


def down_convert_partitions(broker, partitions, api_version: int) -> None:
    """Replace each partition's read records (fetch.py's _Partition entries) by message sets."""
    magic = message_format(api_version)
    hard_limit = api_version <= 2
    for p in partitions:
        entry = p.entry
        if not _enabled(broker, p.topic):
            entry.update(error_code=ErrorCode.UNSUPPORTED_VERSION, records=b"", high_watermark=-1,
                         last_stable_offset=-1, log_start_offset=-1)
            continue
        chunks = entry["records"]
        if not chunks and hard_limit and _held_back(p):
            try:
                chunks = p.log.read(p.offset, max(p.max_bytes, 1)).chunks
            except StorageError as exc:
                entry["error_code"] = storage_error_code(exc)
                continue
        if not chunks:
            continue
        data = b"".join(c.read_bytes() if isinstance(c, FileSlice) else bytes(c) for c in chunks)
        budget = len(data)
        cut = hard_limit and budget > p.max_bytes
        if cut:
            budget = max(p.max_bytes, 0)
        converted, size = [], 0
        try:
            for unit in down_convert(data, magic, p.offset):
                if size + len(unit) > budget:
                    if not converted:
                        converted.append(unit[:budget] if cut else unit)
                    break
                converted.append(unit)
                size += len(unit)
        except UnsupportedCompressionTypeError:
            if not converted:
                entry["error_code"] = ErrorCode.UNSUPPORTED_COMPRESSION_TYPE
        except StorageError as exc:
            if not converted:
                entry["error_code"] = storage_error_code(exc)
        entry["records"] = b"".join(converted)
