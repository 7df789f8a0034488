"""``kbroker`` / ``python -m broker``: parse flags, set up logging, run the broker."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from broker.config import BrokerConfig, apply_properties, load_properties_file, parse_properties


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="kbroker", description="A Kafka-compatible broker in one Python process.")
    p.add_argument("--config", metavar="FILE", help="a Kafka-style server.properties file")
    p.add_argument("--host", help="address to listen on (default 127.0.0.1)")
    p.add_argument("--port", type=int, help="port to listen on (default 9092)")
    p.add_argument("--advertised-host", help="host name given to clients in metadata (default: the listen address)")
    p.add_argument("--advertised-port", type=int, help="port given to clients in metadata (default: the listen port)")
    where = p.add_mutually_exclusive_group()
    where.add_argument("--data-dir", metavar="DIR", help="directory for the log (default ./kbroker-data)")
    where.add_argument("--memory", action="store_true", help="keep the log in memory only")
    p.add_argument("--num-partitions", type=int, help="partitions of auto-created topics (default 1)")
    p.add_argument("--no-auto-create-topics", action="store_true", help="do not create topics on first use")
    p.add_argument("--http-port", type=int, metavar="PORT",
                   help="serve the web console, /metrics and the admin endpoints on this port (default: off)")
    p.add_argument("--http-host", metavar="HOST", help="address of the HTTP port (default 127.0.0.1)")
    p.add_argument("--http-allow-remote", action="store_true",
                   help="allow an HTTP address other than loopback (its endpoints change the broker)")
    p.add_argument("--log-level", help="DEBUG, INFO, WARNING or ERROR (default INFO)")
    p.add_argument("--override", "-o", action="append", default=[], metavar="KEY=VALUE",
                   help="set any server.properties key, e.g. -o group.initial.rebalance.delay.ms=0")
    return p


def config_from_args(argv: list[str] | None = None) -> BrokerConfig:
    args = build_parser().parse_args(argv)
    config = BrokerConfig()
    if args.config:
        apply_properties(config, load_properties_file(args.config))
    if args.override:
        apply_properties(config, parse_properties("\n".join(args.override)))
    if args.host is not None:
        config.host = args.host
    if args.port is not None:
        config.port = args.port
    if args.advertised_host is not None:
        config.advertised_host = args.advertised_host
    if args.advertised_port is not None:
        config.advertised_port = args.advertised_port
    if args.memory:
        config.data_dir = None
    elif args.data_dir is not None:
        config.data_dir = Path(args.data_dir)
    if args.num_partitions is not None:
        config.num_partitions = args.num_partitions
    if args.no_auto_create_topics:
        config.auto_create_topics = False
    if args.http_port is not None:
        config.http_port = args.http_port
    if args.http_host is not None:
        config.http_host = args.http_host
    if args.http_allow_remote:
        config.http_allow_remote = True
    if args.log_level is not None:
        config.log_level = args.log_level
    if config.http_port is not None:
        from broker.web import check_bind

        check_bind(config)
    return config


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        config = config_from_args(argv)
        logging.getLogger().setLevel(config.log_level.upper())
    except (OSError, ValueError) as exc:
        print(f"kbroker: {exc}", file=sys.stderr)
        return 2
    from broker.server import run  # imported late: `kbroker --help` stays instant

    return run(config)

