"""Topics: names, create/delete/grow/alter, metadata that survives a restart."""

from __future__ import annotations

import json
import os
import uuid

import pytest

from storage import (
    InvalidConfigError,
    InvalidPartitionsError,
    InvalidTopicError,
    LogConfig,
    OffsetOutOfRangeError,
    TopicExistsError,
    UnknownTopicError,
    UnknownTopicOrPartitionError,
    kafka_uuid_string,
    validate_topic_name,
)
from storage.topics import parse_kafka_uuid

from .helpers import make_batch, read_all


@pytest.mark.parametrize("name", ["a", "A-b_c.d", "x" * 249, "..a", "-", "__consumer_offsets", "0"])
def test_valid_topic_names(name):
    validate_topic_name(name)


@pytest.mark.parametrize("name", ["", ".", "..", "x" * 250, "a b", "a/b", "a\\b", "tópico", "a:b", "a\n", None])
def test_invalid_topic_names(name):
    with pytest.raises(InvalidTopicError):
        validate_topic_name(name)


def test_kafka_uuid_text_form():
    topic_id = uuid.UUID("00000000-0000-0001-0000-000000000002")
    assert kafka_uuid_string(topic_id) == "AAAAAAAAAAEAAAAAAAAAAg"
    assert parse_kafka_uuid("AAAAAAAAAAEAAAAAAAAAAg") == topic_id
    assert kafka_uuid_string(uuid.UUID(int=2**128 - 1)) == "_____________________w"


def test_create_and_look_up(engine):
    storage = engine.open()
    fixed = uuid.UUID("12345678-1234-5678-1234-567812345678")
    info = storage.create_topic("orders", 3, {"segment.bytes": "1000"}, topic_id=fixed)
    assert (info.name, info.topic_id, info.num_partitions, info.configs, info.internal) == (
        "orders", fixed, 3, {"segment.bytes": "1000"}, False)
    internal = storage.create_topic("__consumer_offsets", 2, internal=True)
    assert internal.internal and internal.topic_id.int > 1
    assert storage.topic("orders") == info
    assert storage.topic("missing") is None
    assert storage.topic_by_id(fixed) == info
    assert storage.topic_by_id(uuid.uuid4()) is None
    assert sorted(storage.topics()) == ["__consumer_offsets", "orders"]
    assert storage.partition("orders", 2).partition == 2
    assert storage.partition("orders", 2).topic == "orders"
    assert storage.partition("orders", 0).config.segment_bytes == 1000
    for name, index in [("orders", 3), ("orders", -1), ("missing", 0)]:
        with pytest.raises(UnknownTopicOrPartitionError):
            storage.partition(name, index)


def test_create_errors(engine):
    storage = engine.open()
    storage.create_topic("t", 1)
    with pytest.raises(TopicExistsError):
        storage.create_topic("t", 1)
    with pytest.raises(InvalidTopicError):
        storage.create_topic("bad name", 1)
    storage.create_topic("a.b", 1)
    with pytest.raises(InvalidTopicError):
        storage.create_topic("a_b", 1)  # collides with "a.b", as in Kafka
    with pytest.raises(InvalidPartitionsError):
        storage.create_topic("zero", 0)
    with pytest.raises(InvalidConfigError):
        storage.create_topic("cfg", 1, {"segment.bytes": "x"})
    assert sorted(storage.topics()) == ["a.b", "t"]


def test_delete_topic(engine):
    storage = engine.open()
    storage.create_topic("gone", 2)
    storage.partition("gone", 1).append(make_batch(3), now_ms=1)
    storage.delete_topic("gone")
    assert storage.topic("gone") is None
    with pytest.raises(UnknownTopicError):
        storage.delete_topic("gone")
    with pytest.raises(UnknownTopicOrPartitionError):
        storage.partition("gone", 0)
    if engine.disk:   # no partition directory left, renamed or not
        assert [p.name for p in engine.data_dir.iterdir() if p.is_dir()] == []
    storage = engine.reopen()
    assert storage.topic("gone") is None
    # a new topic of the same name starts empty
    storage.create_topic("gone", 1)
    assert storage.partition("gone", 0).log_end_offset == 0


