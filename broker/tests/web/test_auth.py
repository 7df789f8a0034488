"""The credentials hook: open without ACLs; HTTP Basic checked by the broker's verifier once it has one."""

from __future__ import annotations

import base64
from types import SimpleNamespace

import pytest

from broker.web.auth import BasicAuth, Open, authenticator_for
from broker.web.httpserver import HttpError, Request


def request(authorization: str | None = None) -> Request:
    headers = {} if authorization is None else {"authorization": authorization}
    return Request("GET", "/api/topics", "/api/topics", {}, headers, b"", "127.0.0.1")


def basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def test_without_a_verifier_everyone_passes_as_anonymous():
    assert isinstance(authenticator_for(SimpleNamespace()), Open)
    assert Open().authenticate(request()) == "User:ANONYMOUS"


def test_basic_credentials_checked_by_the_brokers_verifier():
    users = {"alice": "secret"}
    broker = SimpleNamespace(verify_credentials=lambda user, password: users.get(user) == password)
    auth = authenticator_for(broker)
    assert isinstance(auth, BasicAuth)
    assert auth.authenticate(request(basic("alice", "secret"))) == "User:alice"
    for header in (None, basic("alice", "wrong"), basic("bob", "secret"), "Basic !!!", "Bearer abc",
                   "Basic " + base64.b64encode(b"no-colon").decode()):
        with pytest.raises(HttpError) as refused:
            auth.authenticate(request(header))
        assert refused.value.status == 401
        assert dict(refused.value.headers)["WWW-Authenticate"].startswith('Basic realm="kbroker"')
