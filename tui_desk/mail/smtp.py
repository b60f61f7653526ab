"""Sending over SMTP, and finding or filing our copy in the Sent folder over IMAP.

The SMTP transaction is written out step by step (MAIL, RCPT, DATA) instead of using
`smtplib.sendmail`, for two reasons:

* all recipients are checked before any data is sent: if one is refused we RSET and send to
  nobody, so a "failed" reply is never a half-delivered one, and the agent can fix and retry;
* the caller gets a hook (`before_dot`) just before the final "." of DATA. Until that "." is
  sent the server cannot deliver the message (RFC 5321 4.1.1.4: the transaction ends with
  it), so a crash before the hook means "certainly not sent", and only the short stretch from
  the hook to the server's reply is uncertain. The outbox records which side of it it was on.

Every failure becomes a `MailError` whose text quotes the server's own words.
"""

from __future__ import annotations

import contextlib
import re
import smtplib
import ssl
from collections.abc import Callable, Sequence

from tui_desk.mail.connect import ServerSpec, translate_errors
from tui_desk.mail.errors import MailError, OfflineError, ProtocolError
from tui_desk.mail.imap import ImapSession
from tui_desk.mail.smtp_check import open_smtp

_LEADING_DOT = re.compile(rb"(?m)^\.")


class RecipientRefused(MailError):
    """The server refused one or more recipients; nothing was sent to anybody."""

    kind = "recipient"

    def __init__(self, message: str, refused: dict[str, tuple[int, str]]) -> None:
        super().__init__(message)
        self.refused = refused


class MessageTooLarge(MailError):
    """The message is bigger than the server accepts."""

    kind = "too-large"


class MessageRejected(MailError):
    """The server refused the message itself (policy, spam filter, bad sender)."""

    kind = "rejected"


class TemporaryFailure(MailError):
    """A 4xx answer: the server asks us to try again later."""

    kind = "temporary"


class DeliveryUnknown(OfflineError):
    """The connection broke after the end of DATA: the server may or may not have the message."""

    kind = "unknown"


def _words(reply: bytes | str) -> str:
    text = reply.decode("utf-8", "replace") if isinstance(reply, bytes) else str(reply)
    return " ".join(text.split())


def _size_text(n: int) -> str:
    return f"{n / 1e6:.1f} MB" if n >= 1e6 else f"{n / 1e3:.1f} kB"


