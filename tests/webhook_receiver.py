"""A real HTTP receiver for webhook tests: ``http.server`` on 127.0.0.1, a free port, a thread.

It records every request (headers and raw body) and answers with the next status of
``answers`` (then ``default``); an answer of ``"slow"`` sleeps past the sender's timeout;
``"trickle"`` sends a 200 answer one byte every ``trickle_every`` seconds from its status line
on, and ``"trickle-body"`` a 500 whose headers come at once and whose body trickles: each byte
comes well within any read timeout, the whole answer takes ``trickle_bytes`` × that.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes

    @property
    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Receiver:
    url: str
    requests: list[Received] = field(default_factory=list)
    answers: list[int | str] = field(default_factory=list)
    default: int = 200
    slow_seconds: float = 2.0
    trickle_every: float = 0.1
    trickle_bytes: int = 400
    lock: threading.Lock = field(default_factory=threading.Lock)

    def next_answer(self) -> int | str:
        with self.lock:
            return self.answers.pop(0) if self.answers else self.default

    def wait_for(self, count: int, timeout: float = 10.0) -> list[Received]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if len(self.requests) >= count:
                return self.requests
            time.sleep(0.05)
        raise AssertionError(f"expected {count} requests, got {len(self.requests)}")


def _handler(receiver: Receiver) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            with receiver.lock:
                receiver.requests.append(Received(self.path, dict(self.headers.items()), body))
            answer = receiver.next_answer()
            if answer in ("trickle", "trickle-body"):
                self._trickle(str(answer))
                return
            if answer == "slow":
                time.sleep(receiver.slow_seconds)
                answer = 200
            assert isinstance(answer, int)
            payload = b"receiver says no" if answer >= 300 else b"ok"
            try:
                self.send_response(answer)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)
            except OSError:  # the sender gave up (timeout) and closed the connection
                pass

        def _trickle(self, answer: str) -> None:
            body = b"x" * receiver.trickle_bytes
            if answer == "trickle":
                head = b"HTTP/1.1 200 OK\r\nX-Padding: " + body + b"\r\nContent-Length: 2\r\n\r\n"
                slow, at_once = head + b"ok", b""
            else:
                at_once = f"HTTP/1.1 500 Oops\r\nContent-Length: {len(body)}\r\n\r\n".encode()
                slow = body
            try:
                self.wfile.write(at_once)
                for index in range(len(slow)):
                    self.wfile.write(slow[index : index + 1])
                    self.wfile.flush()
                    time.sleep(receiver.trickle_every)
            except OSError:  # the sender gave up and closed the connection
                pass
            self.close_connection = True

        def log_message(self, format: str, *args: Any) -> None:
            pass

    return Handler


@contextmanager
def serving_receiver() -> Iterator[Receiver]:
    """The receiver, listening until the block ends (``tests/conftest.py``'s ``receiver``)."""
    found = Receiver(url="")
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(found))
    server.daemon_threads = True
    found.url = f"http://127.0.0.1:{server.server_port}/hooks/dialflow"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield found
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def closed_port_url() -> str:
    """A URL on 127.0.0.1 where nothing listens (connection refused)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}/nobody"
