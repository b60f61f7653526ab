"""Building outgoing mail with the stdlib `email` package: headers we can vouch for.

Why so strict: every header value we write comes, directly or not, from someone else's mail
(a customer's display name, a subject, an address in Reply-To). A CR or LF in any of them
would let that person add headers (Bcc: half the internet) or a body to our reply, so each
value is checked here and refused with `HeaderInjection` naming the field, never "cleaned".

Human replies carry no `Auto-Submitted` header; anything generated automatically must say
`Auto-Submitted: auto-replied` (RFC 3834) and must never answer mail that is itself automatic
(see `may_auto_answer`).
"""

from __future__ import annotations

import mimetypes
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email import policy
from email.headerregistry import Address as HeaderAddress
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from pathlib import Path

MAX_ATTACHMENT_BYTES = 20 * 1024 * 1024
"""Total attachment size we accept: most providers stop at 20-25 MB after base64 (+37 %)."""
REFERENCES_KEEP_LAST = 10

# Control characters, DEL, and the Unicode line breaks that str.splitlines (used by the email
# package when folding) treats like LF.
_CONTROL = re.compile(r"[\x00-\x1f\x7f\x85\u2028\u2029]")
_ADDR = re.compile(r"^[^\s@<>()\[\],;:\"\\]+@[^\s@<>()\[\],;:\"\\]+$")
_MSGID = re.compile(r"^[^\s<>@]+@[^\s<>@]+$")
_AUTO_NO = frozenset({"", "no"})


class HeaderInjection(ValueError):
    """A header value we were asked to write holds a line break or control character."""

    def __init__(self, field_name: str, value: str) -> None:
        self.field = field_name
        shown = value if len(value) <= 60 else value[:57] + "..."
        super().__init__(
            f"refusing to write the {field_name} header: it contains a line break or control "
            f"character ({shown!r}); remove it and try again"
        )


class AttachmentError(ValueError):
    """An attachment path that does not exist, cannot be read, or is too big."""


def check_header(field_name: str, value: str) -> str:
    if _CONTROL.search(value):
        raise HeaderInjection(field_name, value)
    return value


def check_address(field_name: str, name: str, addr: str) -> tuple[str, str]:
    check_header(field_name, name)
    check_header(field_name, addr)
    if not _ADDR.match(addr):
        raise ValueError(f"{field_name}: {addr!r} is not an e-mail address")
    return name, addr


@dataclass(frozen=True, slots=True)
class OutgoingMail:
    """Everything one outgoing message is made of; addresses are (display name, address)."""

    from_addr: tuple[str, str]
    to: Sequence[tuple[str, str]]
    subject: str
    text: str
    message_id: str
    """Without angle brackets; fixed before the first attempt so retries are the same mail."""
    cc: Sequence[tuple[str, str]] = ()
    bcc: Sequence[tuple[str, str]] = ()
    reply_to: Sequence[tuple[str, str]] = ()
    in_reply_to: str = ""
    references: Sequence[str] = ()
    attachments: Sequence[str] = ()
    date: datetime | None = None
    auto_submitted: str = ""
    """"" for a person's reply; "auto-replied" for anything a program decided to send."""
    extra_headers: Sequence[tuple[str, str]] = field(default_factory=tuple)


def new_message_id(domain: str) -> str:
    """A fresh Message-ID on our own domain (angle brackets stripped, as we store them)."""
    check_header("Message-ID", domain)
    return make_msgid(domain=domain or "localhost").strip("<>")


def domain_of(address: str) -> str:
    return address.rpartition("@")[2].strip().lower() or "localhost"


def trim_references(refs: Sequence[str], keep_last: int = REFERENCES_KEEP_LAST) -> list[str]:
    """The References chain kept short: the first id (the thread's root) and the last
    `keep_last`, as RFC 5322 3.6.4 suggests when a chain grows long; duplicates dropped."""
    chain = list(dict.fromkeys(r for r in refs if r))
    if len(chain) <= keep_last + 1:
        return chain
    return [chain[0], *chain[-keep_last:]]


def may_auto_answer(auto_submitted: str) -> bool:
    """RFC 3834 5.2: never send an automatic answer to mail that is automatic itself."""
    return auto_submitted.strip().lower() in _AUTO_NO


