"""The transaction coordinator's records: Kafka's TransactionLogKey v0 / TransactionLogValue v0-1, how
``__transaction_state`` is made, written and replayed, and which partition holds an id."""

from __future__ import annotations

import json
import os
import struct
import subprocess
from pathlib import Path

import pytest

from broker.tests.txn_harness import Harness
from broker.transactions.config import TransactionConfig
from broker.transactions.log import TRANSACTION_STATE_TOPIC, TransactionLog, java_string_hash, partition_for
from broker.transactions.state import TransactionState, Transit
from kproto.coordinator_records import (
    TRANSACTION_LOG_KEY, TRANSACTION_LOG_VALUE, decode_transaction_log_value, encode_transaction_log_key,
    encode_transaction_log_value)
from storage import Storage, decode_records, iter_batches

KAFKA_MIRROR = Path(os.environ.get("KAFKA_SOURCE_GIT", "/work/.mirror/apache+kafka/repo"))
SPEC_PATH = "transaction-coordinator/src/main/resources/common/message/{}.json"
S = TransactionState


def i8(n): return struct.pack(">b", n)
def i16(n): return struct.pack(">h", n)
def i32(n): return struct.pack(">i", n)
def i64(n): return struct.pack(">q", n)
def string(s): return i16(len(s.encode())) + s.encode()


def test_key_and_value_v0_bytes():
    assert encode_transaction_log_key("tx-1") == i16(0) + string("tx-1")
    value = {"producer_id": 42, "producer_epoch": 3, "transaction_timeout_ms": 60000, "transaction_status": 1,
             "transaction_partitions": [{"topic": "t", "partition_ids": [0, 2]}],
             "transaction_last_update_timestamp_ms": 1001, "transaction_start_timestamp_ms": 1000}
    assert encode_transaction_log_value(value) == (
        i16(0) + i64(42) + i16(3) + i32(60000) + i8(1) + i32(1) + string("t") + i32(2) + i32(0) + i32(2)
        + i64(1001) + i64(1000))
    empty = dict(value, transaction_status=0, transaction_partitions=None)
    assert encode_transaction_log_value(empty)[2 + 8 + 2 + 4 + 1:][:4] == i32(-1)   # null partitions
    for version in (0, 1):
        decoded = decode_transaction_log_value(encode_transaction_log_value(value, version))
        assert decoded == dict(value, previous_producer_id=-1, next_producer_id=-1, client_transaction_version=0)


def kafka_spec(name: str) -> dict:
    if not KAFKA_MIRROR.is_dir():
        pytest.skip("no copy of Kafka's source")
    result = subprocess.run(["git", "-C", str(KAFKA_MIRROR), "show", f"HEAD:{SPEC_PATH.format(name)}"],
                            capture_output=True, text=True)
    if result.returncode != 0:
        pytest.skip(f"{name}.json not in Kafka's source: {result.stderr.strip()}")
    return json.loads("\n".join(line for line in result.stdout.splitlines() if not line.lstrip().startswith("//")))


@pytest.mark.parametrize("schema", [TRANSACTION_LOG_KEY, TRANSACTION_LOG_VALUE], ids=lambda s: s.name)
def test_records_match_kafkas_specs(schema):
    from kproto.tests.test_conformance import compare_schema
    spec = kafka_spec(schema.name)
    assert spec["type"] == "data"
    assert compare_schema(schema, spec) == []


def test_partition_is_javas_abs_hash_modulo_the_partition_count():
    assert java_string_hash("hello") == 99162322 and partition_for("hello", 50) == 99162322 % 50
    assert java_string_hash("polygenelubricants") == -(1 << 31)    # Integer.MIN_VALUE: Utils.abs gives 0
    assert partition_for("polygenelubricants", 50) == 0
    negative = next(s for s in (f"tx-{i}" for i in range(1000)) if java_string_hash(s) < 0)
    assert partition_for(negative, 50) == -java_string_hash(negative) % 50   # abs, not the sign bit masked


def transit(transactional_id, state, partitions=(), epoch=0):
    return Transit(transactional_id, 7, -1, epoch, -1, 60000, state, frozenset(partitions), 500, 600)


def test_the_topic_is_made_compacted_with_50_partitions_and_replayed():
    storage = Storage.open(None)
    tlog = TransactionLog(storage, TransactionConfig())
    assert tlog.load() == []
    tlog.write(transit("a", S.ONGOING, [("t", 0), ("u", 1)]), 1000)
    tlog.write(transit("b", S.EMPTY, epoch=3), 1000)
    tlog.write(transit("a", S.PREPARE_COMMIT, [("t", 0), ("u", 1)]), 1001)
    tlog.write(transit("gone", S.EMPTY), 1001)
    tlog.write(transit("gone", S.DEAD), 1002)                     # a tombstone
    info = storage.topic(TRANSACTION_STATE_TOPIC)
    assert (info.num_partitions, info.internal, info.configs["cleanup.policy"]) == (50, True, "compact")
    loaded = {t.transactional_id: t for t in TransactionLog(storage, TransactionConfig()).load()}
    assert sorted(loaded) == ["a", "b"]
    assert loaded["a"] == transit("a", S.PREPARE_COMMIT, [("t", 0), ("u", 1)])
    assert loaded["b"] == transit("b", S.EMPTY, epoch=3)
    plog = storage.partition(TRANSACTION_STATE_TOPIC, partition_for("gone", 50))
    records = [r for b in iter_batches(plog.read(0, 1 << 20).read_bytes()) for r in decode_records(b)]
    assert [r.value is None for r in records if r.key == encode_transaction_log_key("gone")] == [False, True]


def test_the_partition_count_is_a_setting():
    storage = Storage.open(None)
    TransactionLog(storage, TransactionConfig(transaction_state_log_num_partitions=3)).write(
        transit("a", S.EMPTY), 1)
    assert storage.topic(TRANSACTION_STATE_TOPIC).num_partitions == 3


def test_a_coordinator_restarted_on_disk_finds_its_transactions(tmp_path):
    storage = Storage.open(tmp_path / "data")
    h = Harness(storage)
    storage.create_topic("t", 2)
    pid, epoch = h.in_state("Ongoing")
    storage.close()
    again = Harness(Storage.open(tmp_path / "data")).restart()
    meta = again.meta()
    assert (meta.state, meta.producer_id, meta.producer_epoch, meta.partitions) == (S.ONGOING, pid, epoch,
                                                                                   frozenset({("t", 0)}))