class SmtpSender:
    """One logged-in SMTP connection that sends any number of messages, one at a time."""

    def __init__(self, server: ServerSpec, username: str, password: str) -> None:
        self.server = server
        self.client: smtplib.SMTP = open_smtp(server, username, password)
        self.max_size = 0
        size = self.client.esmtp_features.get("size", "")
        if size.isdigit():
            self.max_size = int(size)

    def close(self) -> None:
        try:
            self.client.quit()
        except (smtplib.SMTPException, OSError):
            self.client.close()

    def __enter__(self) -> SmtpSender:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _fail(self, code: int, text: str, what: str) -> MailError:
        host = self.server.host
        if code == 552 or (code == 554 and "size" in text.lower()):
            return MessageTooLarge(f"{host} refused the message as too large: {code} {text}")
        if 400 <= code < 500:
            return TemporaryFailure(f"{host} asked to try again later ({what}): {code} {text}")
        return MessageRejected(f"{host} refused the message ({what}): {code} {text}")

    def _reset(self) -> None:
        with contextlib.suppress(smtplib.SMTPException, OSError):
            self.client.rset()

    def send(self, raw: bytes, mail_from: str, rcpts: Sequence[str], *,
             before_dot: Callable[[], None] | None = None) -> str:  # fmt: skip
        """Send `raw` to `rcpts`; returns the server's final reply. Raises RecipientRefused,
        MessageTooLarge, MessageRejected, TemporaryFailure (nothing was sent), OfflineError
        (nothing was sent), or DeliveryUnknown (the connection broke after `before_dot`)."""
        if self.max_size and len(raw) > self.max_size:
            raise MessageTooLarge(
                f"the message is {_size_text(len(raw))}; {self.server.host} accepts at most "
                f"{_size_text(self.max_size)} (remove or shrink attachments)"
            )
        c = self.client
        with translate_errors(self.server, "sending"):
            try:
                options = [f"SIZE={len(raw)}"] if "size" in c.esmtp_features else []
                code, reply = c.mail(mail_from, options)
                if code != 250:
                    self._reset()
                    raise self._fail(code, _words(reply), f"sender {mail_from}")
                refused: dict[str, tuple[int, str]] = {}
                temporary: list[str] = []
                for rcpt in rcpts:
                    code, reply = c.rcpt(rcpt)
                    if code not in (250, 251):
                        refused[rcpt] = (code, _words(reply))
                        if 400 <= code < 500:
                            temporary.append(rcpt)
                if refused:
                    self._reset()
                    detail = "; ".join(f"{a}: {code} {text}" for a, (code, text) in refused.items())
                    if len(temporary) == len(refused):
                        raise TemporaryFailure(f"{self.server.host} asked to try again later: {detail}")
                    raise RecipientRefused(
                        f"{self.server.host} refused {len(refused)} recipient(s), nothing was sent: {detail}",
                        refused,
                    )
                code, reply = c.docmd("DATA")
                if code != 354:
                    self._reset()
                    raise self._fail(code, _words(reply), "DATA")
            except smtplib.SMTPServerDisconnected as exc:
                raise OfflineError(f"{self.server.host} closed the connection while sending: {exc}") from exc
            except ssl.SSLError as exc:  # mid-session: a dropped connection, not a certificate problem
                raise OfflineError(f"the TLS connection to {self.server.host} broke while sending: {exc}") from exc
        return self._finish_data(raw, before_dot)

    def _finish_data(self, raw: bytes, before_dot: Callable[[], None] | None) -> str:
        """Everything but the final "." first; then the hook; then the "." and the verdict."""
        c = self.client
        data = _LEADING_DOT.sub(b"..", raw.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n"))
        if not data.endswith(b"\r\n"):
            data += b"\r\n"
        with translate_errors(self.server, "sending"):
            try:
                c.send(data)
            except smtplib.SMTPServerDisconnected as exc:
                raise OfflineError(f"{self.server.host} closed the connection while sending: {exc}") from exc
            except ssl.SSLError as exc:
                raise OfflineError(f"the TLS connection to {self.server.host} broke while sending: {exc}") from exc
        if before_dot is not None:
            before_dot()
        try:
            with translate_errors(self.server, "finishing the message"):
                c.send(b".\r\n")
                code, reply = c.getreply()
        except (OfflineError, smtplib.SMTPServerDisconnected) as exc:
            raise DeliveryUnknown(
                f"the connection to {self.server.host} broke right after the message was handed over; "
                f"it may have been sent ({exc})"
            ) from exc
        except MailError as exc:
            raise DeliveryUnknown(f"{exc}; the message may have been sent") from exc
        if code != 250:
            raise self._fail(code, _words(reply), "after DATA")
        return f"{code} {_words(reply)}"


# --- the Sent folder -------------------------------------------------------------------------


def sent_folder(session: ImapSession, configured: str = "") -> str:
    """The configured Sent folder, else the SPECIAL-USE \\Sent one, else "Sent" (created)."""
    name = configured or session.find_special("\\Sent") or "Sent"
    if not configured:
        session.ensure_folder(name)
    return name


def find_message_id(session: ImapSession, folder: str, message_id: str) -> list[int]:
    """UIDs in `folder` whose Message-ID header holds `message_id` (IMAP SEARCH HEADER)."""
    session.select(folder, readonly=True)
    return session.search(["HEADER", "Message-ID", f"<{message_id}>"])


def file_copy(session: ImapSession, folder: str, raw: bytes, message_id: str) -> bool:
    """APPEND our copy to `folder` as read, unless one with this Message-ID is there already
    (a retry after a crash must not file it twice). True when it appended."""
    if find_message_id(session, folder, message_id):
        return False
    session.append(folder, raw, flags=["\\Seen"])
    return True


def remove_copies(session: ImapSession, folder: str, message_id: str) -> int:
    """Delete the copies of our own message that reached `folder` (the delivery-check copy)."""
    uids = find_message_id(session, folder, message_id)
    if uids:
        session.select(folder, readonly=False)
        session.expunge_uids(uids)
    return len(uids)


__all__ = [
    "DeliveryUnknown",
    "MessageRejected",
    "MessageTooLarge",
    "ProtocolError",
    "RecipientRefused",
    "SmtpSender",
    "TemporaryFailure",
    "file_copy",
    "find_message_id",
    "remove_copies",
    "sent_folder",
]
