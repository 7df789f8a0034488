"""Client quotas and SCRAM credentials in a cluster: kept in ZooKeeper and the same on every
broker, as Kafka's ZooKeeper mode keeps them (``AdminZkClient``, ``ZkAdminManager``).

Each quota entity has a config znode: ``/config/users/<user>``,
``/config/users/<user>/clients/<client id>``, ``/config/clients/<client id>`` or
``/config/ips/<ip>``, the names URL-encoded (Kafka's Sanitizer) and ``<default>`` for a
default, holding ``{"version":1,"config":{"producer_byte_rate":"1048576"}}`` (every value a
string: whole numbers for the byte rates, Java's spelling of a double for the others). A
user's SCRAM credentials are keys of its own config: ``"SCRAM-SHA-256":
"salt=<base64>,stored_key=<base64>,server_key=<base64>,iterations=4096"``. A change writes the
keys that changed, conditionally on the znode's version (a user's quotas and credentials share
it), then adds ``/config/changes/config_change_<seq>`` ``{"version":2,"entity_path":"users/alice"}``;
every broker follows those notifications (``configs.ConfigChanges``) and reads that entity again.

AlterClientQuotas and AlterUserScramCredentials are checked and answered as on one broker,
applied to this broker's stores, then written to ZooKeeper entity by entity (a write that
fails is undone here and answered UNKNOWN_SERVER_ERROR). DescribeClientQuotas,
DescribeUserScramCredentials, the byte-rate quotas and SASL/SCRAM logins read this broker's
stores, which follow ZooKeeper. At start every broker makes its stores ZooKeeper's: what its
files held before it joined is replaced (said in the log); the files keep following.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from broker.cluster import znodes as zn
from broker.cluster.coord import CoordinationError
from broker.cluster.handlers import replace
from broker.quotas import IP_KEYS, USER_CLIENT_KEYS
from broker.registry import SERVED
from broker.security.scram import HASHES, ScramCredential
from kproto.errors import ErrorCode
from kproto.messages import ALTER_CLIENT_QUOTAS, ALTER_USER_SCRAM_CREDENTIALS

if TYPE_CHECKING:
    from broker.cluster.node import ClusterNode

log = logging.getLogger("kbroker.cluster")

ROOTS = (zn.USERS, zn.CLIENTS, zn.IPS)


def _keys(names: dict) -> dict[str, str]:
    return IP_KEYS if zn.IP in names else USER_CLIENT_KEYS


def quotas_of(names: dict[str, str | None], config: dict[str, str]) -> dict[str, float]:
    """The quotas in an entity's config (its other keys, SCRAM credentials, are not quotas)."""
    values = {}
    for key in _keys(names).keys() & config.keys():
        try:
            values[key] = float(config[key])
        except ValueError:
            log.warning("quota %s=%r of %s is not a number: ignored", key, config[key], names)
    return values


def credentials_of(user: str, config: dict[str, str]) -> dict[str, ScramCredential]:
    credentials = {}
    for mechanism in HASHES.keys() & config.keys():
        try:
            credentials[mechanism] = ScramCredential(*zn.decode_scram_credential(config[mechanism]))
        except ValueError as exc:
            log.warning("the %s credential of %s in ZooKeeper is unreadable, ignored: %s", mechanism, user, exc)
    return credentials


def _entity(names: dict[str, str | None]) -> tuple:
    return tuple(sorted(names.items()))


def _scram_user(names: dict[str, str | None] | None) -> str | None:
    """The user whose credentials a config holds: only ``users/<user>`` (not a default, not a client's)."""
    return names[zn.USER] if names is not None and list(names) == [zn.USER] else None


# -- following ZooKeeper --------------------------------------------------------------------------

