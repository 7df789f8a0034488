"""SCRAM credentials, kept as Kafka keeps them, and the users of the ``--sasl-users`` file.

Credentials set with AlterUserScramCredentials are kept in ``<data_dir>/kbroker-scram-credentials.json``
(salt, StoredKey, ServerKey, iterations per user and mechanism; never a password), replaced
atomically on every change, so they survive restarts (in a cluster they live in ZooKeeper,
broker/cluster/client_configs.py, and the file follows them). A user of the ``--sasl-users`` file can
log in with either SCRAM mechanism too: the credential is made from the password the first
time it is needed (4096 iterations, in a worker thread) and kept in memory. A stored
credential wins over one made from the file.
"""

from __future__ import annotations

import base64
import logging
from pathlib import Path

import anyio

from broker.security import persist
from broker.security.scram import (HASHES, MAX_ITERATIONS, MIN_ITERATIONS, ScramCredential,
                                   credential_from_password, credential_from_salted)
from kproto.constants import ScramMechanism
from kproto.errors import ErrorCode

log = logging.getLogger("kbroker.security")

FILE = "kbroker-scram-credentials.json"
MECHANISM_NAMES = {ScramMechanism.SCRAM_SHA_256: "SCRAM-SHA-256", ScramMechanism.SCRAM_SHA_512: "SCRAM-SHA-512"}
MECHANISM_TYPES = {name: number for number, name in MECHANISM_NAMES.items()}
DUPLICATE = "A user credential cannot be altered twice in the same request"


