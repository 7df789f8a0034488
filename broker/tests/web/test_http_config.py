"""The HTTP port's settings: off by default, on by flag or by ``http.listeners``, on loopback unless
remote access is allowed explicitly; described by DescribeConfigs like any broker key."""

from __future__ import annotations

import pytest

from broker import config_catalog as catalog
from broker.cli import config_from_args
from broker.config import BrokerConfig, apply_properties
from broker.web import RemoteBindRefused, is_loopback


def test_off_by_default_and_on_by_flag_or_property():
    assert config_from_args([]).http_port is None
    config = config_from_args(["--http-port", "8080"])
    assert (config.http_host, config.http_port) == ("127.0.0.1", 8080)
    config = apply_properties(BrokerConfig(), {"http.listeners": "HTTP://localhost:9000"})
    assert (config.http_host, config.http_port) == ("localhost", 9000)
    config = apply_properties(BrokerConfig(), {"http.listeners": "[::1]:9001"})
    assert (config.http_host, config.http_port) == ("::1", 9001)
    for bad in ("HTTPS://127.0.0.1:1", "HTTP://a:1,HTTP://b:2", "HTTP://a:port", "HTTP://a:70000"):
        with pytest.raises(ValueError, match="http.listeners"):
            apply_properties(BrokerConfig(), {"http.listeners": bad})


@pytest.mark.parametrize("argv", [
    ["--http-port", "8080", "--http-host", "0.0.0.0"],
    ["--http-port", "8080", "--http-host", "192.0.2.10"],
    ["-o", "http.listeners=HTTP://:8080"],
])
def test_an_address_beyond_loopback_needs_the_explicit_flag(argv):
    with pytest.raises(RemoteBindRefused, match="http.allow.remote"):
        config_from_args(argv)
    assert config_from_args(argv + ["--http-allow-remote"]).http_allow_remote
    assert config_from_args(argv + ["-o", "http.allow.remote=true"]).http_allow_remote


def test_loopback_names():
    assert all(map(is_loopback, ["127.0.0.1", "127.8.0.1", "localhost", "::1", "[::1]"]))
    assert not any(map(is_loopback, ["0.0.0.0", "", "192.0.2.1", "::", "example.com"]))


def test_the_keys_are_in_the_catalogue():
    config = config_from_args(["--http-port", "8080", "-o", "telemetry.push.interval.ms=1000"])
    keys = catalog.BROKER_CONFIGS
    assert keys["http.listeners"].value_of(config) == "HTTP://127.0.0.1:8080"
    assert keys["http.listeners"].value_of(BrokerConfig()) is None
    assert keys["telemetry.push.interval.ms"].value_of(config) == "1000"
    assert keys["telemetry.max.bytes"].value_of(config) == "1048576"
    assert keys["http.allow.remote"].value_of(config) == "false"
