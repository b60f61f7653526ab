"""A real mail host for the tests: a private Dovecot (IMAP/IMAPS/LMTP), an aiosmtpd submission server that
delivers into it, and a throw-away CA. The fixtures in tests/conftest.py are built on these classes."""

from .dovecot import DovecotServer, MailUser, live_instances
from .dovecot_conf import (
    INSTALL_HINT,
    NO_CONDSTORE_CAPABILITIES,
    SPECIAL_FOLDERS,
    DovecotMissing,
    find_binaries,
)
from .host import DEFAULT_USERS, MailHost, start_mailhost
from .maildir import SeedMessage
from .net import free_ports, wait_for_greeting
from .smtp import SentMessage, SmtpServer
from .tlsca import CertAuthority, Pki, TlsFiles, make_pki

__all__ = [
    "DEFAULT_USERS",
    "INSTALL_HINT",
    "NO_CONDSTORE_CAPABILITIES",
    "SPECIAL_FOLDERS",
    "CertAuthority",
    "DovecotMissing",
    "DovecotServer",
    "MailHost",
    "MailUser",
    "Pki",
    "SeedMessage",
    "SentMessage",
    "SmtpServer",
    "TlsFiles",
    "find_binaries",
    "free_ports",
    "live_instances",
    "make_pki",
    "start_mailhost",
    "wait_for_greeting",
]
