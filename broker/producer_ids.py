"""Producer ids that are never handed out twice, also across restarts.

As Kafka's controller does, ids are reserved in blocks: the end of the current
block is written to disk before any id of it is used, so after a crash the next
process starts past every id that could have been given out.
"""

from __future__ import annotations

import os
from pathlib import Path

BLOCK_SIZE = 1000
FILE_NAME = "producer_id_block"


class ProducerIdManager:
    def __init__(self, data_dir: Path | None):
        self._path = None if data_dir is None else Path(data_dir) / FILE_NAME
        self._next = 0
        self._block_end = 0
        if self._path is not None and self._path.exists():
            text = self._path.read_text().strip()
            self._next = self._block_end = int(text or 0)

    def next_id(self) -> int:
        if self._next >= self._block_end:
            self._reserve(self._next + BLOCK_SIZE)
        producer_id = self._next
        self._next += 1
        return producer_id

    def _reserve(self, block_end: int) -> None:
        if self._path is not None:
            tmp = self._path.with_suffix(".tmp")
            with open(tmp, "w") as f:
                f.write(f"{block_end}\n")
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, self._path)
        self._block_end = block_end

    def close(self) -> None:
        pass
