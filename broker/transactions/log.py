"""Transactional ids kept in the internal topic ``__transaction_state``, as Kafka keeps them.

Each transit the coordinator makes is one record, a TransactionLogKey (the transactional id)
and a TransactionLogValue (producer id and epoch, timeout, state, partitions, timestamps), in
the partition of the id (Java's ``Utils.abs(transactionalId.hashCode()) %
transaction.state.log.num.partitions``); an id that expires is a tombstone. The topic is
compacted (cleanup.policy=compact), as Kafka makes it: only the last record of each id
matters. At start every partition is replayed once and the last record of each id is loaded.

Cluster mode (a ``placement``): as Kafka's coordinator, the log holds only the ids of the
partitions this broker leads (``placement.owns``) and writes only there. An id's partition is
counted on the cluster's partition count (``placement.partitions``, the count FindCoordinator
and the gate use), not on the local topic, which ends at the last partition this broker has a
replica of.
"""

from __future__ import annotations

import logging
from typing import Protocol

from broker.partitioner import coordinator_partition, java_string_hash  # noqa: F401 - tests import it here
from kproto.coordinator_records import (
    decode_transaction_log_key,
    decode_transaction_log_value,
    encode_transaction_log_key,
    encode_transaction_log_value,
)
from kproto.errors import DecodeError
from storage import Record, Storage, build_batch, decode_records

from .config import TransactionConfig
from .state import TransactionState, Transit

log = logging.getLogger("kbroker.transactions")

TRANSACTION_STATE_TOPIC = "__transaction_state"
READ_CHUNK_BYTES = 16 << 20


def partition_for(transactional_id: str, partitions: int) -> int:
    """Kafka's partitionFor: Utils.abs of the hash (0 for Integer.MIN_VALUE), modulo the count."""
    return coordinator_partition(transactional_id, partitions)


def topic_configs(config: TransactionConfig) -> dict[str, str]:
    """The topic's configs, as Kafka's transactionTopicConfigs enforce them."""
    return {"cleanup.policy": "compact", "compression.type": "uncompressed",
            "segment.bytes": str(config.transaction_state_log_segment_bytes)}


def log_value(transit: Transit) -> dict:
    """A TransactionLogValue; an Empty transaction has null partitions, as Kafka writes it."""
    if transit.state is TransactionState.EMPTY:
        partitions = None
    else:
        by_topic: dict[str, list[int]] = {}
        for topic, partition in sorted(transit.partitions):
            by_topic.setdefault(topic, []).append(partition)
        partitions = [{"topic": t, "partition_ids": p} for t, p in by_topic.items()]
    return {"producer_id": transit.producer_id, "producer_epoch": transit.producer_epoch,
            "transaction_timeout_ms": transit.txn_timeout_ms, "transaction_status": int(transit.state),
            "transaction_partitions": partitions,
            "transaction_last_update_timestamp_ms": transit.txn_last_update_timestamp_ms,
            "transaction_start_timestamp_ms": transit.txn_start_timestamp_ms}


def transit_of(transactional_id: str, value: dict) -> Transit:
    """A decoded TransactionLogValue (version 0 or 1) as the coordinator loads it. ValueError
    for a state id Kafka does not know."""
    state = TransactionState(value["transaction_status"])
    partitions = frozenset() if state is TransactionState.EMPTY else frozenset(
        (p["topic"], index) for p in value["transaction_partitions"] or () for index in p["partition_ids"])
    return Transit(
        transactional_id=transactional_id, producer_id=value["producer_id"],
        previous_producer_id=value["previous_producer_id"], producer_epoch=value["producer_epoch"],
        last_producer_epoch=-1, txn_timeout_ms=value["transaction_timeout_ms"], state=state, partitions=partitions,
        txn_start_timestamp_ms=value["transaction_start_timestamp_ms"],
        txn_last_update_timestamp_ms=value["transaction_last_update_timestamp_ms"])


