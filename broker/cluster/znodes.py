"""Kafka's ZooKeeper layout: the paths and the JSON of each znode, as Kafka 3.x writes them
(``kafka.zk.ZkData``). Pure: text in, values out; the ZooKeeper client is elsewhere.

| znode | data |
|---|---|
| ``/cluster/id`` | ``{"version":"1","id":"<cluster id>"}`` |
| ``/controller`` (ephemeral) | ``{"version":1,"brokerid":N,"timestamp":"<ms>"}`` |
| ``/controller_epoch`` | the epoch, as text |
| ``/brokers/ids/N`` (ephemeral) | host, port, endpoints, listener map, rack, version 5 |
| ``/brokers/topics/T`` | ``{"version":3,"partitions":{"0":[1,2]},"topic_id":..}`` and replicas being moved |
| ``/brokers/topics/T/partitions/P/state`` | ``{"version":1,"leader":N,"leader_epoch":E,"isr":[..],..}`` |
| ``/config/topics/T`` | ``{"version":1,"config":{..}}`` |
| ``/config/users/U``, ``/config/users/U/clients/C`` | ``{"version":1,"config":{..}}``: quotas, SCRAM credentials |
| ``/config/clients/C``, ``/config/ips/I`` | the same: quotas (``<default>`` names a default) |
| ``/config/changes/config_change_<seq>`` | ``{"version":2,"entity_path":"topics/T"}`` (or ``users/U/clients/C``..) |
| ``/admin/delete_topics/T`` | empty: the topic is to be deleted |
| ``/latest_producer_id_block`` | ``{"version":1,"broker":N,"block_start":"0","block_end":"999"}`` |
| ``/kafka-acl/<Type>/<name>`` | ``{"version":1,"acls":[{"principal":..,"permissionType":"Allow",..}]}`` (LITERAL) |
| ``/kafka-acl-extended/prefixed/<Type>/<name>`` | the same (PREFIXED) |
| ``/kafka-acl-changes/acl_changes_<seq>`` | ``Type:name``: a LITERAL resource's ACLs changed |
| ``/kafka-acl-extended-changes/acl_changes_<seq>`` | ``{"version":1,"resourceType":..,"name":..,"patternType":..}`` |
"""

from __future__ import annotations

import base64
import json
import math
import time
import urllib.parse
import uuid
from dataclasses import dataclass, field
from decimal import Decimal

from kproto.constants import AclOperation, AclPermissionType, PatternType, ResourceType
from storage.topics import kafka_uuid_string, parse_kafka_uuid

CLUSTER_ID = "/cluster/id"
CONTROLLER = "/controller"
CONTROLLER_EPOCH = "/controller_epoch"
BROKER_IDS = "/brokers/ids"
TOPICS = "/brokers/topics"
CONFIG = "/config"
CONFIG_TOPICS = "/config/topics"
CONFIG_CHANGES = "/config/changes"
CONFIG_CHANGE_PREFIX = "config_change_"
USERS, CLIENTS, IPS = "users", "clients", "ips"   # Kafka's ConfigType of quota entities (under /config)
DEFAULT_ENTITY = "<default>"                        # Kafka's ConfigEntityName.Default
NOTIFICATION_EXPIRY_MS = 15 * 60 * 1000             # Kafka deletes change notifications older than this
DELETE_TOPICS = "/admin/delete_topics"
PRODUCER_ID_BLOCK = "/latest_producer_id_block"
ACLS = "/kafka-acl"                                    # LITERAL resources (Kafka's AclAuthorizer)
PREFIXED_ACLS = "/kafka-acl-extended/prefixed"        # PREFIXED resources
ACL_CHANGES = "/kafka-acl-changes"
EXTENDED_ACL_CHANGES = "/kafka-acl-extended-changes"
ACL_CHANGE_PREFIX = "acl_changes_"
# what every broker makes sure exists at start (persistent), as Kafka's KafkaZkClient does
PERSISTENT_PATHS = ("/brokers/ids", "/brokers/topics", "/brokers/seqid", "/config/topics", "/config/changes",
                    "/config/brokers", "/config/users", "/config/clients", "/config/ips",
                    "/admin/delete_topics", "/isr_change_notification", "/latest_producer_id_block",
                    ACLS, PREFIXED_ACLS, ACL_CHANGES, EXTENDED_ACL_CHANGES)