def check_attachments(paths: Sequence[str], max_total: int = MAX_ATTACHMENT_BYTES) -> list[str]:
    """Plain-words problems with these attachment paths (empty when all can be sent)."""
    problems: list[str] = []
    total = 0
    for raw in paths:
        path = Path(raw).expanduser()
        if not path.exists():
            problems.append(f"{raw}: no such file")
        elif not path.is_file():
            problems.append(f"{raw}: not a regular file")
        elif not os.access(path, os.R_OK):
            problems.append(f"{raw}: cannot be read (permission denied)")
        else:
            total += path.stat().st_size
    if total > max_total:
        problems.append(f"attachments total {total / 1e6:.1f} MB; the limit is {max_total / 1e6:.0f} MB")
    return problems


def _addresses(field_name: str, pairs: Sequence[tuple[str, str]]) -> list[HeaderAddress]:
    out = []
    for name, addr in pairs:
        check_address(field_name, name, addr)
        out.append(HeaderAddress(display_name=name, addr_spec=addr))
    return out


def _id(field_name: str, value: str) -> str:
    check_header(field_name, value)
    value = value.strip("<>")
    if not _MSGID.match(value):
        raise ValueError(f"{field_name}: {value!r} is not a message id")
    return f"<{value}>"


def build(mail: OutgoingMail) -> EmailMessage:
    """The message as an EmailMessage (UTF-8, RFC 2047 headers, RFC 2231 file names)."""
    msg = EmailMessage(policy=policy.SMTP)
    msg["From"] = _addresses("From", [mail.from_addr])[0]
    if not mail.to and not mail.cc and not mail.bcc:
        raise ValueError("a message needs at least one recipient")
    if mail.to:
        msg["To"] = _addresses("To", mail.to)
    if mail.cc:
        msg["Cc"] = _addresses("Cc", mail.cc)
    _addresses("Bcc", mail.bcc)  # checked; never written into the headers
    if mail.reply_to:
        msg["Reply-To"] = _addresses("Reply-To", mail.reply_to)
    msg["Subject"] = check_header("Subject", mail.subject)
    msg["Date"] = format_datetime(mail.date or datetime.now(UTC))
    msg["Message-ID"] = _id("Message-ID", mail.message_id)
    if mail.in_reply_to:
        msg["In-Reply-To"] = _id("In-Reply-To", mail.in_reply_to)
    refs = trim_references(mail.references)
    if refs:
        msg["References"] = " ".join(_id("References", r) for r in refs)
    if mail.auto_submitted:
        msg["Auto-Submitted"] = check_header("Auto-Submitted", mail.auto_submitted)
    for name, value in mail.extra_headers:
        if name.lower() in ("bcc", "auto-submitted") or not re.fullmatch(r"[A-Za-z0-9-]{1,60}", name):
            raise ValueError(f"header {name!r} may not be set here")
        msg[name] = check_header(name, value)
    msg["MIME-Version"] = "1.0"
    text = mail.text.replace("\r\n", "\n").replace("\r", "\n")
    msg.set_content(text if text.endswith("\n") else text + "\n", charset="utf-8")
    problems = check_attachments(mail.attachments)
    if problems:
        raise AttachmentError("; ".join(problems))
    for raw in mail.attachments:
        path = Path(raw).expanduser()
        ctype, encoding = mimetypes.guess_type(path.name)
        if ctype is None or encoding is not None:
            ctype = "application/octet-stream"
        maintype, subtype = ctype.split("/", 1)
        msg.add_attachment(path.read_bytes(), maintype=maintype, subtype=subtype, filename=path.name)
    return msg


def to_bytes(mail: OutgoingMail) -> bytes:
    """The wire form (CRLF line ends), exactly what is stored, sent and filed in Sent."""
    return build(mail).as_bytes(policy=policy.SMTP)


def envelope_recipients(mail: OutgoingMail) -> list[str]:
    """To, Cc and Bcc addresses once each, in that order (case-insensitively unique)."""
    seen: dict[str, str] = {}
    for _name, addr in [*mail.to, *mail.cc, *mail.bcc]:
        seen.setdefault(addr.lower(), addr)
    return list(seen.values())


def quote(text: str, attribution: str) -> str:
    """"On <date>, <name> wrote:" then every line of `text` prefixed with "> "."""
    lines = text.replace("\r\n", "\n").rstrip("\n").split("\n")
    quoted = "\n".join(">" if not line else f"> {line}" if not line.startswith(">") else f">{line}"
                       for line in lines)  # fmt: skip
    return f"{attribution}\n{quoted}\n"
