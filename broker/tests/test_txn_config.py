"""The transaction coordinator's settings: Kafka's keys in server.properties or -o, and their defaults."""

import subprocess
import sys

import pytest

from broker.config import BrokerConfig, apply_properties, parse_properties
from broker.transactions.config import TransactionConfig


def test_kafkas_defaults_written_once():
    assert BrokerConfig().transactions == TransactionConfig() == TransactionConfig(
        transaction_max_timeout_ms=900000, transactional_id_expiration_ms=604800000,
        transaction_abort_timed_out_transaction_cleanup_interval_ms=10000,
        transaction_remove_expired_transaction_cleanup_interval_ms=3600000,
        transaction_state_log_num_partitions=50, transaction_state_log_segment_bytes=104857600,
        transaction_partition_verification_enable=True)


def test_transaction_keys_land_in_the_config():
    config = apply_properties(BrokerConfig(), parse_properties("""
transaction.max.timeout.ms=60000
transactional.id.expiration.ms=3600000
transaction.abort.timed.out.transaction.cleanup.interval.ms=500
transaction.remove.expired.transaction.cleanup.interval.ms=1000
transaction.state.log.num.partitions=5
transaction.partition.verification.enable=false
transaction.state.log.replication.factor=3
"""))
    assert config.transactions == TransactionConfig(
        transaction_max_timeout_ms=60000, transactional_id_expiration_ms=3600000,
        transaction_abort_timed_out_transaction_cleanup_interval_ms=500,
        transaction_remove_expired_transaction_cleanup_interval_ms=1000, transaction_state_log_num_partitions=5,
        transaction_partition_verification_enable=False)
    assert config.extra == {}
    # cluster mode's key (the internal topic's replication factor): one broker keeps it, unused
    assert config.cluster_properties == {"transaction.state.log.replication.factor": "3"}


@pytest.mark.parametrize("line", ["transaction.max.timeout.ms=soon", "transaction.state.log.num.partitions=0",
                                  "transaction.partition.verification.enable=maybe"])
def test_bad_values_are_refused_with_the_key(line):
    key = line.split("=")[0]
    with pytest.raises(ValueError, match=key):
        apply_properties(BrokerConfig(), parse_properties(line))


def test_start_up_does_not_load_the_transaction_coordinator():
    code = ("import sys, broker.cli, broker.server; broker.cli.config_from_args(['-o', 'num.partitions=2']); "
            "print(sorted(m for m in sys.modules if m.startswith('broker.transactions')))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"
