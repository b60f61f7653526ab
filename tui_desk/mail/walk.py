"""Walk a parsed MIME tree: number parts like IMAP body sections, split text from attachments.

The walk yields text *segments* (the plain and/or HTML rendering of one piece of
content: a multipart/alternative collapses to one segment) and `ParsedAttachment`s.
Numbering follows IMAP BODY[section] so that `mimeparts.locate` (and so
`parse.extract_part`) finds the same part again: children of a multipart are `n`, `n.m`;
the body of a non-multipart message is `1`; an enclosed message/rfc822 at `2` has its
own parts at `2.1`, `2.2` ...
"""

from __future__ import annotations

import mimetypes
import re
from dataclasses import dataclass, field
from email.message import Message

from tui_desk.mail.charsets import decode_bytes, normalise_charset
from tui_desk.mail.headertext import decode_header_value
from tui_desk.mail.message import ParsedAttachment
from tui_desk.mail.mimeparts import (
    approx_size,
    child_parts,
    enclosed_message,
    header,
    is_multipart,
    params,
    payload_bytes,
)
from tui_desk.mail.sanitize import safe_filename

_CONTROL_CHARS = re.compile("[\x00-\x08\x0b\x0e-\x1f]")
MAX_DEPTH = 40
"""Deeper MIME nesting than this is not walked (kept as an opaque attachment)."""
_DATA_TEXT_TYPES = frozenset(
    {"text/calendar", "text/x-vcalendar", "text/vcard", "text/x-vcard", "text/directory", "text/csv",
     "text/rfc822-headers", "text/x-patch", "text/x-diff"}
)  # fmt: skip


@dataclass(slots=True)
class Segment:
    """One piece of content: its text/plain and/or text/html rendering (alternatives)."""

    plain: str | None = None
    html: str | None = None


@dataclass(slots=True)
class _Info:
    """What the walk needs from a part's headers, parsed once."""

    ctype: str
    charset: str | None
    disposition: str
    filename: str
    content_id: str


def _info(part: Message, hints: tuple[str, ...] = ()) -> _Info:
    """Content type, charset, disposition, sender's file name and Content-ID of `part`."""
    _, ct = params(header(part, "content-type"), hints)
    disposition, cd = params(header(part, "content-disposition"), hints)
    return _Info(
        ctype=part.get_content_type(),
        charset=ct.get("charset"),
        disposition=disposition,
        filename=" ".join((cd.get("filename") or ct.get("name") or "").split()),
        content_id=(header(part, "content-id") or "").strip().strip("<>").strip(),
    )


