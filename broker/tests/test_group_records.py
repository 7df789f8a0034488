"""The coordinator's records: their encoding (Kafka's GroupMetadataKey v2 / GroupMetadataValue v0-4,
OffsetCommitKey v1 / OffsetCommitValue v1 and v3), and how the offsets layer writes and replays them
in __consumer_offsets. test_group_service.py has the shell that writes the coordinator's changes."""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import struct
import subprocess
from pathlib import Path

import pytest

from broker.groups.offsets import (
    OFFSETS_TOPIC, CommittedOffset, OffsetStore, group_metadata_value, group_snapshot, partition_for)
from broker.groups.snapshot import GroupSnapshot, MemberSnapshot
from kproto.coordinator_records import (
    GROUP_METADATA_KEY, GROUP_METADATA_VALUE, OFFSET_COMMIT_KEY, OFFSET_COMMIT_VALUE, decode_group_metadata_key,
    decode_group_metadata_value, encode_group_metadata_key, encode_group_metadata_value, encode_offset_key,
    encode_offset_value)
from kproto.errors import DecodeError
from kproto.schema import MISSING, Array, Schema
from storage import Record, Storage, build_batch, decode_records, iter_batches

# A git copy of Kafka's source (its specs are read from HEAD); the tests that need it skip without.
KAFKA_MIRROR = Path(os.environ.get("KAFKA_SOURCE_GIT", "/work/.mirror/apache+kafka/repo"))
SPEC_PATH = "group-coordinator/src/main/resources/common/message/{}.json"


# -- hand-made bytes, after the specs -------------------------------------------------------

def i16(n): return struct.pack(">h", n)
def i32(n): return struct.pack(">i", n)
def i64(n): return struct.pack(">q", n)
def string(s): return i16(-1) if s is None else i16(len(s.encode())) + s.encode()
def data(b): return i32(len(b)) + b


def value_bytes(version: int, *, ptype="consumer", generation=7, protocol="range", leader="m-1", timestamp=1234,
                members=(("m-1", "i-1", "client", "/10.0.0.1", 45_000, 10_000, b"sub", b"asg"),)) -> bytes:
    """A GroupMetadataValue of a non-flexible version, field by field as the spec lists them."""
    out = i16(version) + string(ptype) + i32(generation) + string(protocol) + string(leader)
    if version >= 2:
        out += i64(timestamp)
    out += i32(len(members))
    for member_id, instance, client, host, rebalance, session, sub, asg in members:
        out += string(member_id)
        if version >= 3:
            out += string(instance)
        out += string(client) + string(host)
        if version >= 1:
            out += i32(rebalance)
        out += i32(session) + data(sub) + data(asg)
    return out


SNAPSHOT = GroupSnapshot(
    group_id="grp", protocol_type="consumer", generation_id=7, protocol_name="range", leader_id="m-1",
    state_timestamp_ms=1234, members=(
        MemberSnapshot("m-1", "i-1", "client", "/10.0.0.1", 45_000, 10_000, b"sub", b"asg"),
        MemberSnapshot("m-2", None, "other", "/10.0.0.2", 30_000, 6_000, b"", b""),
    ))


def test_offset_commit_bytes():
    """Key v1; value v3, or v1 (no leader epoch, an expire time) for a commit with a retention."""
    assert encode_offset_key("grp", "t", 3) == i16(1) + string("grp") + string("t") + i32(3)
    assert encode_offset_value(42, 5, "meta", 1000) == i16(3) + i64(42) + i32(5) + string("meta") + i64(1000)
    assert encode_offset_value(42, 5, "meta", 1000, 9000) == i16(1) + i64(42) + string("meta") + i64(1000) + i64(9000)


def test_key_bytes():
    assert encode_group_metadata_key("grp") == i16(2) + string("grp")
    assert decode_group_metadata_key(i16(2) + string("grp")) == "grp"
    with pytest.raises(DecodeError):
        decode_group_metadata_key(i16(1) + string("grp"))      # an offset commit key's version


