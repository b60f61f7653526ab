"""Small socket helpers shared by the Dovecot and SMTP test servers."""

from __future__ import annotations

import socket
import time
from collections.abc import Callable

__all__ = ["free_ports", "wait_for_greeting"]


def free_ports(count: int, host: str = "127.0.0.1") -> list[int]:
    """Return ``count`` distinct ports that are free on ``host`` right now.

    Why SO_REUSEADDR: without it a port whose old connections sit in TIME_WAIT looks busy, and the probe would
    disagree with the servers (Dovecot, asyncio) that bind with SO_REUSEADDR. All probe sockets stay open until
    every port is chosen so one call never returns the same port twice.
    """
    socks: list[socket.socket] = []
    try:
        for _ in range(count):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            s.bind((host, 0))
            socks.append(s)
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


def wait_for_greeting(
    host: str, port: int, prefix: bytes, timeout: float, abort_if: Callable[[], str | None] | None = None
) -> bytes:
    """Connect repeatedly until the server sends a line starting with ``prefix`` (e.g. ``b"* OK"``).

    Why not just a TCP connect: Dovecot's master binds the port before a login process can serve it, so a
    connect succeeds even when imap-login is broken (e.g. refusing to run as root) and never greets.
    ``abort_if`` returns a reason to stop waiting early (e.g. the server process has exited).
    """
    deadline = time.monotonic() + timeout
    last_error: Exception | None = None
    while time.monotonic() < deadline:
        reason = abort_if() if abort_if else None
        if reason:
            raise TimeoutError(f"gave up waiting for {host}:{port}: {reason}")
        try:
            with socket.create_connection((host, port), timeout=max(0.05, deadline - time.monotonic())) as s:
                data = b""
                while b"\n" not in data:
                    chunk = s.recv(4096)
                    if not chunk:
                        break
                    data += chunk
                if data.startswith(prefix):
                    return data
                last_error = ConnectionError(f"unexpected greeting {data[:200]!r}")
        except OSError as exc:
            last_error = exc
        time.sleep(0.02)
    raise TimeoutError(f"no {prefix!r} greeting from {host}:{port} within {timeout}s: {last_error}")
