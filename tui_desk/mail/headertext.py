"""Header values to text: unfolding, raw 8-bit bytes and RFC 2047 encoded-words.

Our own RFC 2047 decoder (not `email.header`) because it must survive what senders
actually produce: adjacent words with no space, a multi-byte character split across two
words, words inside quoted strings, broken base64 padding, unknown charsets. Bytes are
turned into text with `charsets.decode_bytes`, so every charset alias and fallback
applies to headers too.
"""

from __future__ import annotations

import binascii
import contextlib
import re

from tui_desk.mail.charsets import decode_bytes, surrogate_str_to_bytes, undo_double_encoding

_ENCODED_WORD = re.compile(r"=\?([^?\s]{1,64})\?([qQbB])\?([^?]*?)\?=")
_FOLD = re.compile(r"\r?\n(?=[ \t])|\r?\n$")
_B64_JUNK = re.compile(r"[^A-Za-z0-9+/]")


def _decode_b(text: str) -> bytes:
    """Base64 that forgives missing or extra padding and stray characters."""
    cleaned = _B64_JUNK.sub("", text.replace("-", "+").replace("_", "/"))
    if not cleaned and text.strip("="):
        raise ValueError("no base64 in encoded-word")
    if len(cleaned) % 4 == 1:
        cleaned = cleaned[:-1]
    cleaned += "=" * (-len(cleaned) % 4)
    return binascii.a2b_base64(cleaned)


def _decode_q(text: str) -> bytes:
    """RFC 2047 Q encoding; invalid `=XY` escapes are kept literally."""
    return binascii.a2b_qp(text.encode("utf-8", "surrogateescape"), header=True)


def decode_words(text: str) -> str:
    """Decode RFC 2047 encoded-words in an already-unicode header value.

    Consecutive words in one charset are joined as *bytes* before decoding, because
    senders split multi-byte characters across words; whitespace between encoded words
    is dropped (RFC 2047 section 6.2).
    """
    if "=?" not in text:
        return text
    out: list[str] = []
    pending = bytearray()
    pending_charset = ""
    pos = 0
    for match in _ENCODED_WORD.finditer(text):
        try:
            raw = _decode_b(match.group(3)) if match.group(2) in "bB" else _decode_q(match.group(3))
        except (binascii.Error, ValueError):
            continue  # undecodable word: it stays in the text, as part of the next gap
        gap = text[pos : match.start()]
        # whitespace between two encoded words is folding, not content
        if gap and not (pos and gap.isspace()):
            if pending:
                out.append(decode_bytes(bytes(pending), pending_charset)[0])
                pending.clear()
            out.append(gap)
        charset = match.group(1).split("*", 1)[0].lower()
        if pending and charset != pending_charset:
            out.append(decode_bytes(bytes(pending), pending_charset)[0])
            pending.clear()
        pending_charset = charset
        pending += raw
        pos = match.end()
    if pending:
        out.append(decode_bytes(bytes(pending), pending_charset)[0])
    out.append(text[pos:])
    return "".join(out)


def header_text(value: str | bytes, hints: tuple[str, ...] = ()) -> str:
    """Unfold a raw header value and decode raw 8-bit bytes, leaving RFC 2047 words alone.

    `value` is bytes or a str straight from the compat32 parser (which carries raw 8-bit
    bytes as surrogates). Undeclared 8-bit text goes through the fallback chain with
    `hints` (typically the body's charset) after UTF-8. Address headers need this
    intermediate form: they must be split into mailboxes before words are decoded.
    """
    try:
        if isinstance(value, str) and value.isascii():
            if "+" in value and "utf-7" in hints:  # a UTF-7 mail's raw headers: "Fr+APY-sche"
                with contextlib.suppress(UnicodeError):
                    value = value.encode("ascii").decode("utf-7")
            return _FOLD.sub("", value).strip()
        raw = value if isinstance(value, bytes) else surrogate_str_to_bytes(value)
        text, used = decode_bytes(raw, None, hints)
        if used == "utf-8":
            text = undo_double_encoding(text, hints)
        return _FOLD.sub("", text).strip()
    except Exception:  # defensive: a header must never take the whole message down
        if isinstance(value, bytes):
            return value.decode("latin-1").strip()
        return value.encode("utf-8", "replace").decode("utf-8").strip()


def decode_header_value(value: str | bytes, hints: tuple[str, ...] = ()) -> str:
    """Fully decode one raw header value: unfold, raw 8-bit bytes, RFC 2047 words."""
    text = header_text(value, hints)
    try:
        return decode_words(text).strip()
    except Exception:  # defensive, as above
        return text
