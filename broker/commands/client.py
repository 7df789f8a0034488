"""A small blocking Kafka client on kproto: one socket per broker, versions agreed per API.

Enough for the command line: metadata (brokers, partition leaders), requests routed to
a partition's leader, a group's coordinator or any broker, each sent at the highest version
both sides know (capped where the commands build older bodies, see MAX_VERSIONS).
"""

from __future__ import annotations

import logging
import socket

from kproto.api_keys import ApiKey
from kproto.codec import decode_response, encode_request
from kproto.errors import ErrorCode
from kproto.messages import API_VERSIONS, FIND_COORDINATOR, METADATA
from kproto.schema import Message

log = logging.getLogger("kbroker.cli")

# The newest version of each API the commands build bodies for (older ones are spoken too).
MAX_VERSIONS = {
    ApiKey.METADATA: 12, ApiKey.FETCH: 12, ApiKey.PRODUCE: 11, ApiKey.LIST_OFFSETS: 8,
    ApiKey.FIND_COORDINATOR: 3, ApiKey.OFFSET_FETCH: 7, ApiKey.OFFSET_COMMIT: 8, ApiKey.DELETE_TOPICS: 5,
    ApiKey.JOIN_GROUP: 9, ApiKey.SYNC_GROUP: 5, ApiKey.HEARTBEAT: 4, ApiKey.LEAVE_GROUP: 5,
    ApiKey.DESCRIBE_GROUPS: 5, ApiKey.LIST_GROUPS: 5, ApiKey.DELETE_GROUPS: 2, ApiKey.CREATE_TOPICS: 7,
    ApiKey.DESCRIBE_CONFIGS: 4, ApiKey.INCREMENTAL_ALTER_CONFIGS: 1, ApiKey.CREATE_PARTITIONS: 3,
    ApiKey.CONSUMER_GROUP_DESCRIBE: 0,
}


class CommandError(Exception):
    """What went wrong, in one line for the user."""


def kafka_error(code: int, what: str, message: str | None = None) -> CommandError:
    name = ErrorCode(code).name if code in ErrorCode._value2member_map_ else f"error {code}"
    return CommandError(f"{what}: {message or name}" + (f" ({name})" if message else ""))


class Connection:
    """One broker's socket, with the API versions it serves."""

    def __init__(self, host: str, port: int, client_id: str, timeout_s: float):
        try:
            self.sock = socket.create_connection((host, port), timeout=timeout_s)
        except OSError as exc:
            raise CommandError(f"cannot connect to {host}:{port}: {exc.strerror or exc}") from None
        self.address = f"{host}:{port}"
        self.client_id = client_id
        self.correlation_id = 0
        self.versions: dict[int, tuple[int, int]] = {}
        response = self.send(API_VERSIONS, 3, {"client_software_name": "kbroker-cli",
                                                "client_software_version": "1"})
        if response["error_code"] == ErrorCode.UNSUPPORTED_VERSION:
            response = self.send(API_VERSIONS, 0, {})
        if response["error_code"]:
            raise kafka_error(response["error_code"], f"ApiVersions to {self.address}")
        self.versions = {k["api_key"]: (k["min_version"], k["max_version"]) for k in response["api_keys"]}

    def version(self, message: Message) -> int:
        served = self.versions.get(message.api_key)
        if served is None:
            raise CommandError(f"{self.address} does not serve {message.name}")
        ours = min(MAX_VERSIONS.get(message.api_key, message.versions.high), message.versions.high)
        version = min(ours, served[1])
        if version < served[0] or version not in message.versions:
            raise CommandError(f"{self.address} serves {message.name} v{served[0]}-{served[1]}, "
                               f"which this tool does not speak")
        return version

    def send(self, message: Message, version: int, body: dict, *, expect_response: bool = True) -> dict | None:
        self.correlation_id += 1
        log.debug("-> %s %s v%d %s", self.address, message.name, version, body)
        try:
            self.sock.sendall(encode_request(message, version, self.correlation_id, body, self.client_id))
            if not expect_response:    # a produce with acks=0
                return None
            size = int.from_bytes(self._read(4), "big")
            frame = self._read(size)
        except socket.timeout:
            raise CommandError(f"{message.name} to {self.address} timed out") from None
        except OSError as exc:
            raise CommandError(f"{message.name} to {self.address} failed: {exc.strerror or exc}") from None
        correlation_id, response = decode_response(frame, message, version)
        if correlation_id != self.correlation_id:
            raise CommandError(f"{self.address} answered out of order")
        log.debug("<- %s %s v%d %s", self.address, message.name, version, response)
        return response

    def _read(self, n: int) -> bytes:
        chunks = []
        while n:
            chunk = self.sock.recv(min(n, 1 << 20))
            if not chunk:
                raise CommandError(f"{self.address} closed the connection")
            chunks.append(chunk)
            n -= len(chunk)
        return b"".join(chunks)

    def close(self) -> None:
        self.sock.close()


