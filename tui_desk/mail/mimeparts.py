"""Part-level helpers for the MIME walk: raw headers, parameters, payloads, part paths.

The stdlib parser is used with the fast `compat32` policy, which hands back header values
as raw strings (8-bit bytes smuggled as surrogates). Everything that interprets them
(parameters with RFC 2231 continuations and charsets, transfer encodings, part paths) lives
here, written to tolerate what real senders produce and never to raise.
"""

from __future__ import annotations

import binascii
import io
import re
from email.errors import MissingHeaderBodySeparatorDefect
from email.generator import BytesGenerator
from email.message import Message
from email.parser import BytesHeaderParser, BytesParser
from email.policy import compat32
from urllib.parse import unquote_to_bytes

from tui_desk.mail.charsets import decode_bytes, surrogate_str_to_bytes
from tui_desk.mail.headertext import decode_words

_PARSER = BytesParser(policy=compat32)
_HEADER_PARSER = BytesHeaderParser(policy=compat32)
_PARAM_NAME = re.compile(r"^([^*]+)\*(?:(\d+)\*?)?$")
_B64_JUNK = re.compile(rb"[^A-Za-z0-9+/]")


_HEADER_LINE = re.compile(rb"^([!-9;-~]+)[ \t]*:")
_KNOWN_HEADER = re.compile(
    rb"^(?:from|to|cc|subject|date|message-id|reply-to|sender|mime-version|content-[a-z-]+|"
    rb"received|return-path|delivered-to|in-reply-to|references|x-[!-9;-~]+)[ \t]*:",
    re.IGNORECASE,
)


def _repair_headers(raw: bytes) -> bytes | None:
    """Fix a header block the stdlib gave up on half-way (it treats everything after the
    first non-header line as body, losing From/Subject/Date that follow).

    A junk line is dropped when known headers follow it; otherwise it is where the body
    starts and the missing blank line is inserted. `Name  : value` (obsolete syntax) is
    normalised to `Name: value`. Returns None when there is nothing to repair.
    """
    end = raw.find(b"\n\n")
    crlf_end = raw.find(b"\r\n\r\n")
    if crlf_end >= 0 and (end < 0 or crlf_end < end):
        end = crlf_end + 2
    block, rest = (raw[:end], raw[end:]) if end >= 0 else (raw, b"")
    lines = block.split(b"\n")
    last_known = max((i for i, line in enumerate(lines) if _KNOWN_HEADER.match(line)), default=-1)
    out: list[bytes] = []
    changed = False
    for index, line in enumerate(lines):
        bare = line.rstrip(b"\r")
        match = _HEADER_LINE.match(bare)
        if match:
            fixed = match.group(1) + b":" + line[match.end() :]
            changed = changed or fixed != line
            out.append(fixed)
        elif bare[:1] in (b" ", b"\t") and out:
            out.append(line)
        elif index == 0 and bare.startswith(b"From "):
            out.append(line)  # mbox "From " line
        elif index < last_known:
            changed = True  # junk inside the header block
        else:
            return b"\n".join(out) + b"\n\n" + b"\n".join(lines[index:]) + rest
    return b"\n".join(out) + rest if changed else None


def parse_tree(raw: bytes) -> tuple[Message, str]:
    """Parse `raw` into a compat32 message tree; on failure (e.g. absurdly deep nesting)
    parse the headers only, so the body becomes one opaque part. Returns (tree, problem)."""
    try:
        msg = _PARSER.parsebytes(raw)
        if not any(isinstance(d, MissingHeaderBodySeparatorDefect) for d in msg.defects):
            return msg, ""
        repaired = _repair_headers(raw)
        if repaired is None:
            return msg, ""
        return _PARSER.parsebytes(repaired), "malformed header block repaired"
    except Exception as exc:  # RecursionError on absurd nesting, anything on hostile input
        problem = f"MIME structure unparseable ({type(exc).__name__}); body kept as one part"
    try:
        return _HEADER_PARSER.parsebytes(raw), problem
    except Exception:
        msg = Message()
        msg.set_payload(raw.decode("ascii", "surrogateescape"))
        return msg, problem


def header(part: Message, name: str) -> str | None:
    """First raw value of header `name` (case-insensitive), or None. No decoding."""
    name = name.lower()
    for key, value in part.raw_items():
        if key.lower() == name:
            return value if isinstance(value, str) else str(value)
    return None


