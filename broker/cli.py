"""``kbroker`` / ``python -m broker``: run the broker, or one of the client commands.

``kbroker [FLAGS]`` serves. ``kbroker COMMAND ...`` runs a command against any Kafka
cluster (``--bootstrap-server``): each is a module of broker/commands/, found in COMMANDS
and imported only when named, so ``kbroker`` starts as fast as before.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
from pathlib import Path

from broker.config import BrokerConfig, apply_properties, load_properties_file, parse_properties


# command name -> the module whose main(argv) -> exit code runs it
COMMANDS = {
    "topics": "broker.commands.topics",
    "produce": "broker.commands.produce",
    "consume": "broker.commands.consume",
    "groups": "broker.commands.groups",
    "offsets": "broker.commands.offsets",
    "cluster": "broker.cluster.launcher",
}

EPILOG = """commands (each with its own --help):
  kbroker topics list|create|describe|delete|alter-config   manage topics
  kbroker produce TOPIC                                      send lines of stdin as records
  kbroker consume TOPIC                                      print records
  kbroker groups list|describe|delete|reset-offsets          consumer groups and their lag
  kbroker offsets TOPIC                                      earliest and latest offset per partition
  kbroker cluster --brokers 3 --data-dir DIR                 ZooKeeper and a local cluster, for development
"""


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="kbroker", description="A Kafka-compatible broker in one Python process.",
                                epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--config", metavar="FILE", help="a Kafka-style server.properties file")
    p.add_argument("--host", help="address to listen on (default 127.0.0.1)")
    p.add_argument("--port", type=int, help="port to listen on (default 9092)")
    p.add_argument("--advertised-host", help="host name given to clients in metadata (default: the listen address)")
    p.add_argument("--advertised-port", type=int, help="port given to clients in metadata (default: the listen port)")
    where = p.add_mutually_exclusive_group()
    where.add_argument("--data-dir", metavar="DIR", help="directory for the log (default ./kbroker-data)")
    where.add_argument("--memory", action="store_true", help="keep the log in memory only")
    p.add_argument("--num-partitions", type=int, help="partitions of auto-created topics (default 1)")
    p.add_argument("--node-id", type=int, help="this broker's id (broker.id; default 1)")
    p.add_argument("--zookeeper", metavar="HOST:PORT[,HOST:PORT][/CHROOT]",
                   help="join a cluster coordinated by this ZooKeeper (zookeeper.connect)")
    p.add_argument("--rack", help="this broker's rack (broker.rack), for rack-aware replica placement")
    p.add_argument("--no-auto-create-topics", action="store_true", help="do not create topics on first use")
    p.add_argument("--http-port", type=int, metavar="PORT",
                   help="serve the web console, /metrics and the admin endpoints on this port (default: off)")
    p.add_argument("--http-host", metavar="HOST", help="address of the HTTP port (default 127.0.0.1)")
    p.add_argument("--http-allow-remote", action="store_true",
                   help="allow an HTTP address other than loopback (its endpoints change the broker)")
    p.add_argument("--log-level", help="DEBUG, INFO, WARNING or ERROR (default INFO)")
    p.add_argument("--tls-cert", metavar="FILE", help="PEM certificate chain for TLS listeners (without "
                   "`listeners`, the listener becomes SSL, or SASL_SSL with --sasl-users)")
    p.add_argument("--tls-key", metavar="FILE", help="PEM private key of --tls-cert")
    p.add_argument("--sasl-users", metavar="FILE", help="users for SASL PLAIN and SCRAM, one name:password a line "
                   "(without `listeners`, the listener becomes SASL_PLAINTEXT, or SASL_SSL with --tls-cert)")
    p.add_argument("--acl", action="store_true", help="turn the authorizer on (as authorizer.class.name does)")
    p.add_argument("--override", "-o", action="append", default=[], metavar="KEY=VALUE",
                   help="set any server.properties key, e.g. -o group.initial.rebalance.delay.ms=0")
    p.add_argument("--ready-file", metavar="FILE",
                   help="once serving, write the bound HOST:PORT to FILE (for scripts that start kbroker "
                        "in the background, e.g. with --port 0); removed at exit")
    p.add_argument("--control", metavar="SOCKET", help=argparse.SUPPRESS)   # broker.testing's Unix socket
    return p


def config_from_args(argv: list[str] | None = None) -> BrokerConfig:
    return _config(build_parser().parse_args(argv))


def _config(args: argparse.Namespace) -> BrokerConfig:
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
    if args.node_id is not None:
        config.node_id = args.node_id
    if args.zookeeper is not None:
        apply_properties(config, {"zookeeper.connect": args.zookeeper})
    if args.rack is not None:
        apply_properties(config, {"broker.rack": args.rack})
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
    _security_flags(config, args)
    if config.http_port is not None:
        from broker.web import check_bind

        check_bind(config)
    return config


def _security_flags(config: BrokerConfig, args) -> None:
    """--tls-cert, --tls-key, --sasl-users and --acl; the shortcut listener; every security key checked now."""
    if args.tls_key and not args.tls_cert:
        raise ValueError("--tls-key needs --tls-cert")
    if args.tls_cert:
        config.tls_cert_file, config.tls_key_file = Path(args.tls_cert), Path(args.tls_key or args.tls_cert)
    if args.sasl_users:
        config.sasl_users_file = Path(args.sasl_users)
    if args.acl:
        config.security_properties.setdefault("authorizer.class.name",
                                              "org.apache.kafka.metadata.authorizer.StandardAuthorizer")
    if "listeners" not in config.listener_properties and config.listener_protocol == "PLAINTEXT" \
            and (args.tls_cert or args.sasl_users):
        protocol = {(True, True): "SASL_SSL", (True, False): "SSL", (False, True): "SASL_PLAINTEXT"}[
            bool(args.tls_cert), bool(args.sasl_users)]
        config.listener_name = config.listener_protocol = protocol
    from broker.security.settings import SecuritySettings
    SecuritySettings(config)   # a bad value, an unreadable users file: refused before start


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv and argv[0] in COMMANDS:
        return importlib.import_module(COMMANDS[argv[0]]).main(argv[1:])
    logging.basicConfig(level=logging.INFO, stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        args = build_parser().parse_args(argv)
        config = _config(args)
        logging.getLogger().setLevel(config.log_level.upper())
    except (OSError, ValueError) as exc:
        print(f"kbroker: {exc}", file=sys.stderr)
        return 2
    from broker.server import run  # imported late: `kbroker --help` stays instant

    return run(config, ready_file=args.ready_file, control_path=args.control)
