"""Transaction markers: the control batches that end a transaction, as Kafka writes them.

A marker is a batch of its own, magic 2, attributes transactional + control (0x30), with the
transaction's producer id and epoch, base sequence -1, and one record (Kafka's
EndTransactionMarker):
  key   = version int16 (0) | control type int16 (0 abort, 1 commit)
  value = version int16 (0) | coordinator epoch int32
No other part of the log engine decodes records; markers are read only where the outcome of
a transaction must be known (an append of a marker, producer-state replay at start).
"""

from __future__ import annotations

import struct
from enum import IntEnum
from typing import NamedTuple

from .errors import CorruptRecordError
from .records import ATTR_CONTROL, ATTRIBUTES_POS, NO_SEQUENCE, Record, build_batch, decode_records

CONTROL_KEY = struct.Struct(">hh")          # version, type
MARKER_VALUE = struct.Struct(">hi")         # version, coordinator epoch
CONTROL_KEY_VERSION = 0
MARKER_VALUE_VERSION = 0
_ATTRIBUTES = struct.Struct(">h")


class ControlType(IntEnum):
    ABORT = 0
    COMMIT = 1


class Marker(NamedTuple):
    """What a transaction marker says."""
    control_type: ControlType
    coordinator_epoch: int

    @property
    def committed(self) -> bool:
        return self.control_type == ControlType.COMMIT


def build_marker(producer_id: int, producer_epoch: int, coordinator_epoch: int, committed: bool,
                 timestamp_ms: int, *, base_offset: int = 0) -> bytes:
    """The control batch Kafka writes to each partition of a transaction that ends."""
    control_type = ControlType.COMMIT if committed else ControlType.ABORT
    record = Record(timestamp=timestamp_ms, key=CONTROL_KEY.pack(CONTROL_KEY_VERSION, control_type),
                    value=MARKER_VALUE.pack(MARKER_VALUE_VERSION, coordinator_epoch))
    return build_batch([record], base_offset=base_offset, producer_id=producer_id, producer_epoch=producer_epoch,
                       base_sequence=NO_SEQUENCE, is_transactional=True, is_control=True)


def is_control_batch(batch: bytes | bytearray | memoryview) -> bool:
    return bool(_ATTRIBUTES.unpack_from(batch, ATTRIBUTES_POS)[0] & ATTR_CONTROL)


def marker_of(batch: bytes | bytearray | memoryview) -> Marker | None:
    """The marker a control batch holds; None for another control record (Kafka's leader
    change and snapshot records) or an empty control batch (its transaction compacted away).
    CorruptRecordError for a marker Kafka could not read either."""
    records = decode_records(batch)
    if not records:
        return None
    key, value = records[0].key, records[0].value
    if key is None or len(key) < CONTROL_KEY.size:
        raise CorruptRecordError("control record key shorter than 4 bytes")
    version, control_type = CONTROL_KEY.unpack_from(key)
    if version != CONTROL_KEY_VERSION or control_type not in (ControlType.ABORT, ControlType.COMMIT):
        return None
    if value is None or len(value) < MARKER_VALUE.size:
        raise CorruptRecordError("transaction marker value shorter than 6 bytes")
    value_version, coordinator_epoch = MARKER_VALUE.unpack_from(value)
    if value_version < 0:
        raise CorruptRecordError(f"transaction marker value version {value_version}")
    return Marker(ControlType(control_type), coordinator_epoch)
