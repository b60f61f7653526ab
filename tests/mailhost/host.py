"""The session's mail host: one Dovecot with full capabilities plus the SMTP server delivering into it."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from .dovecot import DovecotServer, MailUser
from .smtp import SmtpServer
from .tlsca import Pki, TlsFiles

__all__ = ["DEFAULT_USERS", "MailHost", "MailUser", "start_mailhost"]

#: Users every mail host starts with (password ``secret``). Shared by all tests of a session: prefer the
#: ``mail_user`` fixture for anything that reads or counts a mailbox.
DEFAULT_USERS: dict[str, str] = {"support": "secret", "customer": "secret", "agent2": "secret"}


@dataclass
class MailHost:
    """Everything a test needs to point the app at a real mail server."""

    dovecot: DovecotServer
    smtp: SmtpServer
    pki: Pki
    domain: str
    host: str = field(init=False)

    def __post_init__(self) -> None:
        self.host = self.dovecot.host

    @property
    def imap_port(self) -> int:
        return self.dovecot.imap_port

    @property
    def imaps_port(self) -> int:
        return self.dovecot.imaps_port

    @property
    def smtp_port(self) -> int:
        return self.smtp.port

    @property
    def smtps_port(self) -> int | None:
        return self.smtp.smtps_port

    @property
    def ca_file(self) -> Path:
        """PEM of the CA that signed the servers' certificates (pass it as the app's CA bundle)."""
        return self.pki.trusted.ca_file

    @property
    def untrusted(self) -> TlsFiles:
        """A CA + server cert no client trusts (serve it with ``make_dovecot(untrusted_tls=True)``)."""
        return self.pki.untrusted

    @property
    def users(self) -> dict[str, str]:
        """Live name -> password map of the Dovecot users (also what SMTP AUTH checks)."""
        return self.dovecot.users

    def address(self, user: str) -> str:
        return f"{user}@{self.domain}"

    def add_user(self, name: str | None = None, password: str | None = None) -> MailUser:
        """Create a user (random ``u<hex>`` name and password by default) with an empty mailbox."""
        return self.dovecot.add_user(name, password)

    def close(self) -> None:
        self.smtp.stop()
        self.dovecot.close()


def start_mailhost(pki: Pki, *, domain: str = "example.test") -> MailHost:
    """Start Dovecot (full capabilities, :data:`DEFAULT_USERS`) and the SMTP server in front of it."""
    dovecot = DovecotServer(pki.trusted, users=dict(DEFAULT_USERS), domain=domain)
    dovecot.start()
    smtp = SmtpServer(dovecot, pki.trusted, domain=domain)
    try:
        smtp.start()
    except BaseException:
        dovecot.close()
        raise
    return MailHost(dovecot=dovecot, smtp=smtp, pki=pki, domain=domain)