class NotLeadingState(Exception):
    """Cluster mode: this broker does not lead the id's partition of ``__transaction_state``
    (any more), so it may not write there."""


class TransactionLogPlacement(Protocol):
    """Cluster mode's view of ``__transaction_state`` (broker.cluster.transactions.TransactionPlacement)."""

    @property
    def partitions(self) -> int:
        """The topic's partition count in the cluster."""

    def owns(self, partition: int) -> bool:
        """Is the partition led here: are its ids coordinated, and written, by this broker?"""


class TransactionLog:
    def __init__(self, storage: Storage, config: TransactionConfig,
                 placement: TransactionLogPlacement | None = None):
        """placement: cluster mode's (see the module's docstring); None: one broker, which owns
        every partition and makes the topic on first use."""
        self._storage = storage
        self._config = config
        self._placement = placement

    def write(self, transit: Transit, now_ms: int) -> None:
        """Append the transit's record (a tombstone for Dead): durable before it takes effect."""
        value = None if transit.state is TransactionState.DEAD else encode_transaction_log_value(log_value(transit))
        record = Record(timestamp=now_ms, key=encode_transaction_log_key(transit.transactional_id), value=value)
        partition = partition_for(transit.transactional_id, self._partition_count())
        if not self._owns(partition):
            raise NotLeadingState(f"{TRANSACTION_STATE_TOPIC}-{partition} is not led by this broker")
        self._storage.partition(TRANSACTION_STATE_TOPIC, partition).append(build_batch([record]), now_ms)

    def _partition_count(self) -> int:
        """The count ids are placed on: the cluster's (cluster mode, where the controller makes
        the topic), or the local topic's, made on first use."""
        if self._placement is not None:
            return self._placement.partitions
        info = self._storage.topic(TRANSACTION_STATE_TOPIC)
        if info is None:
            info = self._storage.create_topic(TRANSACTION_STATE_TOPIC, self._config.transaction_state_log_num_partitions,
                                              topic_configs(self._config), internal=True)
        return info.num_partitions

    def _owns(self, partition: int) -> bool:
        """Are the ids of this partition loaded, and written, here?"""
        return self._placement is None or self._placement.owns(partition)

    def load(self) -> list[Transit]:
        """The last record of every id that has not expired, from every partition."""
        info = self._storage.topic(TRANSACTION_STATE_TOPIC)
        if info is None:
            return []
        last: dict[str, bytes | None] = {}
        for partition in range(info.num_partitions):
            if not self._owns(partition):
                continue   # cluster mode: another broker coordinates that partition's ids
            plog = self._storage.partition(TRANSACTION_STATE_TOPIC, partition)
            for batch, header, start in plog.batches_from_start(READ_CHUNK_BYTES):
                if not header.is_control:
                    for record in decode_records(batch):
                        if record.offset >= start:
                            self._replay(record, last)
        loaded = []
        for transactional_id, value in last.items():
            if value is None:
                continue
            try:
                transit = transit_of(transactional_id, decode_transaction_log_value(value))
            except (DecodeError, ValueError) as exc:
                log.warning("skipping the unreadable state of transactional id %s: %s", transactional_id, exc)
                continue
            if transit.state not in (TransactionState.DEAD, TransactionState.PREPARE_EPOCH_FENCE):
                loaded.append(transit)
        log.info("loaded %d transactional ids from %s", len(loaded), TRANSACTION_STATE_TOPIC)
        return loaded

    @staticmethod
    def _replay(record: Record, last: dict[str, bytes | None]) -> None:
        if record.key is None:
            return
        try:
            transactional_id = decode_transaction_log_key(record.key)
        except DecodeError as exc:
            log.warning("skipping a record with an unreadable key at offset %d of %s: %s", record.offset,
                        TRANSACTION_STATE_TOPIC, exc)
            return
        last.pop(transactional_id, None)   # the newest record last, as in the log
        last[transactional_id] = record.value
