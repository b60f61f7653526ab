"""Tolerant parsing of the structured headers: addresses, message ids, dates.

Each function takes an already-decoded `str` (see `headertext.header_text` for the
charset work; address headers are decoded *after* splitting, see `parse_addresses`) and
never raises: a header is an untrusted string that at worst yields nothing.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from email.utils import getaddresses, parsedate_to_datetime

from tui_desk.mail.headertext import decode_words
from tui_desk.mail.message import Address

_ANGLE_ID = re.compile(r"<([^<>\s]+)>")
_VALID_ID = re.compile(r"^[^\s<>\x00-\x1f\x7f]{1,500}$")
_SPACED_ID = re.compile(r"<[^<>]{1,500}>")
_ADDR_JUNK = re.compile(r"[\x00-\x1f\x7f]")
# Token separators for picking `local@domain` out of junk. Splitting (rather than a regex
# like `[^<>]+@[^<>]+`) keeps this linear: such a regex backtracks quadratically on a long
# run with no "@" in it.
_ID_SEPARATORS = re.compile(r"[\s<>,;\"()]+")
_ADDR_SEPARATORS = re.compile(r"[\s<>\"(),;:]+")


def _bare_ids(value: str) -> list[str]:
    """`local@domain` tokens (message ids without brackets)."""
    return [t for t in _ID_SEPARATORS.split(value) if "@" in t.strip("@") and not t.startswith("@")]


def _bare_addresses(value: str) -> list[str]:
    """`local@domain` tokens, cut at a second "@" (`a@b@c` -> `a@b`)."""
    found = []
    for token in _ADDR_SEPARATORS.split(value):
        local, _, rest = token.partition("@")
        domain = rest.split("@", 1)[0]
        if local and domain:
            found.append(f"{local}@{domain}")
    return found


_SIMPLE_NAMED = re.compile(r"\s*([^\"<>,;:()\\@\[\]]*?)\s*<([\w.!#$%&'*+/=?^`{|}~-]+@[\w.-]+)>\s*")
_SIMPLE_BARE = re.compile(r"\s*([\w.!#$%&'*+/=?^`{|}~-]+@[\w.-]+)\s*")


def _simple_pairs(value: str) -> list[tuple[str, str]] | None:
    """(name, address) pairs for the everyday forms `Name <a@b>`, `a@b` and lists of them, or
    None for anything else. `getaddresses` walks a header a character at a time and was a third
    of a first sync's cost; this gives the same pairs for these forms (checked on the corpus)."""
    if '"' in value or "(" in value:
        return None
    pairs: list[tuple[str, str]] = []
    for piece in value.split(","):
        if not piece.strip():
            continue
        named = _SIMPLE_NAMED.fullmatch(piece)
        if named:
            pairs.append((" ".join(named.group(1).split()), named.group(2)))
            continue
        bare = _SIMPLE_BARE.fullmatch(piece)
        if not bare:
            return None
        pairs.append(("", bare.group(1)))
    return pairs


def parse_addresses(value: str) -> list[Address]:
    """Split an address header into mailboxes, then decode each display name.

    Splitting happens *before* RFC 2047 decoding so that an encoded comma or angle bracket
    in a name (`=?utf-8?Q?Doe=2C_John?=`) cannot split or forge an address. Garbage that
    `getaddresses` cannot split (unbalanced quotes or brackets) falls back to picking out
    anything shaped like `local@domain`.
    """
    if not value or not value.strip():
        return []
    cleaned = _ADDR_JUNK.sub(" ", value)
    pairs = _simple_pairs(cleaned)
    if pairs is None:
        try:
            pairs = getaddresses([cleaned])
        except Exception:
            pairs = []
    if "@" in cleaned and not any("@" in addr and not addr.startswith("@") for _, addr in pairs):
        pairs = [("", found) for found in _bare_addresses(cleaned)] or pairs
    if "@" not in cleaned and not any(name for name, _ in pairs):
        # "From: Undisclosed sender" - a name and no address at all
        if ":" in cleaned and cleaned.rstrip().endswith(";"):
            return []  # an empty group: "undisclosed-recipients:;"
        whole = " ".join(decode_words(cleaned).split()).strip(' "<>')
        return [Address(name=whole, addr="")] if whole.strip("<>,;: ") else []
    out: list[Address] = []
    for raw_name, raw_addr in pairs:
        name, addr = raw_name, raw_addr.strip()
        if any(ch in addr for ch in ' <>"'):
            found = _bare_addresses(addr)
            if found:
                name = name or addr.replace(found[0], " ").replace("<", " ").replace(">", " ")
                addr = found[0]
        name = " ".join(decode_words(name).split()).strip().strip('"').strip()
        addr = addr.strip().strip("<>").strip()
        if "=?" in addr:
            addr = decode_words(addr).strip()
        addr = addr.lower()
        if not addr and not name:
            continue
        if addr and "@" not in addr and not name and " " in addr:
            name, addr = addr, ""
        out.append(Address(name=name, addr=addr))
    return out


def _squash(match: re.Match[str]) -> str:
    """`<1234   @   local .machine>` (obsolete syntax allows folding whitespace) -> no spaces."""
    return "".join(match.group(0).split())