def test_create_partitions(engine):
    storage = engine.open()
    storage.create_topic("grow", 1)
    storage.partition("grow", 0).append(make_batch(2), now_ms=1)
    with pytest.raises(InvalidPartitionsError):
        storage.create_partitions("grow", 1)
    with pytest.raises(UnknownTopicError):
        storage.create_partitions("nope", 4)
    storage.create_partitions("grow", 3)
    assert storage.topic("grow").num_partitions == 3
    assert storage.partition("grow", 2).log_end_offset == 0
    storage = engine.reopen()
    assert storage.topic("grow").num_partitions == 3
    assert storage.partition("grow", 0).log_end_offset == 2


def test_alter_topic_configs(engine):
    storage = engine.open(LogConfig(segment_bytes=4096))
    storage.create_topic("t", 1, {"retention.ms": "1000"})
    with pytest.raises(InvalidConfigError):
        storage.alter_topic_configs("t", {"retention.ms": "-5"})
    assert storage.topic("t").configs == {"retention.ms": "1000"}
    storage.alter_topic_configs("t", {"message.timestamp.type": "LogAppendTime"})
    assert storage.topic("t").configs == {"message.timestamp.type": "LogAppendTime"}
    log = storage.partition("t", 0)
    assert log.config == LogConfig(segment_bytes=4096, message_timestamp_type="LogAppendTime")
    assert log.append(make_batch(1), now_ms=777).log_append_time_ms == 777
    with pytest.raises(UnknownTopicError):
        storage.alter_topic_configs("nope", {})


def test_topic_metadata_survives_reopen(disk):
    storage = disk.open()
    a = storage.create_topic("a", 2, {"cleanup.policy": "compact", "segment.ms": "1000"})
    b = storage.create_topic("__internal", 1, internal=True)
    storage.alter_topic_configs("a", {"segment.ms": "2000"})
    storage.create_partitions("a", 4)
    storage = disk.reopen()
    assert storage.topics() == {
        "a": type(a)("a", a.topic_id, 4, {"segment.ms": "2000"}, False),
        "__internal": type(b)("__internal", b.topic_id, 1, {}, True),
    }
    assert storage.topic_by_id(b.topic_id).name == "__internal"
    assert storage.partition("a", 3).config.segment_ms == 2000
    document = json.loads((disk.data_dir / "kbroker-topics.json").read_text())
    assert document["version"] == 1
    assert {t["name"]: t["num_partitions"] for t in document["topics"]} == {"a": 4, "__internal": 1}


def test_partition_metadata_is_kafkas_format(disk):
    storage = disk.open()
    info = storage.create_topic("t", 1)
    text = (disk.data_dir / "t-0" / "partition.metadata").read_text()
    assert text == f"version: 0\ntopic_id: {kafka_uuid_string(info.topic_id)}\n"


def test_read_out_of_range_after_reopen_of_empty_topic(engine):
    storage = engine.open()
    storage.create_topic("e", 1)
    storage = engine.reopen()
    log = storage.partition("e", 0)
    assert (log.log_start_offset, log.log_end_offset, log.high_watermark) == (0, 0, 0)
    assert log.read(0, 100).chunks == []
    with pytest.raises(OffsetOutOfRangeError):
        log.read(1, 100)
    assert read_all(log) == []


def test_deleting_a_topic_with_the_longest_legal_name(tmp_path):
    """The renamed-for-delete directory must fit in 255 bytes (Kafka cuts the topic part)."""
    from storage import Storage

    name = "t" * 249
    storage = Storage.open(tmp_path / "d")
    storage.create_topic(name, 2)
    storage.delete_topic(name)
    assert storage.topic(name) is None
    assert sorted(p.name for p in (tmp_path / "d").iterdir() if p.is_dir()) == []
    storage.create_topic(name, 1)
    assert storage.partition(name, 0).log_end_offset == 0
    storage.close()


def test_topics_file_follows_every_change_one_topic_a_line(disk):
    """The file is written from each topic's line, encoded once per change: a changed or deleted
    topic never leaves its old line behind."""
    storage = disk.open()
    for name in ("x", "y", "z"):
        storage.create_topic(name, 1)
    storage.alter_topic_configs("y", {"segment.ms": "5000"})
    storage.delete_topic("x")
    storage.create_partitions("z", 3)
    disk.reopen()   # the snapshot takes in the journal
    text = (disk.data_dir / "kbroker-topics.json").read_text()
    assert len(text.splitlines()) == 4   # the opening, a line per topic, the closing
    assert {t["name"]: (t["num_partitions"], t["configs"]) for t in json.loads(text)["topics"]} == {
        "y": (1, {"segment.ms": "5000"}), "z": (3, {})}