def test_value_is_written_as_kafka_writes_it():
    """Version 3, non-flexible (MetadataVersion.groupMetadataValueVersion from IBP 2.3)."""
    written = encode_group_metadata_value(group_metadata_value(SNAPSHOT))
    assert written == value_bytes(3, members=(
        ("m-1", "i-1", "client", "/10.0.0.1", 45_000, 10_000, b"sub", b"asg"),
        ("m-2", None, "other", "/10.0.0.2", 30_000, 6_000, b"", b"")))
    assert group_snapshot("grp", decode_group_metadata_value(written)) == SNAPSHOT


def test_empty_group_value_bytes():
    empty = GroupSnapshot("grp", "consumer", 8, None, None, 99, ())
    written = encode_group_metadata_value(group_metadata_value(empty))
    assert written == value_bytes(3, generation=8, protocol=None, leader=None, timestamp=99, members=())
    assert group_snapshot("grp", decode_group_metadata_value(written)) == empty
    simple = GroupSnapshot("grp", None, 0, None, None, None, ())   # protocol type "" and no timestamp
    written = encode_group_metadata_value(group_metadata_value(simple))
    assert written == value_bytes(3, ptype="", generation=0, protocol=None, leader=None, timestamp=-1, members=())
    assert group_snapshot("grp", decode_group_metadata_value(written)) == simple


@pytest.mark.parametrize("version", [0, 1, 2, 3])
def test_every_older_version_is_read(version):
    """What a version lacks reads as Kafka's defaults: no timestamp (-1), no rebalance
    timeout (-1: the loader takes the session timeout), no group instance id."""
    decoded = group_snapshot("grp", decode_group_metadata_value(value_bytes(version)))
    assert decoded == GroupSnapshot(
        "grp", "consumer", 7, "range", "m-1", 1234 if version >= 2 else None, (MemberSnapshot(
            "m-1", "i-1" if version >= 3 else None, "client", "/10.0.0.1", 45_000 if version >= 1 else -1,
            10_000, b"sub", b"asg"),))


def test_version_4_is_flexible():
    value = group_metadata_value(SNAPSHOT)
    flexible = encode_group_metadata_value(value, 4)
    assert flexible[:2] == i16(4) and flexible[2] == len("consumer") + 1        # compact string
    assert flexible[-1] == 0                                                      # empty tag section
    assert group_snapshot("grp", decode_group_metadata_value(flexible)) == SNAPSHOT


def test_unknown_version_or_garbage_is_refused():
    with pytest.raises(DecodeError):
        decode_group_metadata_value(i16(5) + value_bytes(3)[2:])
    with pytest.raises(DecodeError):
        decode_group_metadata_value(value_bytes(3)[:-1])
    with pytest.raises(DecodeError):
        decode_group_metadata_value(value_bytes(3) + b"\x00")


# -- against Kafka's own specs (when its source is at hand) ----------------------------------

def kafka_spec(name: str) -> dict:
    if not KAFKA_MIRROR.is_dir():
        pytest.skip("no copy of Kafka's source")
    result = subprocess.run(["git", "-C", str(KAFKA_MIRROR), "show", f"HEAD:{SPEC_PATH.format(name)}"],
                            capture_output=True, text=True)
    if result.returncode != 0:
        pytest.skip(f"{name}.json not in Kafka's source: {result.stderr.strip()}")
    return json.loads("\n".join(line for line in result.stdout.splitlines() if not line.lstrip().startswith("//")))


@pytest.mark.parametrize("schema", [GROUP_METADATA_KEY, GROUP_METADATA_VALUE, OFFSET_COMMIT_KEY, OFFSET_COMMIT_VALUE],
                         ids=lambda s: s.name)
def test_records_match_kafkas_specs(schema: Schema):
    from kproto.tests.spec import compare_schema
    spec = kafka_spec(schema.name)
    assert spec["type"] == "data"
    assert compare_schema(schema, spec) == []


