"""server.properties parsing and the command line's flags, without starting a broker."""

import subprocess
import sys
from pathlib import Path

import pytest

from broker.cli import config_from_args
from broker.config import BrokerConfig, apply_properties, parse_properties
from broker.groups.config import GroupConfig


def test_properties_syntax():
    text = """
# a comment
! another comment
listeners=PLAINTEXT://127.0.0.1:19092
log.dirs : /tmp/a,/tmp/b
num.partitions 3
message.max.bytes=2000\\
000
auto.create.topics.enable = false
"""
    assert parse_properties(text) == {
        "listeners": "PLAINTEXT://127.0.0.1:19092", "log.dirs": "/tmp/a,/tmp/b", "num.partitions": "3",
        "message.max.bytes": "2000000", "auto.create.topics.enable": "false"}


def test_kafka_settings_land_in_the_config():
    config = apply_properties(BrokerConfig(), parse_properties("""
listeners=PLAINTEXT://0.0.0.0:19093,CONTROLLER://:19094
advertised.listeners=PLAINTEXT://broker.example:29093
log.dirs=/var/kbroker-a,/var/kbroker-b
node.id=7
num.partitions=4
auto.create.topics.enable=false
log.segment.bytes=1048576
log.roll.hours=2
message.max.bytes=500000
socket.request.max.bytes=65536
group.initial.rebalance.delay.ms=0
group.max.size=10
offsets.retention.minutes=60
offset.metadata.max.bytes=100
"""))
    assert (config.host, config.port) == ("0.0.0.0", 19093)
    assert config.advertised == ("broker.example", 29093)
    assert config.data_dir == Path("/var/kbroker-a")
    assert (config.node_id, config.num_partitions, config.auto_create_topics) == (7, 4, False)
    log = config.log_defaults
    assert (log.segment_bytes, log.segment_ms, log.max_message_bytes) == (1048576, 7200000, 500000)
    assert config.socket_request_max_bytes == 65536
    assert config.groups == GroupConfig(group_initial_rebalance_delay_ms=0, group_max_size=10,
                                        offsets_retention_minutes=60, offset_metadata_max_bytes=100)
    assert BrokerConfig().groups == GroupConfig()   # Kafka's defaults, written once


def test_start_up_does_not_load_the_group_wing():
    """Made after start-up, the group coordinator is not imported before the first answer,
    nor its settings unless one is set."""
    code = ("import sys, broker.cli, broker.server; broker.cli.config_from_args(['-o', 'num.partitions=2']); "
            "print(sorted(m for m in sys.modules if m.startswith('broker.groups')))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"


def test_advertised_defaults_to_a_reachable_listen_address():
    assert BrokerConfig(host="0.0.0.0", port=1234).advertised == ("127.0.0.1", 1234)
    assert BrokerConfig(host="10.1.2.3", port=1234).advertised == ("10.1.2.3", 1234)


def test_unknown_keys_are_warned_about_not_fatal(caplog):
    config = apply_properties(BrokerConfig(), {"some.future.setting": "1", "process.roles": "broker"})
    assert config.extra == {"some.future.setting": "1", "process.roles": "broker"}
    warnings = [r.getMessage() for r in caplog.records]
    assert any("some.future.setting" in w for w in warnings)
    assert not any("process.roles" in w for w in warnings)   # known to mean nothing for one process


def test_bad_values_are_refused_with_the_key():
    with pytest.raises(ValueError, match="num.partitions"):
        apply_properties(BrokerConfig(), {"num.partitions": "many"})
    with pytest.raises(ValueError, match="auto.create.topics.enable"):
        apply_properties(BrokerConfig(), {"auto.create.topics.enable": "yes"})
    with pytest.raises(ValueError, match="log.segment.bytes"):
        apply_properties(BrokerConfig(), {"log.segment.bytes": "big"})
    with pytest.raises(ValueError, match="group.max.size"):
        apply_properties(BrokerConfig(), {"group.max.size": "huge"})


def test_flags_override_the_file(tmp_path):
    props = tmp_path / "server.properties"
    props.write_text("listeners=PLAINTEXT://127.0.0.1:1111\nlog.dirs=/from/file\nnum.partitions=2\n")
    config = config_from_args(["--config", str(props), "--port", "2222", "--data-dir", "/from/flag",
                               "--no-auto-create-topics", "-o", "num.partitions=5", "--advertised-host", "h"])
    assert (config.host, config.port, config.data_dir) == ("127.0.0.1", 2222, Path("/from/flag"))
    assert (config.num_partitions, config.auto_create_topics, config.advertised) == (5, False, ("h", 2222))
    assert config_from_args(["--memory"]).data_dir is None
    assert config_from_args([]).data_dir == Path("kbroker-data")
