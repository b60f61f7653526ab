"""Headers-only parsing for the first pass of a big sync.

A first sync of a large mailbox is decided by parsing speed, not by the network: the full MIME
walk (`parse.parse_message`) costs ~0.4 ms a message, the headers alone a tenth of that. So a
big first sync stores each message with its envelope (everything threading and the ticket list
need) plus its raw bytes, and the bodies are parsed in a second pass (`tickets.bodies`), on both
cores, while the user already works. Every field this module fills is computed by the same
functions as in `parse_message`, so the second pass never changes a message's identity.
"""

from __future__ import annotations

import re
from datetime import datetime

from tui_desk.mail.message import ParsedMessage
from tui_desk.mail.mimeparts import params
from tui_desk.mail.parse import header_record, parse_message

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
    content_type, _ = params(first.get("content-type"))
    record = header_record(
        first, hints, normalised, len(raw), internaldate=internaldate, file_time=None, problems=[],
        content_type=(content_type or "text/plain").lower(),
    )  # fmt: skip
    record.body_pending = True
    return record
