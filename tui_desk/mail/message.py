"""The typed record a raw message parses into.

Everything downstream (storage, threading, the UI) works from this record, never from
`email.message.Message`, so the parser can change (or get faster) without touching them.
Values are decoded but *not* sanitised for display: that is `tui_desk.mail.sanitize`'s job,
done at the last moment by whoever shows the text.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime


@dataclass(slots=True)
class Address:
    """One mailbox from an address header, decoded (RFC 2047) and with the address lower-cased."""

    name: str
    addr: str

    def formatted(self) -> str:
        """`Name <addr>`, or just the address when there is no name."""
        return f"{self.name} <{self.addr}>" if self.name else self.addr


@dataclass(slots=True)
class ParsedAttachment:
    """A MIME leaf that is not shown as body text.

    `filename` is safe to write to disk (see `sanitize.safe_filename`); `original_filename`
    is what the sender wrote, decoded, for display only. `part_path` is the dotted MIME
    part number (e.g. "2.1") so the bytes can be re-extracted from the stored raw message.
    """

    filename: str
    original_filename: str
    content_type: str
    size: int
    part_path: str
    content_id: str = ""
    inline: bool = False


@dataclass(slots=True)
class ParsedMessage:
    """One message, parsed. Built by `tui_desk.mail.parse.parse_message`, which never raises."""

    message_id: str
    """Angle-bracket-free Message-ID; synthetic (see `message_id_synthetic`) when the mail had none."""
    message_id_synthetic: bool
    in_reply_to: list[str]
    references: list[str]
    subject: str
    from_addr: Address
    to: list[Address]
    cc: list[Address]
    reply_to: list[Address]
    date: datetime
    """Timezone-aware (UTC). From the Date header, else the server's INTERNALDATE, else the file time."""
    date_source: str
    """"header", "internaldate", "file" or "now": where `date` came from."""
    text: str
    """Body text for reading: the text/plain part, or text derived from HTML when there is none."""
    html_text: str
    """Text derived from the text/html part (empty when there is none)."""
    has_html: bool
    snippet: str
    attachments: list[ParsedAttachment]
    size: int
    content_hash: str
    """sha256 of the raw bytes with line endings normalised: the identity of *this* copy of the mail."""
    auto_submitted: str = ""
    """Non-empty when the mail is machine-generated (RFC 3834 and friends): "auto-replied",
    "auto-generated", "bounce", "bulk", "list" ... Never answer such mail automatically."""
    list_id: str = ""
    headers: dict[str, str] = field(default_factory=dict)
    """A few raw-but-decoded headers that later layers need (Auto-Submitted, Precedence,
    X-Autoreply, Return-Path, X-TuiDesk-*)."""
    problems: list[str] = field(default_factory=list)
    """What the parser had to work around (bad charset, undecodable part, missing date ...)."""
    body_pending: bool = False
    """True for a headers-only record (`envelope.parse_envelope`): text, snippet and attachments
    are filled in later by the body pass from the stored raw bytes."""
