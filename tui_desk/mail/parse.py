"""Raw RFC 5322 bytes -> `ParsedMessage`, for any input a mailbox can hold. Never raises.

Speed matters (a sync parses thousands of mails), so this uses the stdlib parser with the
`compat32` policy (~5x faster than `policy.default`) and does all header decoding itself
(`charsets`, `headertext`, `headers`). Structure (`walk`): number the MIME parts like IMAP
body sections, collect text *segments* (plain and/or HTML alternatives of one piece of
content) and attachments, then assemble the record here. Anything that cannot be decoded
is kept as an attachment and explained in `problems`.

HTML costs the most: inscriptis renders HTML the user will read (HTML-only mail); the
HTML alternative of a mail that has a text/plain part gets the fast converter
(`htmltext.quick_text`) for `html_text`.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from email.message import Message

from tui_desk.mail.autoreply import detect_auto_submitted
from tui_desk.mail.headers import parse_addresses, parse_date, parse_id_list, parse_message_id, plausible_time
from tui_desk.mail.headertext import decode_header_value, header_text
from tui_desk.mail.htmltext import html_to_text, quick_text
from tui_desk.mail.message import Address, ParsedMessage
from tui_desk.mail.mimeparts import (
    enclosed_message,
    flatten,
    is_multipart,
    locate,
    params,
    parse_tree,
    payload_bytes,
)
from tui_desk.mail.walk import Walk

SNIPPET_LENGTH = 200
MAX_PROBLEMS = 50
"""A hostile mail with thousands of broken parts gets the first few explained, not all."""
KEPT_HEADERS = (
    "auto-submitted", "precedence", "x-autoreply", "x-autorespond", "x-auto-response-suppress",
    "return-path", "list-id", "list-unsubscribe",
)  # fmt: skip
SIGNAL_HEADERS = ("x-autoresponder", "x-mail-autoreply", "x-ms-exchange-inbox-rules-loop")
UNKNOWN_SENDER = "(unknown sender)"


def _first_headers(msg: Message) -> dict[str, str]:
    """Lower-case header name -> first raw value (compat32 keeps values undecoded)."""
    first: dict[str, str] = {}
    for name, value in msg.raw_items():
        first.setdefault(name.lower(), value if isinstance(value, str) else str(value))
    return first


def _norm_header(value: str | None) -> bytes:
    """A header value reduced to its words, so re-folding in transit does not change it."""
    if not value:
        return b""
    return b" ".join(value.encode("utf-8", "surrogateescape").split())


def synthetic_id(first: dict[str, str], normalised_raw: bytes) -> str:
    """A stable id for a mail without a usable Message-ID: same mail, same id, whether it
    came from an .eml file (LF) or over IMAP (CRLF)."""
    _, _, body = normalised_raw.partition(b"\n\n")
    digest = hashlib.sha256()
    for value in (first.get("from"), first.get("date"), first.get("subject")):
        digest.update(_norm_header(value) + b"\x00")
    digest.update(body)
    return f"synthetic-{digest.hexdigest()[:32]}@tui-desk.invalid"


def _snippet(text: str) -> str:
    """First ~200 characters of the new content: quoted (`>`) lines skipped if possible."""
    head = text[:20000]
    lines = [line for line in head.splitlines() if not line.lstrip().startswith(">")]
    collapsed = " ".join(" ".join(lines).split()) or " ".join(head.split())
    return collapsed[:SNIPPET_LENGTH]


def sender_of(first: dict[str, str], hints: tuple[str, ...]) -> Address:
    """From, else Sender, else Return-Path, else a visible placeholder."""
    for name in ("from", "sender", "return-path"):
        for address in parse_addresses(header_text(first.get(name, ""), hints)):
            if address.addr or address.name:
                return address
    return Address(name=UNKNOWN_SENDER, addr="")


def message_date(
    first: dict[str, str], internaldate: datetime | None, file_time: datetime | None, problems: list[str]
) -> tuple[datetime, str]:
    """(date, date_source): the Date header if sane, else INTERNALDATE, file time, now."""
    raw = first.get("date")
    parsed = parse_date(header_text(raw)) if raw else None
    if parsed is not None:
        return parsed, "header"
    problems.append("Date header missing" if raw is None else f"Date header unusable: {raw.strip()[:60]!r}")
    for value, source in ((internaldate, "internaldate"), (file_time, "file")):
        usable = plausible_time(value)
        if usable is not None:
            return usable, source
    return datetime.now(UTC), "now"


def _as_bytes(raw: object) -> bytes:
    """Accept bytes-likes (and, defensively, str or anything else) without raising."""
    if isinstance(raw, bytes):
        return raw
    if isinstance(raw, bytearray | memoryview):
        return bytes(raw)
    if isinstance(raw, str):
        return raw.encode("utf-8", "surrogateescape")
    return b""


def parse_message(
    raw: bytes, *, internaldate: datetime | None = None, file_time: datetime | None = None
) -> ParsedMessage:
    """Parse one raw message. Never raises: whatever goes wrong ends up in `problems`.

    `internaldate` (the IMAP server's arrival time) and `file_time` (an .eml's mtime) are
    the fallbacks, in that order, when the Date header is missing or absurd.
    """
    data = _as_bytes(raw)
    try:
        return _parse(data, internaldate, file_time)
    except Exception as exc:  # the last line of defence: a minimal record, never a crash
        return _minimal(data, internaldate, file_time, f"parser failed: {type(exc).__name__}: {exc}"[:300])


def _parse(raw: bytes, internaldate: datetime | None, file_time: datetime | None) -> ParsedMessage:
    """The actual parse; `parse_message` wraps it so that nothing escapes."""
    normalised = raw.replace(b"\r\n", b"\n").rstrip()
    msg, problem = parse_tree(raw)
    walk = Walk(problems=[problem] if problem else [])
    segments = walk.message(msg, "", 0)
    hints = tuple(walk.charsets)
    first = _first_headers(msg)

    text_parts: list[str] = []
    html_parts: list[str] = []
    for segment in segments:
        html_text = None
        if segment.html is not None and segment.plain is not None and segment.plain.strip():
            html_text = quick_text(segment.html)  # the user reads the plain part: be fast
            html_parts.append(html_text)
        elif segment.html is not None:
            html_text, html_problem = html_to_text(segment.html)
            html_parts.append(html_text)
            if html_problem:
                walk.problems.append(html_problem)
        if segment.plain is not None and (segment.plain.strip() or html_text is None):
            text_parts.append(segment.plain)
        elif html_text is not None:
            text_parts.append(html_text)
    text = "\n\n".join(part.strip("\n") for part in text_parts if part.strip())
    if not text and walk.dsn_text:
        text = walk.dsn_text.replace("\r\n", "\n").strip("\n")

    record = header_record(
        first, hints, normalised, len(raw), internaldate=internaldate, file_time=file_time,
        problems=walk.problems, content_type=msg.get_content_type(),
        has_delivery_status=walk.has_delivery_status,
    )  # fmt: skip
    record.text = text
    record.html_text = "\n\n".join(part for part in html_parts if part)
    record.has_html = bool(html_parts)
    record.snippet = _snippet(text)
    record.attachments = walk.attachments
    record.problems = list(dict.fromkeys(walk.problems))[:MAX_PROBLEMS]
    return record


def header_record(
    first: dict[str, str],
    hints: tuple[str, ...],
    normalised: bytes,
    size: int,
    *,
    internaldate: datetime | None,
    file_time: datetime | None,
    problems: list[str],
    content_type: str,
    has_delivery_status: bool = False,
) -> ParsedMessage:
    """Every header-derived field of the record, body fields left empty.

    Shared by the full parse and the headers-only first pass of a big sync
    (`envelope.parse_envelope`), so both identify and thread a message the same way.
    `first` maps lower-case header names to their first raw value; `normalised` is the raw
    message with LF line endings (what `content_hash` and synthetic ids are computed from).
    """
    message_id = parse_message_id(header_text(first.get("message-id", ""), hints))
    synthetic = not message_id
    if synthetic:
        message_id = synthetic_id(first, normalised)
    subject = decode_header_value(first.get("subject", ""), hints)
    sender = sender_of(first, hints)
    date, date_source = message_date(first, internaldate, file_time, problems)
    kept = {
        name: decode_header_value(value, hints)
        for name, value in first.items()
        if name in KEPT_HEADERS or name.startswith("x-tuidesk-")
    }
    signals = dict(kept)
    signals.update((name, first[name]) for name in SIGNAL_HEADERS if name in first)
    _, ct_params = params(first.get("content-type"))
    list_id = kept.get("list-id", "")
    if "<" in list_id and ">" in list_id:
        list_id = list_id[list_id.index("<") + 1 : list_id.rindex(">")].strip()
    return ParsedMessage(
        message_id=message_id,
        message_id_synthetic=synthetic,
        in_reply_to=parse_id_list(header_text(first.get("in-reply-to", ""), hints)),
        references=parse_id_list(header_text(first.get("references", ""), hints)),
        subject=subject,
        from_addr=sender,
        to=parse_addresses(header_text(first.get("to", ""), hints)),
        cc=parse_addresses(header_text(first.get("cc", ""), hints)),
        reply_to=parse_addresses(header_text(first.get("reply-to", ""), hints)),
        date=date,
        date_source=date_source,
        text="",
        html_text="",
        has_html=False,
        snippet="",
        attachments=[],
        size=size,
        content_hash=hashlib.sha256(normalised).hexdigest(),
        auto_submitted=detect_auto_submitted(
            signals,
            subject=subject,
            sender=sender,
            content_type=content_type,
            report_type=ct_params.get("report-type", ""),
            has_delivery_status=has_delivery_status,
        ),
        list_id=list_id,
        headers=kept,
        problems=problems,
    )


def _minimal(raw: bytes, internaldate: datetime | None, file_time: datetime | None, problem: str) -> ParsedMessage:
    """The record for input the parser could not handle at all: identity and size only."""
    normalised = raw.replace(b"\r\n", b"\n").rstrip()
    date = plausible_time(internaldate) or plausible_time(file_time)
    source = "internaldate" if plausible_time(internaldate) else ("file" if date else "now")
    digest = hashlib.sha256(normalised).hexdigest()
    return ParsedMessage(
        message_id=f"synthetic-{digest[:32]}@tui-desk.invalid",
        message_id_synthetic=True,
        in_reply_to=[],
        references=[],
        subject="",
        from_addr=Address(name=UNKNOWN_SENDER, addr=""),
        to=[],
        cc=[],
        reply_to=[],
        date=date or datetime.now(UTC),
        date_source=source,
        text="",
        html_text="",
        has_html=False,
        snippet="",
        attachments=[],
        size=len(raw),
        content_hash=digest,
        problems=[problem],
    )


def extract_part(raw: bytes, part_path: str) -> bytes:
    """The decoded payload of part `part_path` (as listed in `ParsedAttachment.part_path`).

    For an enclosed message (message/rfc822) this is the message itself, ready to save as
    .eml. Raises KeyError when the message has no such part.
    """
    msg, _ = parse_tree(_as_bytes(raw))
    part = locate(msg, part_path)
    if part is None:
        raise KeyError(part_path)
    if part.get_content_maintype() == "message" and part.get_content_type() != "message/delivery-status":
        inner = enclosed_message(part)
        if inner is not None:
            return flatten(inner)
    if is_multipart(part):
        return flatten(part)
    return payload_bytes(part)[0]