@dataclass(slots=True)
class Walk:
    """State of one walk over a message tree."""

    attachments: list[ParsedAttachment] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    charsets: list[str] = field(default_factory=list)
    has_delivery_status: bool = False
    dsn_text: str = ""
    _sizes: dict[int, int] = field(default_factory=dict)

    def message(self, msg: Message, path: str, depth: int) -> list[Segment]:
        """Walk a (top-level or enclosed) message whose entity number is `path`."""
        if is_multipart(msg):
            return self.multipart(msg, path, depth)
        return self.part(msg, _join(path, 1), depth)

    def part(self, part: Message, path: str, depth: int) -> list[Segment]:
        """Walk one body part at `path`; a failure is confined to this part."""
        try:
            if depth > MAX_DEPTH:
                self.problems.append(f"part {path}: nested deeper than {MAX_DEPTH} levels, not walked")
                self.attach(_info(part), path, approx_size(part, self._sizes))
                return []
            if is_multipart(part):
                return self.multipart(part, path, depth)
            info = _info(part, tuple(self.charsets))
            if part.get_content_maintype() == "message" and info.ctype != "message/delivery-status":
                inner = enclosed_message(part)
                if inner is not None:
                    return self.enclosed(info, inner, path, depth)
            return self.leaf(part, info, path)
        except Exception as exc:  # keep the part, explain, go on with the rest
            self.problems.append(f"part {path}: {type(exc).__name__} while decoding; kept as attachment")
            name = f"part-{path}.bin"
            self.attachments.append(ParsedAttachment(name, name, "application/octet-stream", 0, path))
            return []

    def multipart(self, part: Message, path: str, depth: int) -> list[Segment]:
        """Children in order; an alternative collapses to one segment (first plain, last HTML);
        a report contributes only its human-readable first part as text."""
        subtype = part.get_content_subtype()
        children = [self.part(child, _join(path, i), depth + 1) for i, child in enumerate(child_parts(part), 1)]
        if subtype == "alternative":
            plain = next((s.plain for segs in children for s in segs if s.plain is not None), None)
            htmls = [s.html for segs in children for s in segs if s.html is not None]
            return [Segment(plain, htmls[-1] if htmls else None)] if plain is not None or htmls else []
        if subtype == "report":  # bounce: only the human-readable first part is text
            return children[0] if children else []
        return [segment for segs in children for segment in segs]

    def enclosed(self, info: _Info, inner: Message, path: str, depth: int) -> list[Segment]:
        """A forwarded or returned message: a readable header block, then its content.

        The enclosed message is also listed as an attachment (saveable as .eml)."""
        first_charset = len(self.charsets)
        slot = len(self.attachments)  # the message itself is listed before its own attachments
        segments = self.message(inner, path, depth + 1)
        hints = tuple(self.charsets[first_charset:])
        lines = ["---------- Forwarded message ----------"]
        subject = ""
        for name in ("From", "Date", "Subject", "To", "Cc"):
            value = header(inner, name)
            if value is not None:
                decoded = " ".join(decode_header_value(value, hints).split())
                subject = decoded if name == "Subject" else subject
                lines.append(f"{name}: {decoded}")
        info.ctype = "message/rfc822"
        info.filename = info.filename or f"{subject or 'message'}.eml"
        self.attach(info, path, approx_size(inner, self._sizes), slot)
        return [Segment(plain="\n".join(lines) + "\n"), *segments]

    def leaf(self, part: Message, info: _Info, path: str) -> list[Segment]:
        """A body text part becomes a segment; anything else (or binary posing as text) an attachment."""
        data, problem = payload_bytes(part)
        if problem:
            self.problems.append(f"part {path}: {problem}")
        if part.get_content_maintype() == "multipart":
            self.problems.append(f"part {path}: {info.ctype} without usable boundary, read as text")
            info.ctype = "text/plain"
        if info.ctype == "message/delivery-status":
            self.has_delivery_status = True
            self.dsn_text = self.dsn_text or decode_bytes(data, info.charset)[0]
        is_text = info.ctype.startswith("text/") and info.ctype not in _DATA_TEXT_TYPES
        if is_text and info.disposition != "attachment" and (not info.filename or info.disposition == "inline"):
            text, used = decode_bytes(data, info.charset)
            if used != "ascii":
                declared_codec = normalise_charset(info.charset)
                self.charsets.extend(c for c in (declared_codec, used) if c and c not in self.charsets)
                if declared_codec != used and (declared_codec or used != "utf-8"):
                    declared = info.charset or "undeclared"
                    self.problems.append(f"part {path}: charset {declared!r}, decoded as {used}")
            if _looks_binary(text):
                self.problems.append(f"part {path}: binary data in a {info.ctype} part, kept as attachment")
                info.ctype = "application/octet-stream"
                self.attach(info, path, len(data))
                return []
            text = text.replace("\r\n", "\n")
            if info.filename:
                self.attach(info, path, len(data))
            return [Segment(html=text)] if info.ctype == "text/html" else [Segment(plain=text)]
        self.attach(info, path, len(data))
        return []

    def attach(self, info: _Info, path: str, size: int, slot: int | None = None) -> None:
        """List the part as an attachment (at `slot` if given), with a safe file name."""
        original = info.filename
        if not original:
            ctype = info.ctype
            ext = ".eml" if ctype == "message/rfc822" else mimetypes.guess_extension(ctype, strict=False) or ".bin"
            original = "winmail.dat" if ctype == "application/ms-tnef" else f"part-{path}{ext}"
        self.attachments.insert(
            len(self.attachments) if slot is None else slot,
            ParsedAttachment(
                filename=safe_filename(original, f"part-{path}.bin"),
                original_filename=original,
                content_type=info.ctype,
                size=size,
                part_path=path,
                content_id=info.content_id,
                inline=info.disposition == "inline" or (not info.disposition and bool(info.content_id)),
            ),
        )


def _looks_binary(text: str) -> bool:
    """Control characters in more than 10% of the start: not text (an Outlook .msg, a zip)."""
    sample = text[:4096]
    return len(_CONTROL_CHARS.findall(sample)) > 0.1 * len(sample)


def _join(path: str, index: int) -> str:
    """Child number `index` of the entity at `path` ("" is the top level)."""
    return f"{path}.{index}" if path else str(index)