class ClientConfigs:
    """Keeps this broker's quotas and SCRAM credentials equal to ZooKeeper's."""

    def __init__(self, node: ClusterNode):
        self.node = node
        self.loaded = False

    async def load(self) -> None:
        """Every quota entity's config, as Kafka's ZkConfigManager reads them at start."""
        quotas, stored = {}, {mechanism: {} for mechanism in HASHES}
        for root in ROOTS:
            for path, config in (await self.node.coord.entity_configs(root)).items():
                names = zn.quota_entity_of(path)
                if names is None:
                    continue
                values = quotas_of(names, config)
                if values:
                    quotas[_entity(names)] = values
                user = _scram_user(names)
                if user is not None:
                    for mechanism, credential in credentials_of(user, config).items():
                        stored[mechanism][user] = credential
        broker = self.node.broker
        if not self.loaded:
            dropped_quotas = [e for e in broker.client_quotas.quotas if e not in quotas]
            dropped_users = sorted({u for m, by_user in broker.scram.stored.items() for u in by_user
                                    if u not in stored[m]})
            if dropped_quotas or dropped_users:
                log.warning("%d client quota(s) and the SCRAM credentials of %d user(s) of %s are not in "
                            "ZooKeeper and are dropped: the cluster's are ZooKeeper's", len(dropped_quotas),
                            len(dropped_users), broker.config.data_dir)
        broker.client_quotas.replace(quotas)
        broker.scram.replace(stored)
        self.loaded = True

    async def apply(self, entity_path: str) -> None:
        """Read one entity's config again (a change notification named it)."""
        names = zn.quota_entity_of(entity_path)
        if names is None:
            return
        config = await self.node.coord.entity_config(entity_path)
        broker = self.node.broker
        broker.client_quotas.replace_entity(_entity(names), quotas_of(names, config))
        user = _scram_user(names)
        if user is not None:
            broker.scram.replace_user(user, credentials_of(user, config))


# -- the Alter handlers: as on one broker, then written to ZooKeeper -----------------------------------

_alter_client_quotas = SERVED[ALTER_CLIENT_QUOTAS.api_key].handler
_alter_user_scram_credentials = SERVED[ALTER_USER_SCRAM_CREDENTIALS.api_key].handler


async def alter_client_quotas(ctx, req: dict) -> dict:
    store = ctx.broker.client_quotas
    before = dict(store.quotas)
    response = _alter_client_quotas(ctx, req)
    changed = [entity for entity in {**before, **store.quotas} if before.get(entity) != store.quotas.get(entity)]
    failed = {}
    for entity in changed:
        names = dict(entity)
        old, new = before.get(entity, {}), store.quotas.get(entity, {})
        kinds = _keys(names)
        changes = {key: None for key in old.keys() - new.keys()}
        changes.update({key: zn.quota_text(kinds[key], value) for key, value in new.items() if old.get(key) != value})
        try:
            await ctx.broker.cluster.coord.change_entity_config(zn.quota_entity_path(names), changes)
        except CoordinationError as exc:
            log.warning("cannot write the quotas of %s to ZooKeeper: %s", names, exc)
            store.replace_entity(entity, old)
            failed[entity] = str(exc)
    for entry in response["entries"]:
        entity = _entity({e["entity_type"]: e["entity_name"] for e in entry["entity"]})
        if entity in failed and not entry["error_code"]:
            entry.update(error_code=ErrorCode.UNKNOWN_SERVER_ERROR, error_message=failed[entity])
    return response


async def alter_user_scram_credentials(ctx, req: dict) -> dict:
    scram = ctx.broker.scram
    before = {mechanism: dict(by_user) for mechanism, by_user in scram.stored.items()}
    response = _alter_user_scram_credentials(ctx, req)
    changes: dict[str, dict[str, str | None]] = {}
    for mechanism, by_user in scram.stored.items():
        for user in before[mechanism].keys() | by_user.keys():
            credential = by_user.get(user)
            if credential != before[mechanism].get(user):
                changes.setdefault(user, {})[mechanism] = (
                    None if credential is None else zn.encode_scram_credential(*credential))
    failed = {}
    for user, changed in changes.items():
        try:
            await ctx.broker.cluster.coord.change_entity_config(zn.quota_entity_path({zn.USER: user}), changed)
        except CoordinationError as exc:
            log.warning("cannot write the SCRAM credentials of %s to ZooKeeper: %s", user, exc)
            scram.replace_user(user, {m: by_user[user] for m, by_user in before.items() if user in by_user})
            failed[user] = str(exc)
    for result in response["results"]:
        if result["user"] in failed and not result["error_code"]:
            result.update(error_code=ErrorCode.UNKNOWN_SERVER_ERROR, error_message=failed[result["user"]])
    return response


replace(ALTER_CLIENT_QUOTAS, alter_client_quotas, may_wait=True)
replace(ALTER_USER_SCRAM_CREDENTIALS, alter_user_scram_credentials, may_wait=True)