def _split_params(value: str) -> list[str]:
    """Split on `;` outside double quotes, in one linear pass."""
    pieces: list[str] = []
    current: list[str] = []
    quoted = escaped = False
    for ch in value:
        if escaped:
            escaped = False
        elif ch == "\\" and quoted:
            escaped = True
        elif ch == '"':
            quoted = not quoted
        elif ch == ";" and not quoted:
            pieces.append("".join(current))
            current = []
            continue
        current.append(ch)
    pieces.append("".join(current))
    return pieces


def _unquote(value: str) -> str:
    """A parameter value without its quotes and backslash escapes (unbalanced quotes tolerated)."""
    value = value.strip()
    if value.startswith('"'):
        value = value[1:-1] if value.endswith('"') and len(value) > 1 else value[1:]
        value = re.sub(r"\\(.)", r"\1", value)
    return value


def params(value: str | None, hints: tuple[str, ...] = ()) -> tuple[str, dict[str, str]]:
    """Parse a Content-Type / Content-Disposition value into (lower-case main value, params).

    Handles RFC 2231 (`name*=charset'lang'%XX`, `name*0*=` continuations), raw 8-bit
    values (decoded along the charset chain with `hints`) and the common non-standard
    RFC 2047 words inside quoted values. Parameter names are lower-cased; first one wins.
    """
    if not value:
        return "", {}
    value = re.sub(r"\r?\n", "", value)
    pieces = _split_params(value)
    main = pieces[0].strip().strip('"').lower()
    plain: dict[str, str] = {}
    extended: dict[str, list[tuple[int, bool, str]]] = {}
    for piece in pieces[1:]:
        name, eq, raw = piece.partition("=")
        name = name.strip().lower()
        if not eq or not name:
            continue
        match = _PARAM_NAME.match(name)
        if match:
            index = int(match.group(2)) if match.group(2) else 0
            encoded = name.endswith("*")
            extended.setdefault(match.group(1), []).append((index, encoded, _unquote(raw)))
        elif name not in plain:
            plain[name] = _unquote(raw)
    result: dict[str, str] = {}
    for name, raw_value in plain.items():
        text = raw_value
        if not text.isascii():
            text = decode_bytes(surrogate_str_to_bytes(text), None, hints)[0]
        result[name] = decode_words(text) if "=?" in text else text
    for name, segments in extended.items():
        result[name] = _join_2231(sorted(segments, key=lambda s: s[0]), hints)
    return main, result


def _join_2231(segments: list[tuple[int, bool, str]], hints: tuple[str, ...]) -> str:
    """Join RFC 2231 continuation segments and decode them in the declared charset."""
    charset = ""
    data = bytearray()
    for position, (_, encoded, text) in enumerate(segments):
        if encoded and position == 0 and text.count("'") >= 2:
            charset, _, text = text.split("'", 2)
        if encoded:
            data += unquote_to_bytes(surrogate_str_to_bytes(text))
        else:
            data += surrogate_str_to_bytes(text)
    decoded = decode_bytes(bytes(data), charset or None, hints)[0]
    return decode_words(decoded) if "=?" in decoded else decoded


def transfer_encoding(part: Message) -> str:
    """Normalised Content-Transfer-Encoding: base64, quoted-printable, uuencode or ""."""
    value = (header(part, "content-transfer-encoding") or "").strip().strip('"').lower()
    value = value.split(";", 1)[0].strip()
    if "base64" in value or value in ("b64", "base-64"):
        return "base64"
    if "quoted-printable" in value or value in ("qp", "quoted_printable"):
        return "quoted-printable"
    if "uu" in value:
        return "uuencode"
    return ""


def decode_transfer(data: bytes, cte: str, part: Message | None = None) -> tuple[bytes, str]:
    """Undo a transfer encoding, forgiving broken padding and junk. Returns (bytes, problem)."""
    if cte == "base64":
        try:
            return binascii.a2b_base64(data), ""
        except (binascii.Error, ValueError):
            cleaned = _B64_JUNK.sub(b"", data)
            if len(cleaned) % 4 == 1:
                cleaned = cleaned[:-1]
            cleaned += b"=" * (-len(cleaned) % 4)
            try:
                return binascii.a2b_base64(cleaned), "broken base64 repaired"
            except (binascii.Error, ValueError):
                return data, "undecodable base64 kept as is"
    if cte == "quoted-printable":
        try:
            return binascii.a2b_qp(data), ""
        except (binascii.Error, ValueError):
            return data, "undecodable quoted-printable kept as is"
    if cte == "uuencode" and part is not None:
        try:
            decoded = part.get_payload(decode=True)
            if isinstance(decoded, bytes):
                return decoded, ""
        except Exception:
            pass
        return data, "undecodable uuencode kept as is"
    return data, ""


