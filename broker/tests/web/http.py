"""A small HTTP client for the tests: JSON in and out over http.client, and raw bytes for bad input."""

from __future__ import annotations

import http.client
import json
import socket


class Answer:
    def __init__(self, status: int, headers: dict[str, str], body: bytes):
        self.status = status
        self.headers = headers
        self.body = body

    def json(self):
        return json.loads(self.body)

    @property
    def text(self) -> str:
        return self.body.decode()

    def __repr__(self) -> str:
        return f"Answer({self.status}, {self.body[:300]!r})"


class Http:
    def __init__(self, port: int, host: str = "127.0.0.1"):
        self.host = host
        self.port = port

    def request(self, method: str, path: str, body=None, headers: dict | None = None) -> Answer:
        connection = http.client.HTTPConnection(self.host, self.port, timeout=10)
        try:
            headers = dict(headers or {})
            data = None
            if body is not None:
                data = body if isinstance(body, bytes) else json.dumps(body).encode()
                headers.setdefault("Content-Type", "application/json")
            connection.request(method, path, body=data, headers=headers)
            response = connection.getresponse()
            return Answer(response.status, {k.lower(): v for k, v in response.getheaders()}, response.read())
        finally:
            connection.close()

    def get(self, path: str, **kwargs) -> Answer:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, body=None, **kwargs) -> Answer:
        return self.request("POST", path, body if body is not None else {}, **kwargs)

    def delete(self, path: str, **kwargs) -> Answer:
        return self.request("DELETE", path, **kwargs)

    def ok(self, method: str, path: str, body=None) -> dict:
        answer = self.request(method, path, body)
        assert 200 <= answer.status < 300, answer
        return answer.json()

    def raw(self, data: bytes, *, read_s: float = 5, quiet_s: float = 0.3) -> bytes:
        """Send bytes as they are; what the server answers until it closes, or until it has said
        something and then stayed quiet ``quiet_s`` (a kept-alive connection), or ``read_s``."""
        with socket.create_connection((self.host, self.port), timeout=read_s) as sock:
            try:
                sock.sendall(data)
            except (BrokenPipeError, ConnectionResetError):
                pass
            chunks = []
            try:
                while True:
                    chunk = sock.recv(65536)
                    if not chunk:
                        break
                    chunks.append(chunk)
                    sock.settimeout(quiet_s)
            except (socket.timeout, ConnectionResetError):
                pass
            return b"".join(chunks)


def status_of(raw: bytes) -> int:
    """The status code of the first response in ``raw``."""
    line = raw.split(b"\r\n", 1)[0]
    assert line.startswith(b"HTTP/1.1 "), raw[:200]
    return int(line.split()[1])
