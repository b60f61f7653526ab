"""Headers-only parsing for the first pass of a big sync.

A first sync of a large mailbox is decided by parsing speed, not by the network: the full MIME
walk (`parse.parse_message`) costs ~0.4 ms a message, the headers alone a tenth of that. So a
big first sync stores each message with its envelope (everything threading and the ticket list
need) plus its raw bytes, and the bodies are parsed in a second pass (`tickets.bodies`), on both
cores, while the user already works. Every field this module fills is computed by the same
functions as in `parse_message`, so the second pass never changes a message's identity.
"""

from __future__ import annotations

import hashlib
import re
from datetime import datetime

from tui_desk.mail.autoreply import detect_auto_submitted
from tui_desk.mail.headers import parse_addresses, parse_id_list, parse_message_id
from tui_desk.mail.headertext import decode_header_value, header_text
from tui_desk.mail.message import ParsedMessage
from tui_desk.mail.mimeparts import params
from tui_desk.mail.parse import (
    KEPT_HEADERS,
    SIGNAL_HEADERS,
    message_date,
    parse_message,
    sender_of,
    synthetic_id,
)

_HEADER_END = re.compile(rb"\r?\n\r?\n")
_FIELD = re.compile(rb"^([!-9;-~]+)[ \t]*:[ \t]*(.*(?:\r?\n[ \t].*)*)", re.M)
# A header line that is neither a field nor a continuation: the full parser repairs such blocks.
_ODD_LINE = re.compile(rb"^(?![ \t]|[!-9;-~]+[ \t]*:)[^\r\n]*\S", re.M)
_CHARSET = re.compile(rb"charset\s*=\s*\"?([A-Za-z0-9_.:-]{1,40})", re.I)


def _headers(block: bytes) -> dict[str, str]:
    """Lower-case name -> first value, as str with undecodable bytes kept as surrogates (the same
    form the compat32 parser hands to `parse_message`)."""
    first: dict[str, str] = {}
    for match in _FIELD.finditer(block):
        name = match.group(1).decode("ascii").lower()
        if name not in first:
            first[name] = match.group(2).rstrip(b"\r\n").decode("ascii", "surrogateescape")
    return first


def parse_envelope(raw: bytes, *, internaldate: datetime | None = None) -> ParsedMessage:
    """The envelope of `raw` (no body text, no attachments); falls back to the full parse for
    anything unusual (no header/body separator, no From) so odd mail is never mis-stored."""
    split = _HEADER_END.search(raw)
    if split is None or not raw[:1].isalpha():
        return parse_message(raw, internaldate=internaldate)
    block = raw[: split.start()]
    first = _headers(block)
    if "from" not in first or _ODD_LINE.search(block):
        return parse_message(raw, internaldate=internaldate)
    hints = tuple(m.decode("ascii").lower() for m in _CHARSET.findall(raw[: split.end() + 2048])[:2])
    normalised = raw.replace(b"\r\n", b"\n").rstrip()
    problems: list[str] = []
    message_id = parse_message_id(header_text(first.get("message-id", ""), hints))
    synthetic = not message_id
    if synthetic:
        message_id = synthetic_id(first, normalised)
    subject = decode_header_value(first.get("subject", ""), hints)
    sender = sender_of(first, hints)
    date, date_source = message_date(first, internaldate, None, problems)
    kept = {name: decode_header_value(value, hints) for name, value in first.items()
            if name in KEPT_HEADERS or name.startswith("x-tuidesk-")}  # fmt: skip
    signals = dict(kept)
    signals.update((name, first[name]) for name in SIGNAL_HEADERS if name in first)
    content_type, ct_params = params(first.get("content-type"))
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
        size=len(raw),
        content_hash=hashlib.sha256(normalised).hexdigest(),
        auto_submitted=detect_auto_submitted(
            signals,
            subject=subject,
            sender=sender,
            content_type=(content_type or "text/plain").lower(),
            report_type=ct_params.get("report-type", ""),
        ),
        list_id=list_id,
        headers=kept,
        problems=problems,
        body_pending=True,
    )