NO_LEADER = -1
LEADER_DURING_DELETE = -2   # Kafka's leader id in UpdateMetadata for a topic being deleted


def broker_path(broker_id: int) -> str:
    return f"{BROKER_IDS}/{broker_id}"


def topic_path(topic: str) -> str:
    return f"{TOPICS}/{topic}"


def partitions_path(topic: str) -> str:
    return f"{TOPICS}/{topic}/partitions"


def partition_path(topic: str, partition: int) -> str:
    return f"{TOPICS}/{topic}/partitions/{partition}"


def partition_state_path(topic: str, partition: int) -> str:
    return f"{TOPICS}/{topic}/partitions/{partition}/state"


def topic_config_path(topic: str) -> str:
    return f"{CONFIG_TOPICS}/{topic}"


def delete_topic_path(topic: str) -> str:
    return f"{DELETE_TOPICS}/{topic}"


def _dumps(value) -> bytes:
    return json.dumps(value, separators=(",", ":")).encode()


def _loads(data: bytes) -> dict:
    value = json.loads(data.decode())
    if not isinstance(value, dict):
        raise ValueError("not a JSON object")
    return value


# -- brokers ------------------------------------------------------------------------------

@dataclass(frozen=True)
class BrokerInfo:
    """A broker as its registration znode describes it; ``epoch`` is the znode's czxid."""

    broker_id: int
    host: str           # the inter-broker listener's endpoint: where other brokers connect
    port: int
    rack: str | None = None
    epoch: int = -1
    # every listener, (name, security protocol, advertised host, port): clients are answered with
    # the endpoints of the listener they connected to, as Kafka does per listener name
    listeners: tuple[tuple[str, str, str, int], ...] = ()


def encode_broker(info: BrokerInfo) -> bytes:
    listeners = info.listeners or (("PLAINTEXT", "PLAINTEXT", info.host, info.port),)
    value = {
        "features": {},
        "listener_security_protocol_map": {name: protocol for name, protocol, _, _ in listeners},
        "endpoints": [f"{name}://{_address(host)}:{port}" for name, _, host, port in listeners],
        "jmx_port": -1,
        "port": info.port,
        "host": info.host,
        "version": 5,
        "timestamp": str(int(time.time() * 1000)),
    }
    if info.rack is not None:
        value["rack"] = info.rack
    return _dumps(value)


def _address(host: str) -> str:
    return f"[{host}]" if ":" in host else host


def decode_broker(broker_id: int, data: bytes, epoch: int = -1) -> BrokerInfo:
    """The top-level host and port are the inter-broker endpoint (kbroker writes them so); a
    registration without them gives its PLAINTEXT endpoint, or its first."""
    value = _loads(data)
    protocols = value.get("listener_security_protocol_map") or {}
    listeners = []
    for endpoint in value.get("endpoints", []):
        name, _, address = endpoint.partition("://")
        host, _, port_text = address.rpartition(":")
        listeners.append((name.upper(), protocols.get(name, name.upper()), host.strip("[]"), int(port_text)))
    host, port = value.get("host"), int(value.get("port", -1))
    if not host or port < 0:
        plaintext = [e for e in listeners if e[0] == "PLAINTEXT"] or listeners
        host, port = (plaintext[0][2], plaintext[0][3]) if plaintext else ("", -1)
    return BrokerInfo(broker_id, host, port, value.get("rack"), epoch, tuple(listeners))


# -- the controller --------------------------------------------------------------------------

