"""An SMTP submission server for tests (aiosmtpd) that delivers into the test Dovecot over LMTP.

Why: the app's "send reply" path must be tested against a server that does what real submission servers do —
STARTTLS with a certificate to verify, AUTH only over TLS, 535 for a wrong password, 550/552/4xx refusals — and
the sent message must then be readable over IMAP by the recipient, exactly as in production.
"""

from __future__ import annotations

import asyncio
import smtplib
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session

from .dovecot import DovecotServer
from .net import free_ports
from .tlsca import TlsFiles

__all__ = ["SentMessage", "SmtpServer"]

DEFAULT_SIZE_LIMIT = 32 * 1024 * 1024


@dataclass(frozen=True)
class SentMessage:
    """One accepted message. ``mail_from`` is ``""`` for the null sender (aiosmtpd stores it as ``<>``)."""

    mail_from: str
    rcpt_tos: tuple[str, ...]
    data: bytes
    auth_user: str | None


class _Controller(Controller):
    """A Controller whose per-connection SMTP object sees the owner's *current* ``max_size``."""

    def __init__(self, owner: SmtpServer, *args: Any, implicit_tls: bool = False, **kwargs: Any) -> None:
        self._owner = owner
        self._implicit_tls = implicit_tls
        super().__init__(*args, **kwargs)

    def factory(self) -> SMTP:
        kwargs = {**self.SMTP_kwargs, "data_size_limit": self._owner.max_size or DEFAULT_SIZE_LIMIT}
        smtp = SMTP(self.handler, **kwargs)
        if self._implicit_tls:
            # aiosmtpd (1.4) does not count implicit TLS as TLS, so with auth_require_tls it would refuse AUTH on
            # an encrypted connection; passing auth_require_tls=False instead warns on every connection.
            smtp._auth_require_tls = False
        return smtp


