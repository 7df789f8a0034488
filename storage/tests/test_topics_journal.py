"""The topics' durable record: a snapshot and a journal of changes, one append per commit."""

from __future__ import annotations

import json

import pytest

from storage import StorageError
from storage import topics_journal
from storage.topics_journal import TOPICS_JOURNAL


def _journal_lines(disk) -> list[dict]:
    path = disk.data_dir / TOPICS_JOURNAL
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def _snapshot_names(disk) -> list[str]:
    return [t["name"] for t in json.loads((disk.data_dir / "kbroker-topics.json").read_text())["topics"]]


def test_each_change_outside_a_batch_is_one_journal_line(disk):
    storage = disk.open()
    a = str(storage.create_topic("a", 1).topic_id)
    b = str(storage.create_topic("b", 2).topic_id)
    storage.create_partitions("b", 3)
    storage.alter_topic_configs("a", {"retention.ms": "1000"})
    storage.delete_topic("b")

    def entry(name, topic_id, partitions, configs):
        return {"topic": {"name": name, "topic_id": topic_id, "num_partitions": partitions, "configs": configs,
                          "internal": False}}

    assert _journal_lines(disk) == [entry("a", a, 1, {}), entry("b", b, 2, {}), entry("b", b, 3, {}),
                                    entry("a", a, 1, {"retention.ms": "1000"}), {"deleted": "b"}]


def test_changes_in_a_batch_are_written_on_leaving_it(disk):
    storage = disk.open()
    storage.create_topic("before", 1)
    with storage.topic_changes():
        for i in range(20):
            storage.create_topic(f"t{i}", 1)
        with storage.topic_changes():   # nested: still one write, at the outer end
            storage.delete_topic("before")
        assert len(_journal_lines(disk)) == 1    # nothing written yet
        assert (disk.data_dir / "before-0").exists() is False   # renamed away at once
    assert len(_journal_lines(disk)) == 22
    storage = disk.reopen()
    assert sorted(storage.topics()) == sorted(f"t{i}" for i in range(20))
    assert [p.name for p in disk.data_dir.iterdir() if p.name.endswith("-delete")] == []


def test_reopen_folds_the_journal_into_the_snapshot(disk):
    storage = disk.open()
    for name in ("x", "y", "z"):
        storage.create_topic(name, 1)
    storage.delete_topic("y")
    disk.reopen()
    assert _snapshot_names(disk) == ["x", "z"]
    assert _journal_lines(disk) == []


def test_a_line_cut_short_by_a_crash_is_dropped(disk):
    storage = disk.open()
    kept = storage.create_topic("kept", 2)
    with open(disk.data_dir / TOPICS_JOURNAL, "ab") as file:   # a write the crash interrupted
        file.write(b'{"topic": {"name": "half", "topic_id": "0000')
    storage.close()
    storage = disk.open()
    assert storage.topics() == {"kept": kept}
    assert _journal_lines(disk) == []
    storage.create_topic("after", 1)   # and the journal goes on from a clean end
    storage = disk.reopen()
    assert sorted(storage.topics()) == ["after", "kept"]


def test_a_malformed_line_inside_the_journal_is_an_error(disk):
    storage = disk.open()
    storage.create_topic("a", 1)
    storage.close()
    with open(disk.data_dir / TOPICS_JOURNAL, "ab") as file:
        file.write(b'{"topic": {"name": 5}}\n{"deleted": "a"}\n')
    with pytest.raises(StorageError, match="malformed change"):
        disk.open()
    disk.storage = None


def test_replaying_the_journal_again_over_a_new_snapshot_changes_nothing(disk):
    """A crash after the snapshot is replaced but before the journal is emptied."""
    storage = disk.open()
    storage.create_topic("a", 1)
    storage.create_topic("b", 1)
    storage.delete_topic("a")
    storage.create_topic("a", 3)
    storage.alter_topic_configs("b", {"segment.ms": "9000"})
    before = storage.topics()
    journal = (disk.data_dir / TOPICS_JOURNAL).read_bytes()
    storage = disk.reopen()   # snapshot written, journal emptied
    storage.close()
    (disk.data_dir / TOPICS_JOURNAL).write_bytes(journal)   # as if the emptying never happened
    storage = disk.open()
    assert storage.topics() == before


def test_the_journal_is_compacted_when_longer_than_the_topic_count(disk, monkeypatch):
    monkeypatch.setattr(topics_journal, "COMPACT_FROM_LINES", 8)
    storage = disk.open()
    for i in range(5):
        storage.create_topic(f"keep{i}", 1)
    for i in range(3):
        storage.create_topic(f"gone{i}", 1)
    assert _journal_lines(disk) == []   # 8 lines >= 8 topics: folded into the snapshot
    assert len(_snapshot_names(disk)) == 8
    for i in range(3):
        storage.delete_topic(f"gone{i}")
    assert len(_journal_lines(disk)) == 3
    storage = disk.reopen()
    assert sorted(storage.topics()) == [f"keep{i}" for i in range(5)]


def test_a_clean_shutdown_leaves_every_topic_in_the_snapshot(disk):
    """What a kbroker that predates the journal reads: the snapshot alone."""
    storage = disk.open()
    storage.create_topic("a", 1)
    storage.create_topic("b", 2)
    storage.delete_topic("a")
    assert len(_journal_lines(disk)) == 3
    storage.close()
    assert _journal_lines(disk) == []
    assert _snapshot_names(disk) == ["b"]