def test_the_spec_comparison_notices_a_difference():
    from kproto.tests.spec import compare_schema
    spec = kafka_spec("GroupMetadataValue")
    fields = list(GROUP_METADATA_VALUE.fields)
    members = fields[-1]
    inner = [dataclasses.replace(f, default=MISSING) if f.name == "group_instance_id" else f
             for f in members.type.element.fields]
    altered = Schema("GroupMetadataValue", "0-4", "4+", fields[:-1] + [dataclasses.replace(members, type=Array(inner))])
    assert compare_schema(altered, spec) != []
    reordered = Schema("GroupMetadataValue", "0-4", "4+", [fields[1], fields[0]] + fields[2:])
    assert compare_schema(reordered, spec) != []


# -- the offsets layer: written to the group's partition, replayed at start -----------------

def read_partition(storage: Storage, partition: int) -> list[Record]:
    if storage.topic(OFFSETS_TOPIC) is None:
        return []
    plog = storage.partition(OFFSETS_TOPIC, partition)
    raw = plog.read(plog.log_start_offset, 1 << 24).read_bytes()
    return [r for batch in iter_batches(raw) for r in decode_records(batch)]


def test_records_go_to_the_groups_partition_and_the_last_one_wins():
    storage = Storage.open(None)
    store = OffsetStore(storage, 5)
    gone = dataclasses.replace(SNAPSHOT, group_id="gone")
    first = dataclasses.replace(SNAPSHOT, generation_id=1)
    store.commit("grp", {("t", 0): CommittedOffset(42, -1, "", 1000)}, 1000)
    store.store_groups([("grp", first), ("gone", gone)], 1100)
    store.store_groups([("grp", SNAPSHOT), ("gone", None)], 1200)
    partition = partition_for("grp", 5)
    records = read_partition(storage, partition)
    ours = [r for r in records if r.key == encode_group_metadata_key("grp")]
    assert [decode_group_metadata_value(r.value)["generation"] for r in ours] == [1, 7]
    assert [r.timestamp for r in ours] == [1100, 1200]
    gone_records = read_partition(storage, partition_for("gone", 5))
    assert [r.value is None for r in gone_records if r.key == encode_group_metadata_key("gone")] == [False, True]

    store.commit("grp", {("t", 1): CommittedOffset(43, 7, "m", 1000, expire_timestamp=5000)}, 1000)

    reloaded = OffsetStore(storage, 5)
    assert reloaded.get("grp", "t", 1) == CommittedOffset(43, -1, "m", 1000, 5000)   # v1 has no leader epoch
    assert reloaded.take_loaded_groups() == [SNAPSHOT]
    assert reloaded.take_loaded_groups() == []
    assert reloaded.get("grp", "t", 0) == CommittedOffset(42, -1, "", 1000)
    assert OffsetStore(storage, 5).groups() == ["grp"]


def test_a_group_recreated_after_its_tombstone_is_loaded():
    storage = Storage.open(None)
    store = OffsetStore(storage, 3)
    store.store_groups([("grp", SNAPSHOT)], 1)
    store.store_groups([("grp", None)], 2)
    again = dataclasses.replace(SNAPSHOT, generation_id=1, members=SNAPSHOT.members[:1])
    store.store_groups([("grp", again)], 3)
    assert OffsetStore(storage, 3).take_loaded_groups() == [again]


def test_a_group_whose_last_record_is_unreadable_is_left_out(caplog):
    storage = Storage.open(None)
    store = OffsetStore(storage, 1)
    store.store_groups([("grp", SNAPSHOT), ("other", dataclasses.replace(SNAPSHOT, group_id="other"))], 1)
    storage.partition(OFFSETS_TOPIC, 0).append(build_batch([
        Record(timestamp=2, key=encode_group_metadata_key("grp"), value=i16(9) + b"junk")]), 2)
    with caplog.at_level(logging.WARNING, logger="kbroker.offsets"):
        assert [g.group_id for g in OffsetStore(storage, 1).take_loaded_groups()] == ["other"]
    assert "skipping the unreadable metadata of group grp" in caplog.text
