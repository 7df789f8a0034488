"""Settings of the transaction coordinator: Kafka's broker keys, one definition.

``TransactionConfig`` is the only place their defaults are written; field names are Kafka's
keys in snake_case. ``BrokerConfig`` keeps the transaction keys a server.properties sets as
text and reads them here when the coordinator is made.
"""

from __future__ import annotations

from dataclasses import dataclass, fields


@dataclass(frozen=True)
class TransactionConfig:
    transaction_max_timeout_ms: int = 900000
    transactional_id_expiration_ms: int = 604800000
    transaction_abort_timed_out_transaction_cleanup_interval_ms: int = 10000
    transaction_remove_expired_transaction_cleanup_interval_ms: int = 3600000
    transaction_state_log_num_partitions: int = 50
    transaction_state_log_segment_bytes: int = 104857600
    transaction_partition_verification_enable: bool = True

    @classmethod
    def from_broker_properties(cls, props: dict[str, str]) -> TransactionConfig:
        """Kafka's defaults with the transaction keys of ``props`` set (other keys are not
        ours); ValueError for a value that is not an integer (or a boolean) at least 1."""
        values = {}
        for key, value in props.items():
            name = PROPERTIES.get(key)
            if name is None:
                continue
            text = value.strip()
            if name == "transaction_partition_verification_enable":
                if text.lower() not in ("true", "false"):
                    raise ValueError(f"{key} must be true or false, not {value!r}")
                values[name] = text.lower() == "true"
                continue
            number = int(text)
            if number < 1:
                raise ValueError(f"{key} must be at least 1, not {number}")
            values[name] = number
        return cls(**values)


# Kafka's broker key -> TransactionConfig field
PROPERTIES = {f.name.replace("_", "."): f.name for f in fields(TransactionConfig)}