def encode_controller(broker_id: int) -> bytes:
    return _dumps({"version": 1, "brokerid": broker_id, "timestamp": str(int(time.time() * 1000))})


def decode_controller(data: bytes) -> int:
    return int(_loads(data)["brokerid"])


def encode_cluster_id(cluster_id: str) -> bytes:
    return _dumps({"version": "1", "id": cluster_id})


def decode_cluster_id(data: bytes) -> str:
    return str(_loads(data)["id"])


# -- topics ------------------------------------------------------------------------------------

@dataclass(frozen=True)
class TopicAssignment:
    """A topic's replicas per partition (the first is the preferred leader), and a
    reassignment's replicas being added and removed (KIP-455)."""

    topic_id: uuid.UUID
    partitions: dict[int, list[int]]
    adding: dict[int, list[int]] = field(default_factory=dict)
    removing: dict[int, list[int]] = field(default_factory=dict)


def encode_topic(assignment: TopicAssignment) -> bytes:
    def by_partition(mapping: dict[int, list[int]]) -> dict[str, list[int]]:
        return {str(p): list(r) for p, r in sorted(mapping.items())}

    return _dumps({"version": 3, "partitions": by_partition(assignment.partitions),
                   "topic_id": kafka_uuid_string(assignment.topic_id),
                   "adding_replicas": by_partition(assignment.adding),
                   "removing_replicas": by_partition(assignment.removing)})


def decode_topic(data: bytes) -> TopicAssignment:
    value = _loads(data)

    def by_partition(key: str) -> dict[int, list[int]]:
        return {int(p): [int(b) for b in r] for p, r in (value.get(key) or {}).items()}

    topic_id = value.get("topic_id")
    return TopicAssignment(parse_kafka_uuid(topic_id) if topic_id else uuid.UUID(int=0),
                           by_partition("partitions"), by_partition("adding_replicas"),
                           by_partition("removing_replicas"))


def encode_entity_config(configs: dict[str, str]) -> bytes:
    """A config znode (a topic's, a user's, a client id's, an IP's): every value a string."""
    return _dumps({"version": 1, "config": {k: str(v) for k, v in sorted(configs.items())}})


def decode_entity_config(data: bytes) -> dict[str, str]:
    """A config znode's keys; an empty znode (a parent made for ``users/U/clients/C``) has none."""
    if not data:
        return {}
    return {str(k): str(v) for k, v in (_loads(data).get("config") or {}).items()}


encode_topic_config, decode_topic_config = encode_entity_config, decode_entity_config


def encode_config_change(entity_path: str) -> bytes:
    return _dumps({"version": 2, "entity_path": entity_path})


def decode_config_change(data: bytes) -> str:
    return str(_loads(data)["entity_path"])


# -- quota entities and SCRAM credentials (Kafka's /config/users, /config/clients, /config/ips) ------------

USER, CLIENT_ID, IP = "user", "client-id", "ip"   # DescribeClientQuotas's entity types


def sanitize(name: str) -> str:
    """Kafka's Sanitizer.sanitize, for a user or client id as a znode name: URL-encoded (UTF-8),
    only letters, digits, ``.``, ``-`` and ``_`` kept, a space as ``%20`` and ``*`` as ``%2A``."""
    return urllib.parse.quote(name, safe="").replace("~", "%7E")


def desanitize(name: str) -> str:
    """Kafka's Sanitizer.desanitize (URL-decoding: ``+`` is a space)."""
    return urllib.parse.unquote_plus(name)


def _entity_part(name: str | None) -> str:
    return DEFAULT_ENTITY if name is None else sanitize(name)


def _entity_name(part: str) -> str | None:
    return None if part == DEFAULT_ENTITY else desanitize(part)