def flatten(msg: Message) -> bytes:
    """Serialise a (sub)message back to bytes, headers unfolded as received."""
    buffer = io.BytesIO()
    try:
        BytesGenerator(buffer, mangle_from_=False, maxheaderlen=0, policy=compat32).flatten(msg)
    except Exception:
        return buffer.getvalue()
    return buffer.getvalue()


def payload_bytes(part: Message) -> tuple[bytes, str]:
    """The decoded payload of a leaf (or the serialised content of a message/* part).

    Returns (bytes, problem); the problem string is empty when all went well.
    """
    payload = raw_payload(part)
    if isinstance(payload, list):
        data = b"\n".join(flatten(sub) for sub in payload if isinstance(sub, Message))
    elif payload is None:
        data = b""
    else:
        data = surrogate_str_to_bytes(str(payload))
    return decode_transfer(data, transfer_encoding(part), part)


def enclosed_message(part: Message) -> Message | None:
    """The message inside a message/rfc822 (or message/global ...) part, re-parsed when
    the sender base64- or QP-encoded it (the stdlib parser does not look inside)."""
    payload = raw_payload(part)
    if not isinstance(payload, list) or not payload or not isinstance(payload[0], Message):
        return None
    inner = payload[0]
    cte = transfer_encoding(part)
    if cte in ("base64", "quoted-printable"):
        data, _ = decode_transfer(flatten(inner).lstrip(b"\r\n"), cte)
        inner, _ = parse_tree(data)
    return inner


def raw_payload(part: Message) -> str | list[Message] | None:
    """The payload as parsed: a list of sub-messages, or the body as a str (8-bit bytes as
    surrogates). Not `get_payload()`: with compat32 that decodes 8-bit text with the declared
    charset and errors="replace", destroying the bytes the charset chain needs."""
    payload = getattr(part, "_payload", None)
    return payload if isinstance(payload, str | list) else None


def is_multipart(part: Message) -> bool:
    """A multipart whose boundary was found (otherwise the stdlib keeps the body as text)."""
    return isinstance(raw_payload(part), list) and part.get_content_maintype() == "multipart"


def approx_size(msg: Message, memo: dict[int, int]) -> int:
    """Byte size of a (sub)message as it would be saved, without serialising it.

    Exact up to line endings. Iterative (no recursion limit on hostile nesting) and
    memoised by part, so sizing nested forwards at every level stays cheap.
    """
    stack: list[tuple[Message, bool]] = [(msg, False)]
    while stack:
        node, children_done = stack.pop()
        if id(node) in memo:
            continue
        payload = raw_payload(node)
        children = [sub for sub in payload if isinstance(sub, Message)] if isinstance(payload, list) else []
        if children and not children_done:
            stack.append((node, True))
            stack.extend((child, False) for child in children if id(child) not in memo)
            continue
        size = sum(len(name) + len(str(value)) + 3 for name, value in node.raw_items()) + 1
        if isinstance(payload, list):
            boundary = len(node.get_boundary("") or "") + 5
            size += sum(memo[id(child)] + boundary for child in children)
            size += len(node.preamble or "") + len(node.epilogue or "") + boundary
        elif payload is not None:
            size += len(payload)
        memo[id(node)] = size
    return memo[id(msg)]


def child_parts(part: Message) -> list[Message]:
    """The sub-parts of a multipart (or the enclosed message of a message/* part)."""
    payload = raw_payload(part)
    return [p for p in payload if isinstance(p, Message)] if isinstance(payload, list) else []


def locate(msg: Message, part_path: str, max_depth: int = 64) -> Message | None:
    """Find the part numbered `part_path` (IMAP BODY[section] numbering) in `msg`."""
    try:
        indexes = [int(x) for x in part_path.split(".")]
    except ValueError:
        return None
    if not indexes or len(indexes) > max_depth or min(indexes) < 1:
        return None
    current, as_message = msg, True
    for n in indexes:
        if not as_message and not is_multipart(current):
            if current.get_content_maintype() != "message" or current.get_content_type() == (
                "message/delivery-status"
            ):
                return None
            inner = enclosed_message(current)
            if inner is None:
                return None
            current, as_message = inner, True
        if is_multipart(current):
            children = child_parts(current)
            if n > len(children):
                return None
            current = children[n - 1]
        elif n != 1 or not as_message:
            return None
        as_message = False
    return current
