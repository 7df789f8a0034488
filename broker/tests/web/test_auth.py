"""Credentials on the HTTP port: none while the Kafka port asks none; HTTP Basic read as browsers
send it. (With SASL listeners and ACLs: test_security.py.)"""

from __future__ import annotations

import base64

import anyio
import pytest

from broker.web.auth import BasicAuth, Open, authenticator_for
from broker.web.httpserver import HttpError, Request


def request(authorization: str | None = None, path: str = "/api/topics") -> Request:
    headers = {} if authorization is None else {"authorization": authorization}
    return Request("GET", path, path, {}, headers, b"", "127.0.0.1")


def basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def test_a_broker_without_sasl_or_acls_is_open_on_loopback(served, http):
    assert isinstance(authenticator_for(served.broker), Open)
    for path in ("/", "/api/topics", "/api/overview", "/metrics", "/admin/listener", "/health"):
        answer = http.get(path)
        assert answer.status == 200, (path, answer)
        assert "www-authenticate" not in answer.headers


@pytest.mark.parametrize("later", [False, True], ids=["verified-at-once", "verified-later"])
def test_basic_credentials_as_browsers_send_them(later):
    users = {"alice": "secret", "colon": "a:b", "ütf": "pässword"}

    def verify(user, password):
        if not later:
            return users.get(user) == password

        async def check():
            await anyio.sleep(0)
            return users.get(user) == password
        return check()

    auth = BasicAuth(verify)

    def authenticate(req):
        return anyio.run(auth.authenticate, req)

    assert authenticate(request(basic("alice", "secret"))) == "User:alice"
    assert authenticate(request(basic("colon", "a:b"))) == "User:colon"      # the first colon splits
    assert authenticate(request(basic("ütf", "pässword"))) == "User:ütf"
    assert authenticate(request(None, "/health")) == "User:ANONYMOUS"        # probes need none
    for header in (None, basic("alice", "wrong"), basic("bob", "secret"), basic("", ""), "Basic !!!", "Bearer abc",
                   "Basic " + base64.b64encode(b"no-colon").decode(), "Basic"):
        with pytest.raises(HttpError) as refused:
            authenticate(request(header))
        assert refused.value.status == 401
        assert dict(refused.value.headers)["WWW-Authenticate"].startswith('Basic realm="kbroker"')