class SmtpServer:
    """Submission server on 127.0.0.1: ``port`` offers STARTTLS and requires it before AUTH (PLAIN/LOGIN);
    ``smtps_port`` (if ``implicit_tls``) is TLS from the first byte. Users and passwords are the Dovecot
    instance's; ``user@<domain>`` or plain ``user`` may log in.

    Recipients ``user[+detail]@<domain>`` of a known Dovecot user are delivered to that user's INBOX over LMTP;
    an unknown user of the domain gets 550 at RCPT; other domains are accepted and only recorded (a relay).

    Knobs (set them from the test before the client sends; :meth:`reset` restores them):
    ``refuse_recipients`` (550 at RCPT, case-insensitive), ``fail_next`` + ``fail_reply`` (the next N DATA
    commands get ``fail_reply``), ``data_hook`` (called with the would-be :class:`SentMessage`; a returned
    reply string is sent instead of accepting), ``max_size`` (SIZE advertised, 552 above it; new connections).
    """

    host = "127.0.0.1"

    def __init__(
        self,
        dovecot: DovecotServer,
        tls: TlsFiles,
        *,
        domain: str | None = None,
        implicit_tls: bool = True,
        require_auth: bool = True,
        hostname: str | None = None,
    ) -> None:
        self.dovecot = dovecot
        self.tls = tls
        self.domain = (domain or dovecot.domain).lower()
        self.require_auth = require_auth
        self.hostname = hostname or f"smtp.{self.domain}"
        self._lock = threading.Lock()
        self._sent: list[SentMessage] = []
        self.refuse_recipients: set[str] = set()
        self.fail_next = 0
        self.fail_reply = "451 4.3.0 Temporary failure, try again later"
        self.data_hook: Callable[[SentMessage], str | None] | None = None
        self.max_size: int | None = None
        ports = free_ports(2 if implicit_tls else 1, self.host)
        self.port = ports[0]
        self.smtps_port: int | None = ports[1] if implicit_tls else None
        self._controllers: list[Controller] = []
        self._implicit_tls = implicit_tls

    # ----------------------------------------------------------------------------------------- lifecycle
    def start(self) -> None:
        """Start the listeners (each aiosmtpd Controller runs its own event loop in a thread)."""
        if self._controllers:
            return
        server_ctx = self.tls.server_context()
        common: dict[str, Any] = {
            "authenticator": self._authenticate,
            "auth_required": self.require_auth,
            "server_hostname": self.hostname,  # avoids a slow getfqdn() per connection
            "ready_timeout": 10.0,
        }
        self._controllers.append(
            _Controller(
                self,
                _Handler(self),
                hostname=self.host,
                port=self.port,
                tls_context=server_ctx,
                require_starttls=True,
                auth_require_tls=True,
                **common,
            )
        )
        if self._implicit_tls:
            self._controllers.append(
                _Controller(
                    self,
                    _Handler(self),
                    hostname=self.host,
                    port=self.smtps_port,
                    ssl_context=server_ctx,
                    implicit_tls=True,
                    **common,
                )
            )
        for controller in self._controllers:
            controller.start()

    def stop(self) -> None:
        for controller in self._controllers:
            controller.stop()
        self._controllers.clear()

    # ----------------------------------------------------------------------------------------- assertions
    @property
    def sent(self) -> list[SentMessage]:
        """A snapshot of the accepted messages, oldest first (a message is here once its 250 was sent)."""
        with self._lock:
            return list(self._sent)

    def clear_sent(self) -> None:
        with self._lock:
            self._sent.clear()

    def reset(self) -> None:
        """Forget sent messages and restore every knob (call between tests sharing this server)."""
        with self._lock:
            self._sent.clear()
            self.refuse_recipients = set()
            self.fail_next = 0
            self.fail_reply = "451 4.3.0 Temporary failure, try again later"
            self.data_hook = None
            self.max_size = None

    def local_user(self, address: str) -> str | None:
        """``user[+detail]@<domain>`` -> ``user`` (any case of the domain); None for another domain."""
        local, _, domain = address.strip("<>").rpartition("@")
        if domain.lower() != self.domain or not local:
            return None
        return local.split("+", 1)[0]

    # ----------------------------------------------------------------------------------------- internals
    def _authenticate(
        self, server: SMTP, session: Session, envelope: Envelope, mechanism: str, auth_data: Any
    ) -> AuthResult:
        """Check against the Dovecot users. ``handled=False`` on failure makes aiosmtpd send 535 (with the
        default ``handled=True`` it sends nothing and the client hangs)."""
        if isinstance(auth_data, LoginPassword):
            login = auth_data.login.decode("utf-8", "replace")
            name = self.local_user(login) if "@" in login else login
            password = auth_data.password.decode("utf-8", "replace")
            if name is not None and self.dovecot.users.get(name) == password:
                return AuthResult(success=True, auth_data=name)
        return AuthResult(success=False, handled=False)

    def _check_rcpt(self, address: str) -> str | None:
        with self._lock:
            refused = {a.lower() for a in self.refuse_recipients}
        if address.lower() in refused:
            return f"550 5.1.1 <{address}>: Recipient address rejected"
        user = self.local_user(address)
        if user is not None and user not in self.dovecot.users:
            return f"550 5.1.1 <{address}>: User unknown in local recipient table"
        return None

    def _check_data(self, message: SentMessage) -> str | None:
        with self._lock:
            if self.fail_next > 0:
                self.fail_next -= 1
                return self.fail_reply
            hook = self.data_hook
        return hook(message) if hook else None

    def _deliver(self, message: SentMessage) -> None:
        """Blocking: one LMTP transaction per local recipient (LMTP answers once per recipient after DATA)."""
        for rcpt in message.rcpt_tos:
            user = self.local_user(rcpt)
            if user is not None:
                self.dovecot.deliver(user, message.data, sender=message.mail_from)

    def _record(self, message: SentMessage) -> None:
        with self._lock:
            self._sent.append(message)


class _Handler:
    """aiosmtpd handler hooks; all policy lives in :class:`SmtpServer`."""

    def __init__(self, owner: SmtpServer) -> None:
        self.owner = owner

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, rcpt_options: list[str]
    ) -> str:
        refusal = self.owner._check_rcpt(address)
        if refusal:
            return refusal
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        mail_from = envelope.mail_from or ""
        data = envelope.original_content or b""
        message = SentMessage(
            mail_from="" if mail_from == "<>" else mail_from,
            rcpt_tos=tuple(envelope.rcpt_tos),
            data=data if isinstance(data, bytes) else data.encode(),
            auth_user=session.auth_data if isinstance(session.auth_data, str) else None,
        )
        refusal = self.owner._check_data(message)
        if refusal:
            return refusal
        try:
            await asyncio.get_running_loop().run_in_executor(None, self.owner._deliver, message)
        except (smtplib.SMTPException, OSError, RuntimeError) as exc:
            reason = " ".join(str(exc).split())  # one line: a reply must not contain CR/LF
            return f"451 4.3.0 Local delivery failed: {reason}"[:500]
        self.owner._record(message)
        return "250 2.0.0 OK: queued"
