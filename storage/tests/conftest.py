"""Fixtures: every storage test that can runs on both engines, disk on tmp_path."""

from __future__ import annotations

import pytest

from storage import LogConfig, Storage


class Engine:
    """Opens Storage on one engine; reopen() closes and opens again (disk keeps its data)."""

    def __init__(self, kind: str, tmp_path) -> None:
        self.kind = kind
        self.data_dir = tmp_path / "data" if kind == "disk" else None
        self.storage: Storage | None = None

    @property
    def disk(self) -> bool:
        return self.kind == "disk"

    def open(self, defaults: LogConfig | None = None) -> Storage:
        self.storage = Storage.open(self.data_dir, defaults or LogConfig())
        return self.storage

    def reopen(self, defaults: LogConfig | None = None) -> Storage:
        """Close and open again; the memory engine has nothing to reopen and keeps its storage."""
        if not self.disk:
            return self.storage
        self.storage.close()
        return self.open(defaults or self.storage.defaults)

    def close(self) -> None:
        if self.storage is not None:
            self.storage.close()


@pytest.fixture(params=["disk", "memory"])
def engine(request, tmp_path):
    engine = Engine(request.param, tmp_path)
    yield engine
    engine.close()


@pytest.fixture
def disk(tmp_path):
    engine = Engine("disk", tmp_path)
    yield engine
    engine.close()
