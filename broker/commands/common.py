"""What every command shares: the connection options, output as tables or JSON, one-line errors."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from typing import Callable

from broker.commands.client import CommandError, KafkaClient


def parser(prog: str, description: str) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog=f"kbroker {prog}", description=description)
    return p


def add_common(p: argparse.ArgumentParser) -> None:
    """The options every command (and sub-command) takes."""
    p.add_argument("--bootstrap-server", "-b", default="127.0.0.1:9092", metavar="HOST:PORT[,...]",
                   help="brokers to start from (default 127.0.0.1:9092)")
    p.add_argument("--json", action="store_true", help="print JSON (for scripts) instead of tables")
    p.add_argument("--request-timeout-ms", type=int, default=30_000, help="per request (default 30000)")
    p.add_argument("--client-id", default="kbroker-cli")
    p.add_argument("--log-level", default="WARNING", help="DEBUG shows every request and the traceback of an error")


def connect(args: argparse.Namespace) -> KafkaClient:
    return KafkaClient(args.bootstrap_server, client_id=args.client_id, timeout_s=args.request_timeout_ms / 1000)


def run(p: argparse.ArgumentParser, argv: list[str], commands: Callable) -> int:
    """Parse ``argv`` and call ``commands(args)``; a CommandError (or any failure) is one line on
    stderr and exit code 1, with the traceback only under --log-level DEBUG."""
    args = p.parse_args(argv)
    level = getattr(logging, str(args.log_level).upper(), None)
    if not isinstance(level, int):
        p.error(f"unknown log level {args.log_level!r}")
    logging.basicConfig(level=level, stream=sys.stderr, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        return commands(args) or 0
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return 0
    except Exception as exc:
        if level <= logging.DEBUG:
            logging.getLogger("kbroker.cli").exception("failed")
        message = str(exc) if isinstance(exc, CommandError) else f"{type(exc).__name__}: {exc}"
        print(f"kbroker {p.prog.split()[-1]}: error: {message}", file=sys.stderr)
        return 1


def table(headers: list[str], rows: list[list]) -> str:
    """Columns aligned on the widest cell, as Kafka's tools print them."""
    cells = [[str("-" if v is None else v) for v in row] for row in rows]
    widths = [max([len(h)] + [len(r[i]) for r in cells]) for i, h in enumerate(headers)]
    lines = ["  ".join(h.ljust(w) for h, w in zip(headers, widths)).rstrip()]
    lines += ["  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip() for row in cells]
    return "\n".join(lines)


def emit(args: argparse.Namespace, data, headers: list[str] | None = None, rows: list[list] | None = None,
         text: str | None = None) -> None:
    """Print ``data`` as JSON with --json; else the table (or text)."""
    if args.json:
        print(json.dumps(data, indent=None if isinstance(data, list) and len(data) > 20 else 2))
    elif text is not None:
        print(text)
    elif headers is not None:
        print(table(headers, rows or []))


def key_values(items: list[str], what: str) -> dict[str, str]:
    """``["a=1", "b=2"]`` as a dict; CommandError for an item without ``=``."""
    result = {}
    for item in items or []:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise CommandError(f"bad {what} {item!r}: expected KEY=VALUE")
        result[key] = value
    return result