class ScramCredentials:
    """Every SCRAM credential the broker knows, by mechanism name then user."""

    def __init__(self, data_dir: Path | None, file_users: dict[str, str] | None = None):
        self.path = None if data_dir is None else Path(data_dir) / FILE
        self.stored: dict[str, dict[str, ScramCredential]] = {name: {} for name in HASHES}
        self.file_users = dict(file_users or {})
        self._derived: dict[tuple[str, str], ScramCredential] = {}
        self._load()

    # -- authentication ----------------------------------------------------------------------------

    async def lookup(self, mechanism: str, user: str) -> ScramCredential | None:
        credential = self.stored[mechanism].get(user)
        if credential is not None:
            return credential
        password = self.file_users.get(user)
        if password is None:
            return None
        key = (mechanism, user)
        credential = self._derived.get(key)
        if credential is None:   # iterated hashing: off the event loop
            credential = await anyio.to_thread.run_sync(credential_from_password, mechanism, password)
            credential = self._derived.setdefault(key, credential)
        return credential

    # -- DescribeUserScramCredentials ----------------------------------------------------------------

    def describe(self, users: list[str] | None) -> list[dict]:
        """One result per user asked (every user with a stored credential when none are named)."""
        if not users:
            names = sorted({user for by_user in self.stored.values() for user in by_user})
            counts = {name: 1 for name in names}
        else:
            names, counts = [], {}
            for user in users:
                if user not in counts:
                    names.append(user)
                counts[user] = counts.get(user, 0) + 1
        results = []
        for user in names:
            result = {"user": user, "error_code": 0, "error_message": None, "credential_infos": []}
            if counts[user] > 1:
                result.update(error_code=ErrorCode.DUPLICATE_RESOURCE, error_message=
                              f"Cannot describe SCRAM credentials for the same user twice in a single request: {user}")
            else:
                infos = [{"mechanism": MECHANISM_TYPES[name], "iterations": by_user[user].iterations}
                         for name, by_user in self.stored.items() if user in by_user]
                if infos:
                    result["credential_infos"] = infos
                else:
                    result.update(error_code=ErrorCode.RESOURCE_NOT_FOUND, error_message=
                                  f"Attempt to describe a user credential that does not exist: {user}")
            results.append(result)
        return results

    # -- AlterUserScramCredentials -------------------------------------------------------------------

    def alter(self, deletions: list[dict], upsertions: list[dict]) -> list[dict]:
        """Apply what is valid, as Kafka's controller does; one result per user named."""
        errors: dict[str, tuple[int, str]] = {}
        deletes: dict[str, dict] = {}
        upserts: dict[str, dict] = {}
        order: list[str] = []

        def seen(user: str) -> None:
            if user not in order:
                order.append(user)

        for deletion in deletions:
            user = deletion["name"]
            seen(user)
            if user in errors:
                continue
            if deletes.pop(user, None) is not None:
                errors[user] = (ErrorCode.DUPLICATE_RESOURCE, DUPLICATE)
                continue
            error = _check_name(user, deletion["mechanism"])
            if error is None and user not in self.stored[MECHANISM_NAMES[deletion["mechanism"]]]:
                error = (ErrorCode.RESOURCE_NOT_FOUND, "Attempt to delete a user credential that does not exist")
            if error is not None:
                errors[user] = error
            else:
                deletes[user] = deletion
        for upsertion in upsertions:
            user = upsertion["name"]
            seen(user)
            if user in errors:
                continue
            if deletes.pop(user, None) is not None or upserts.pop(user, None) is not None:
                errors[user] = (ErrorCode.DUPLICATE_RESOURCE, DUPLICATE)
                continue
            error = _check_name(user, upsertion["mechanism"])
            if error is None and upsertion["iterations"] < MIN_ITERATIONS:
                error = (ErrorCode.UNACCEPTABLE_CREDENTIAL, "Too few iterations")
            elif error is None and upsertion["iterations"] > MAX_ITERATIONS:
                error = (ErrorCode.UNACCEPTABLE_CREDENTIAL, "Too many iterations")
            if error is not None:
                errors[user] = error
            else:
                upserts[user] = upsertion
        for user, deletion in deletes.items():
            del self.stored[MECHANISM_NAMES[deletion["mechanism"]]][user]
        for user, upsertion in upserts.items():
            mechanism = MECHANISM_NAMES[upsertion["mechanism"]]
            self.stored[mechanism][user] = credential_from_salted(
                mechanism, bytes(upsertion["salt"]), bytes(upsertion["salted_password"]), upsertion["iterations"])
        if deletes or upserts:
            self._save()
            log.info("SCRAM credentials changed: %s", ", ".join(
                [f"{u} ({MECHANISM_NAMES[d['mechanism']]}) deleted" for u, d in deletes.items()]
                + [f"{u} ({MECHANISM_NAMES[d['mechanism']]}) set" for u, d in upserts.items()]))
        results = []
        for user in order:
            code, message = errors.get(user, (0, None))
            results.append({"user": user, "error_code": code, "error_message": message})
        return results

    # -- kept elsewhere (cluster mode: ZooKeeper) -----------------------------------------------------

    def replace(self, stored: dict[str, dict[str, ScramCredential]]) -> None:
        """Make ``stored`` every stored credential (the cluster's, loaded from ZooKeeper)."""
        stored = {name: dict(stored.get(name, {})) for name in HASHES}
        if stored != self.stored:
            self.stored = stored
            self._save()

    def replace_user(self, user: str, credentials: dict[str, ScramCredential]) -> None:
        """Make ``credentials`` (by mechanism name) a user's stored credentials, as ZooKeeper holds them now."""
        changed = False
        for mechanism, by_user in self.stored.items():
            credential = credentials.get(mechanism)
            if by_user.get(user) != credential:
                changed = True
                if credential is None:
                    del by_user[user]
                else:
                    by_user[user] = credential
        if changed:
            self._save()

    # -- the file ------------------------------------------------------------------------------------

    def _load(self) -> None:
        document = persist.load(self.path)
        if document is None:
            return
        for mechanism, by_user in document.get("credentials", {}).items():
            if mechanism not in self.stored:
                continue
            for user, value in by_user.items():
                self.stored[mechanism][user] = ScramCredential(
                    base64.b64decode(value["salt"]), base64.b64decode(value["stored_key"]),
                    base64.b64decode(value["server_key"]), int(value["iterations"]))

    def _save(self) -> None:
        encode = lambda data: base64.b64encode(data).decode()   # noqa: E731
        persist.save(self.path, {"version": 1, "credentials": {
            mechanism: {user: {"salt": encode(c.salt), "stored_key": encode(c.stored_key),
                               "server_key": encode(c.server_key), "iterations": c.iterations}
                        for user, c in by_user.items()}
            for mechanism, by_user in self.stored.items()}})


def _check_name(user: str, mechanism: int) -> tuple[int, str] | None:
    if not user:
        return ErrorCode.UNACCEPTABLE_CREDENTIAL, "Username must not be empty"
    if mechanism not in MECHANISM_NAMES:
        return ErrorCode.UNSUPPORTED_SASL_MECHANISM, "Unknown SCRAM mechanism"
    return None
