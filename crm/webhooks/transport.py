"""The sender's HTTP client: connections only to allowed addresses, and a time limit per attempt.

httpx's timeouts bound each network operation (connect, one write, one read); a receiver that
answers one byte every few seconds never trips them, and could hold an attempt past its claim
lease, so that another sender claims the row and posts it again. Here every operation of an
attempt also gets at most the time left before the attempt's deadline (:func:`deadline`), so
resolving, connecting, sending and reading the answer together end in time.

The connection itself is made by :class:`GuardedBackend` (httpcore's network backend): it
resolves the host, refuses it when any of its addresses is internal
(``crm.webhooks.targets``), and connects to a checked address, so a name cannot resolve to a
public address for the check and an internal one for the connection. TLS still verifies the
host name. Proxies from the environment are not used: a proxy would resolve the name itself.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

import httpcore
import httpx

from crm.webhooks.targets import TargetPolicy, message, unique_addresses

_deadline: ContextVar[float | None] = ContextVar("webhook_attempt_deadline", default=None)
_resolver: ThreadPoolExecutor | None = None
_resolver_lock = threading.Lock()


class TargetRefused(httpcore.ConnectError):
    """The host resolves to an address webhooks may not reach; nothing was sent."""


@contextmanager
def deadline(seconds: float) -> Iterator[float]:
    """Within the block, network operations of the guarded client end ``seconds`` from now."""
    at = time.monotonic() + seconds
    token = _deadline.set(at)
    try:
        yield at
    finally:
        _deadline.reset(token)


def _bounded(timeout: float | None, error: type[httpcore.TimeoutException]) -> float | None:
    """``timeout`` shortened to the time the attempt has left; raises once none is left."""
    at = _deadline.get()
    if at is None:
        return timeout
    left = at - time.monotonic()
    if left <= 0:
        raise error("The attempt's time limit ran out.")
    return left if timeout is None else min(timeout, left)


class DeadlineStream(httpcore.NetworkStream):
    """A connection whose reads and writes respect the current attempt's deadline."""

    def __init__(self, stream: httpcore.NetworkStream) -> None:
        self._stream = stream

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._stream.read(max_bytes, _bounded(timeout, httpcore.ReadTimeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._stream.write(buffer, _bounded(timeout, httpcore.WriteTimeout))

    def close(self) -> None:
        self._stream.close()

    def start_tls(
        self,
        ssl_context: Any,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore.NetworkStream:
        bounded = _bounded(timeout, httpcore.ConnectTimeout)
        return DeadlineStream(self._stream.start_tls(ssl_context, server_hostname, bounded))

    def get_extra_info(self, info: str) -> Any:
        return self._stream.get_extra_info(info)


class GuardedBackend(httpcore.NetworkBackend):
    """Resolve, check every address against the allowance, connect to a checked one."""

    def __init__(self, targets: TargetPolicy, inner: httpcore.NetworkBackend | None = None):
        self.targets = targets
        self.inner = inner or httpcore.SyncBackend()

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        addresses = resolve(host, port, _bounded(timeout, httpcore.ConnectTimeout))
        if not self.targets.host_allowed(host):
            for address in addresses:
                kind = self.targets.refusal(address)
                if kind:
                    raise TargetRefused(message(host, kind, address))
        failure: httpcore.ConnectError | None = None
        for address in addresses:
            try:
                stream = self.inner.connect_tcp(
                    str(address),
                    port,
                    timeout=_bounded(timeout, httpcore.ConnectTimeout),
                    local_address=local_address,
                    socket_options=socket_options,
                )
            except httpcore.ConnectError as exc:  # the next address may answer
                failure = exc
                continue
            return DeadlineStream(stream)
        raise failure or httpcore.ConnectError(f"{host} has no address.")

    def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: Iterable[Any] | None = None
    ) -> httpcore.NetworkStream:
        raise httpcore.ConnectError("Webhooks are not sent over Unix sockets.")

    def sleep(self, seconds: float) -> None:
        self.inner.sleep(seconds)


def resolve(host: str, port: int, timeout: float | None) -> list[Any]:
    """The host's addresses. ``getaddrinfo`` cannot be given a timeout, so it runs on a
    resolver thread and the attempt stops waiting when its time is up."""
    future = _resolver_pool().submit(socket.getaddrinfo, host, port, type=socket.SOCK_STREAM)
    try:
        infos = future.result(timeout=timeout)
    except FutureTimeout:
        raise httpcore.ConnectTimeout(f"Resolving {host} took too long.") from None
    except (socket.gaierror, UnicodeError) as exc:
        raise httpcore.ConnectError(f"{host} could not be resolved: {exc}") from exc
    return unique_addresses(str(info[4][0]) for info in infos)


def _resolver_pool() -> ThreadPoolExecutor:
    global _resolver
    with _resolver_lock:
        if _resolver is None:
            _resolver = ThreadPoolExecutor(max_workers=4, thread_name_prefix="webhook-dns")
        return _resolver


class GuardedTransport(httpx.HTTPTransport):
    """httpx's transport with :class:`GuardedBackend` under its connection pool."""

    def __init__(self, targets: TargetPolicy) -> None:
        super().__init__(trust_env=False)
        # httpx offers no argument for the network backend: the pool is built here instead,
        # as httpx builds it (same TLS verification), with the guarded backend.
        self._pool = httpcore.ConnectionPool(
            ssl_context=httpx.create_ssl_context(trust_env=False),
            max_connections=100,
            max_keepalive_connections=20,
            keepalive_expiry=5.0,
            network_backend=GuardedBackend(targets),
        )


def sender_client(targets: TargetPolicy, timeout: float) -> httpx.Client:
    """The client a sending pass uses: guarded, no redirects, no environment proxies."""
    return httpx.Client(
        transport=GuardedTransport(targets),
        timeout=timeout,
        follow_redirects=False,
        trust_env=False,
    )


def refused(exc: BaseException) -> TargetRefused | None:
    """The refusal behind an httpx error, if that is what it was."""
    cause = exc.__cause__
    return cause if isinstance(cause, TargetRefused) else None