def quota_entity_path(names: dict[str, str | None]) -> str:
    """A quota entity's config path under ``/config`` (a notification's ``entity_path``):
    ``users/U``, ``users/U/clients/C``, ``clients/C`` or ``ips/I``; a None name is ``<default>``."""
    if IP in names:
        return f"{IPS}/{_entity_part(names[IP])}"
    if USER in names:
        path = f"{USERS}/{_entity_part(names[USER])}"
        return f"{path}/{CLIENTS}/{_entity_part(names[CLIENT_ID])}" if CLIENT_ID in names else path
    return f"{CLIENTS}/{_entity_part(names[CLIENT_ID])}"


def quota_entity_of(entity_path: str) -> dict[str, str | None] | None:
    """The quota entity a config path names, None if it names none (``topics/T``)."""
    parts = entity_path.split("/")
    if len(parts) == 2 and parts[1]:
        kind = {USERS: USER, CLIENTS: CLIENT_ID, IPS: IP}.get(parts[0])
        return None if kind is None else {kind: _entity_name(parts[1])}
    if len(parts) == 4 and parts[0] == USERS and parts[2] == CLIENTS and parts[1] and parts[3]:
        return {USER: _entity_name(parts[1]), CLIENT_ID: _entity_name(parts[3])}
    return None


def java_double(value: float) -> str:
    """Java's Double.toString: ``50.0``, ``0.001``; ``1.0E7`` and ``1.0E-4`` outside [1e-3, 1e7)."""
    if math.isinf(value):
        return "Infinity" if value > 0 else "-Infinity"
    if value == 0 or 1e-3 <= abs(value) < 1e7:
        return repr(float(value))
    sign, digits, exponent = Decimal(repr(float(value))).as_tuple()
    text = "".join(map(str, digits)).rstrip("0") or "0"
    return f"{'-' if sign else ''}{text[0]}.{text[1:] or '0'}E{len(digits) - 1 + exponent}"


def quota_text(kind: str, value: float) -> str:
    """A quota's value in its config znode, as ZkAdminManager.alterClientQuotas writes it: a
    whole number for a long or int quota (within Kafka's 1e-6), Java's double otherwise."""
    return java_double(value) if kind == "double" else str(int(value + 1e-6))


def encode_scram_credential(salt: bytes, stored_key: bytes, server_key: bytes, iterations: int) -> str:
    """A user's config value for one SCRAM mechanism (Kafka's ScramCredentialUtils)."""
    b64 = lambda data: base64.b64encode(data).decode()   # noqa: E731
    return f"salt={b64(salt)},stored_key={b64(stored_key)},server_key={b64(server_key)},iterations={iterations}"


def decode_scram_credential(text: str) -> tuple[bytes, bytes, bytes, int]:
    """(salt, stored key, server key, iterations); ValueError unless all four are there."""
    fields = {}
    for token in text.split(","):
        key, sep, value = token.partition("=")
        if not sep or not key:
            raise ValueError("not a SCRAM credential")
        fields[key] = value
    if sorted(fields) != ["iterations", "salt", "server_key", "stored_key"]:
        raise ValueError("not a SCRAM credential")
    return (base64.b64decode(fields["salt"]), base64.b64decode(fields["stored_key"]),
            base64.b64decode(fields["server_key"]), int(fields["iterations"]))


# -- partition state ------------------------------------------------------------------------------

@dataclass(frozen=True)
class LeaderAndIsr:
    """A partition's state znode; ``zk_version`` is the znode's version (Kafka's partition epoch)."""

    leader: int
    leader_epoch: int
    isr: tuple[int, ...]
    controller_epoch: int
    zk_version: int = 0

    def with_leader(self, leader: int, isr: list[int] | tuple[int, ...], controller_epoch: int) -> LeaderAndIsr:
        """A new leadership: the leader epoch goes up."""
        return LeaderAndIsr(leader, self.leader_epoch + 1, tuple(isr), controller_epoch, self.zk_version)

    def with_isr(self, isr: list[int] | tuple[int, ...], controller_epoch: int) -> LeaderAndIsr:
        """The same leader and epoch with another ISR (AlterPartition)."""
        return LeaderAndIsr(self.leader, self.leader_epoch, tuple(isr), controller_epoch, self.zk_version)