class KafkaClient:
    """Connections to a cluster's brokers, opened as needed, found through the bootstrap servers."""

    def __init__(self, bootstrap_servers: str, *, client_id: str = "kbroker-cli", timeout_s: float = 30.0):
        self.bootstrap = [_host_port(item) for item in bootstrap_servers.split(",") if item.strip()]
        if not self.bootstrap:
            raise CommandError("no bootstrap server given")
        self.client_id = client_id
        self.timeout_s = timeout_s
        self.brokers: dict[int, tuple[str, int]] = {}
        self.controller_id = -1
        self._connections: dict[tuple[str, int], Connection] = {}

    def close(self) -> None:
        for connection in self._connections.values():
            connection.close()
        self._connections.clear()

    def __enter__(self) -> "KafkaClient":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # -- connections ------------------------------------------------------------------

    def any(self) -> Connection:
        """A connection to some broker (the first bootstrap server that answers)."""
        if self._connections:
            return next(iter(self._connections.values()))
        error = None
        for address in self.bootstrap:
            try:
                self._connections[address] = Connection(*address, self.client_id, self.timeout_s)
                return self._connections[address]
            except CommandError as exc:
                error = exc
        raise error

    def node(self, node_id: int) -> Connection:
        """The connection to broker ``node_id``, as metadata advertises it."""
        if node_id not in self.brokers:
            self.metadata([])
        address = self.brokers.get(node_id)
        if address is None:
            raise CommandError(f"no broker {node_id} in the cluster's metadata")
        connection = self._connections.get(address)
        if connection is None:
            connection = self._connections[address] = Connection(*address, self.client_id, self.timeout_s)
        return connection

    def request(self, message: Message, body_for, connection: Connection | None = None) -> tuple[int, dict]:
        """Send ``body_for(version)`` (or a dict) at the version agreed; returns (version, response)."""
        connection = connection or self.any()
        version = connection.version(message)
        body = body_for(version) if callable(body_for) else body_for
        return version, connection.send(message, version, body)

    # -- metadata --------------------------------------------------------------------

    def metadata(self, topics: list[str] | None = None, *, auto_create: bool = False) -> dict:
        """Metadata of ``topics`` (None: all); learns the brokers and the controller."""
        def body(version: int) -> dict:
            return {"topics": None if topics is None else [{"name": t, "topic_id": bytes(16)} for t in topics],
                    "allow_auto_topic_creation": auto_create, "include_topic_authorized_operations": False,
                    "include_cluster_authorized_operations": False}
        _, response = self.request(METADATA, body)
        self.brokers = {b["node_id"]: (b["host"], b["port"]) for b in response["brokers"]}
        self.controller_id = response.get("controller_id", -1)
        return response

    def topic(self, name: str) -> dict:
        """One topic's metadata entry; CommandError if it does not exist."""
        [entry] = self.metadata([name])["topics"]
        if entry["error_code"]:
            raise kafka_error(entry["error_code"], f"topic {name!r}")
        return entry

    def leaders(self, name: str) -> dict[int, int]:
        """Partition -> leader node id."""
        return {p["partition_index"]: p["leader_id"] for p in self.topic(name)["partitions"]}

    def coordinator(self, group: str) -> Connection:
        """The connection to ``group``'s coordinator."""
        for _ in range(20):
            _, response = self.request(FIND_COORDINATOR, {"key": group, "key_type": 0, "coordinator_keys": [group]})
            code = response["error_code"]
            if code in (ErrorCode.COORDINATOR_NOT_AVAILABLE, ErrorCode.COORDINATOR_LOAD_IN_PROGRESS):
                import time

                time.sleep(0.1)
                continue
            if code:
                raise kafka_error(code, f"finding the coordinator of group {group!r}", response.get("error_message"))
            self.brokers.setdefault(response["node_id"], (response["host"], response["port"]))
            return self.node(response["node_id"])
        raise CommandError(f"no coordinator for group {group!r}")


def _host_port(text: str) -> tuple[str, int]:
    host, sep, port = text.strip().rpartition(":")
    if not sep or not port.isdigit():
        raise CommandError(f"bad bootstrap server {text.strip()!r}: expected HOST:PORT")
    return host.strip("[]") or "127.0.0.1", int(port)
