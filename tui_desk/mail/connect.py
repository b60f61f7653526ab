"""Opening connections to mail servers: TLS set-up and error translation shared by IMAP and SMTP."""

from __future__ import annotations

import imaplib
import socket
import ssl
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from typing import Protocol

from tui_desk.mail.errors import MailError, OfflineError, ProtocolError, TlsError


class ServerSpec(Protocol):
    """What the wire needs to know about a server (`tui_desk.config.Server` fits)."""

    host: str
    port: int
    security: str
    verify_tls: bool
    ca_file: str
    timeout: float


def ssl_context(server: ServerSpec) -> ssl.SSLContext:
    """Certificates are verified against the system store (or `ca_file`) unless the user turned
    verification off for this one account."""
    ctx = ssl.create_default_context(cafile=server.ca_file or None)
    if not server.verify_tls:
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    return ctx


def describe_tls_error(server: ServerSpec, exc: ssl.SSLError) -> str:
    if isinstance(exc, ssl.SSLCertVerificationError):
        reason = exc.verify_message or exc.reason or str(exc)
        return (
            f"the TLS certificate of {server.host}:{server.port} is not trusted ({reason}); "
            "check the host name, or set ca_file / verify_tls = false for this account if you trust it"
        )
    return f"TLS with {server.host}:{server.port} failed: {exc.reason or exc}"


@contextmanager
def translate_errors(server: ServerSpec, what: str) -> Iterator[None]:
    """Turn socket/ssl failures around a block into MailError subclasses naming the server."""
    where = f"{server.host}:{server.port}"
    try:
        yield
    except MailError:
        raise
    except imaplib.IMAP4.abort as exc:  # imapclient's AbortError is this class too
        raise OfflineError(f"the connection to {where} broke while {what}: {exc}") from exc
    except imaplib.IMAP4.error as exc:  # ... and its IMAPClientError this one
        raise ProtocolError(f"{server.host} said no while {what}: {str(exc)[:300]}") from exc
    except ssl.SSLError as exc:
        raise TlsError(describe_tls_error(server, exc)) from exc
    except TimeoutError as exc:
        raise OfflineError(f"{where} did not answer in time while {what}") from exc
    except ConnectionRefusedError as exc:
        raise OfflineError(f"{where} refused the connection") from exc
    except socket.gaierror as exc:
        raise OfflineError(f"cannot resolve {server.host}: {exc.strerror or exc}") from exc
    except (ConnectionError, EOFError) as exc:
        raise OfflineError(f"the connection to {where} was lost while {what}") from exc
    except OSError as exc:
        raise OfflineError(f"cannot reach {where}: {exc.strerror or exc}") from exc
    except (ValueError, LookupError) as exc:
        raise ProtocolError(f"{where} sent a response we could not understand while {what}: {exc}") from exc


def set_nodelay(sock: socket.socket | None) -> None:
    """imaplib writes a literal and its closing CRLF separately: without TCP_NODELAY, Nagle plus
    delayed ACKs cap APPEND at ~20 msg/s (see shared notes)."""
    if sock is None:
        return
    with suppress(OSError):
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