def encode_partition_state(state: LeaderAndIsr) -> bytes:
    return _dumps({"controller_epoch": state.controller_epoch, "leader": state.leader, "version": 1,
                   "leader_epoch": state.leader_epoch, "isr": list(state.isr)})


def decode_partition_state(data: bytes, zk_version: int) -> LeaderAndIsr:
    value = _loads(data)
    return LeaderAndIsr(int(value["leader"]), int(value["leader_epoch"]), tuple(int(b) for b in value["isr"]),
                        int(value["controller_epoch"]), zk_version)


# -- producer ids ---------------------------------------------------------------------------------

def encode_producer_id_block(broker_id: int, start: int, end: int) -> bytes:
    return _dumps({"version": 1, "broker": broker_id, "block_start": str(start), "block_end": str(end)})


def decode_producer_id_block(data: bytes) -> tuple[int, int]:
    """(block start, block end), both inclusive, as Kafka writes them."""
    value = _loads(data)
    return int(value["block_start"]), int(value["block_end"])


# -- ACLs (Kafka's AclAuthorizer: one znode per resource, a change notification per change) -------------

AclResource = tuple   # (ResourceType, PatternType LITERAL or PREFIXED, name)
AclEntry = tuple      # (principal, host, AclOperation, AclPermissionType)


def _kafka_name(value) -> str:
    """TRANSACTIONAL_ID -> TransactionalId, CLUSTER_ACTION -> ClusterAction: Kafka's spelling in ZooKeeper."""
    return "".join(word.capitalize() for word in value.name.split("_"))


def _from_kafka_name(enum, text: str):
    for member in enum:
        if _kafka_name(member).lower() == text.lower():
            return member
    raise ValueError(f"unknown {enum.__name__} {text!r}")


def acl_resource_path(resource: AclResource) -> str:
    resource_type, pattern_type, name = resource
    base = ACLS if pattern_type == PatternType.LITERAL else PREFIXED_ACLS
    return f"{base}/{_kafka_name(ResourceType(resource_type))}/{name}"


def acl_type_paths() -> list[tuple[str, int]]:
    """(path, pattern type) of each resource type's directory, for reading every ACL."""
    return [(f"{base}/{_kafka_name(t)}", pattern) for base, pattern in ((ACLS, PatternType.LITERAL),
                                                                        (PREFIXED_ACLS, PatternType.PREFIXED))
            for t in ResourceType if t not in (ResourceType.UNKNOWN, ResourceType.ANY)]


def acl_type_of(path: str) -> int:
    return _from_kafka_name(ResourceType, path.rsplit("/", 1)[1])


def encode_acls(entries) -> bytes:
    return _dumps({"version": 1, "acls": [
        {"principal": principal, "permissionType": _kafka_name(AclPermissionType(permission)),
         "operation": _kafka_name(AclOperation(operation)), "host": host}
        for principal, host, operation, permission in entries]})


def decode_acls(data: bytes) -> list[AclEntry]:
    if not data:
        return []
    return [(acl["principal"], acl["host"], int(_from_kafka_name(AclOperation, acl["operation"])),
             int(_from_kafka_name(AclPermissionType, acl["permissionType"])))
            for acl in _loads(data).get("acls", [])]


def encode_acl_change(resource: AclResource) -> tuple[str, bytes]:
    """(notification directory, data) for a change to a resource's ACLs."""
    resource_type, pattern_type, name = resource
    type_name = _kafka_name(ResourceType(resource_type))
    if pattern_type == PatternType.LITERAL:
        return ACL_CHANGES, f"{type_name}:{name}".encode()
    return EXTENDED_ACL_CHANGES, _dumps({"version": 1, "resourceType": type_name, "name": name,
                                         "patternType": PatternType(pattern_type).name})
