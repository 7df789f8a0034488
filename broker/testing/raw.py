"""A blocking socket that speaks raw kproto frames to a broker: no client library in the way."""

from __future__ import annotations

import socket

from kproto.codec import decode_response, encode_request
from kproto.messages import BY_KEY
from kproto.schema import Message


class RawClient:
    """A blocking socket that sends kproto requests and reads responses: no client library in the way."""

    def __init__(self, bootstrap: str, timeout_s: float = 10, client_id: str | None = "raw-test"):
        host, _, port = bootstrap.rpartition(":")
        self.sock = socket.create_connection((host, int(port)), timeout=timeout_s)
        self.client_id = client_id
        self._correlation_id = 0

    def close(self) -> None:
        self.sock.close()

    def __enter__(self) -> "RawClient":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def send(self, message: Message | int, version: int, body: dict) -> int:
        message = BY_KEY[message] if isinstance(message, int) else message
        self._correlation_id += 1
        self.sock.sendall(encode_request(message, version, self._correlation_id, body, self.client_id))
        return self._correlation_id

    def send_raw(self, data: bytes) -> None:
        self.sock.sendall(data)

    def read_frame(self) -> bytes:
        """One response frame without its size prefix; b'' if the broker closed the connection."""
        size = self._read_exactly(4)
        if not size:
            return b""
        return self._read_exactly(int.from_bytes(size, "big"))

    def _read_exactly(self, n: int) -> bytes:
        chunks, remaining = [], n
        while remaining:
            chunk = self.sock.recv(min(remaining, 1 << 20))
            if not chunk:
                return b""
            chunks.append(chunk)
            remaining -= len(chunk)
        return b"".join(chunks)

    def receive(self, message: Message | int, version: int) -> tuple[int, dict]:
        message = BY_KEY[message] if isinstance(message, int) else message
        frame = self.read_frame()
        if not frame:
            raise ConnectionError("broker closed the connection")
        return decode_response(frame, message, version)

    def request(self, message: Message | int, version: int, body: dict) -> dict:
        correlation_id = self.send(message, version, body)
        got, response = self.receive(message, version)
        assert got == correlation_id, f"correlation id {got}, expected {correlation_id}"
        return response

    def is_closed(self, wait_s: float = 5) -> bool:
        """True if the broker closed this connection (EOF within ``wait_s``)."""
        self.sock.settimeout(wait_s)
        try:
            return self.sock.recv(1) == b""
        except socket.timeout:
            return False
        except ConnectionError:
            return True
