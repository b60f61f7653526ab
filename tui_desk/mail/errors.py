"""The ways talking to a mail server can fail, sorted by what the user should do about it.

Every low-level exception (socket, ssl, imaplib, imapclient, smtplib) is translated into one of
these at the edge of `tui_desk.mail`, with a message in plain words that names the host, so the
CLI prints one line and the UI one notification, never a traceback.
"""

from __future__ import annotations


class MailError(Exception):
    """Base class: `kind` is a short machine-readable word for status bars and tests."""

    kind = "error"


class OfflineError(MailError):
    """The server cannot be reached now (no network, refused, timed out). Retry later."""

    kind = "offline"


class AuthError(MailError):
    """The server refused the user name or password. Retrying will not help."""

    kind = "auth"


class TlsError(MailError):
    """TLS failed: an untrusted or mismatched certificate, or a handshake error."""

    kind = "tls"


class ProtocolError(MailError):
    """The server answered NO or BAD, or said something we could not understand."""

    kind = "protocol"