def parse_message_id(value: str) -> str:
    """The id inside `<...>`, or the first plausible bare token; "" if none is usable."""
    if not value:
        return ""
    if "(" in value:
        value = _COMMENT.sub("", value)
    match = _ANGLE_ID.search(value) or _ANGLE_ID.search(_SPACED_ID.sub(_squash, value))
    candidate = match.group(1) if match else ""
    if not candidate:
        bare = _bare_ids(value)
        candidate = bare[0] if bare else value.strip().strip("<>").strip()
    if not _VALID_ID.match(candidate) or not any(ch.isalnum() for ch in candidate):
        return ""
    return candidate


def parse_id_list(value: str) -> list[str]:
    """Message ids from In-Reply-To / References: bracketed ones, else bare `a@b` tokens.

    Junk between ids (comments, "Your message of ...") is ignored; order kept, duplicates dropped.
    """
    if not value:
        return []
    found = _ANGLE_ID.findall(value) or _bare_ids(value)
    out: list[str] = []
    seen: set[str] = set()
    for item in found:
        item = item.strip()
        if item and item not in seen and _VALID_ID.match(item) and any(ch.isalnum() for ch in item):
            seen.add(item)
            out.append(item)
    return out


_TZ_NAMES = {
    "UT": "+0000", "UTC": "+0000", "GMT": "+0000", "Z": "+0000", "CET": "+0100", "CEST": "+0200",
    "MET": "+0100", "MEST": "+0200", "BST": "+0100", "EET": "+0200", "EEST": "+0300",
    "EST": "-0500", "EDT": "-0400", "CST": "-0600", "CDT": "-0500", "MST": "-0700",
    "MDT": "-0600", "PST": "-0800", "PDT": "-0700", "JST": "+0900", "KST": "+0900",
    "IST": "+0530", "MSK": "+0300", "HKT": "+0800", "AEST": "+1000", "AEDT": "+1100",
}
_COMMENT = re.compile(r"\([^()]*\)")
_ISO = re.compile(
    r"(\d{4})-(\d{1,2})-(\d{1,2})[T ]+(\d{1,2}):(\d{2})(?::(\d{2}))?(?:\.\d+)?\s*(Z|[+-]\d{2}:?\d{2})?"
)
_DMY = re.compile(r"(\d{1,2})[./](\d{1,2})[./](\d{4})[ ,T]+(\d{1,2}):(\d{2})(?::(\d{2}))?\s*([+-]\d{4})?")
_TZ_WORD = re.compile(r"\b([A-Z]{1,4})\b\s*$")
MIN_PLAUSIBLE = datetime(1990, 1, 1, tzinfo=UTC)


def _to_utc(value: datetime) -> datetime:
    """Naive means UTC (RFC 5322 `-0000`: zone unknown); aware is converted."""
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def _offset(text: str | None) -> timedelta:
    """`+0200`, `-05:30` or `Z` as a timedelta."""
    if not text or text == "Z":
        return timedelta(0)
    sign = -1 if text[0] == "-" else 1
    digits = text[1:].replace(":", "")
    return sign * timedelta(hours=int(digits[:2]), minutes=int(digits[2:4] or 0))


def _fallback_date(text: str) -> datetime | None:
    """Dates senders write that `parsedate_to_datetime` refuses: ISO 8601, `dd.mm.yyyy`,
    named zones it does not know, trailing junk."""
    match = _ISO.search(text)
    if match:
        y, mo, d, h, mi, s, tz = match.groups()
        naive = datetime(int(y), int(mo), int(d), int(h), int(mi), int(s or 0))
        return (naive - _offset(tz)).replace(tzinfo=UTC)
    match = _DMY.search(text)
    if match:
        d, mo, y, h, mi, s, tz = match.groups()
        naive = datetime(int(y), int(mo), int(d), int(h), int(mi), int(s or 0))
        return (naive - _offset(tz)).replace(tzinfo=UTC)
    cleaned = " ".join(_COMMENT.sub(" ", text).replace(",", ", ").split())
    cleaned = re.sub(r"\s*:\s*", ":", cleaned)
    zone = _TZ_WORD.search(cleaned)
    if zone and zone.group(1) in _TZ_NAMES:
        cleaned = cleaned[: zone.start()] + _TZ_NAMES[zone.group(1)]
    for attempt in (cleaned, cleaned.rsplit(" ", 1)[0]):
        try:
            return parsedate_to_datetime(attempt)
        except (TypeError, ValueError, IndexError, OverflowError):
            continue
    return None


def parse_date(value: str, *, now: datetime | None = None) -> datetime | None:
    """A tz-aware UTC datetime from a Date header, or None if missing, junk or absurd
    (before 1990 or more than a day in the future: both mean a broken clock or a forgery)."""
    if not value or not value.strip():
        return None
    text = value.strip()
    result: datetime | None
    try:
        result = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError, OverflowError):
        result = None
    if result is None or (result.tzinfo is None and _TZ_WORD.search(_COMMENT.sub(" ", text).strip())):
        try:
            result = _fallback_date(text) or result
        except (TypeError, ValueError, OverflowError):
            result = None
    return plausible_time(result, now=now)


def plausible_time(value: datetime | None, *, now: datetime | None = None) -> datetime | None:
    """`value` as aware UTC if it is a plausible mail time (same rule as `parse_date`)."""
    if value is None:
        return None
    try:
        result = _to_utc(value)
    except (ValueError, OverflowError):
        return None
    current = now or datetime.now(UTC)
    if result < MIN_PLAUSIBLE or result > current + timedelta(days=1):
        return None
    return result
