"""Ticket ids, subject tags and subject normalisation: pure functions, no database.

A ticket id is "T-" + Crockford base32 of sha256(root Message-ID), so every agent's machine
derives the same id from the same mail without talking to the others. Length: with n tickets
and b bits the chance that any two collide is about n²/2^(b+1) (birthday bound). At 100k
tickets 5 characters (25 bits) collide almost surely and 7 (35 bits) with ~15 %; 8 characters
(40 bits) give ~0.5 %, and a local collision is resolved by lengthening (see `threading`).
"""

from __future__ import annotations

import hashlib
import re

CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
REF_LENGTH = 8
REF_PREFIX = "T-"

# Our replies carry "[#T-4F7K2AB9]" in the subject; customers' mail clients keep it.
TAG_RE = re.compile(r"\[#\s*(T-[0-9A-Z]{5,16})\s*\]", re.IGNORECASE)

# Reply/forward markers of the mail clients our users meet, in many languages, each optionally
# numbered ("Re[2]:", "Re(3):") and with a space before the colon ("Re :", French style).
_PREFIXES = (
    "re", "fwd?", "aw", "wg", "sv", "vs", "vb", "vl", "tr", "rif", "antw", "doorst", "odp", "pd", "odg",
    "odgovor", "prosl", "prosledjeno", "rép", "ynt", "ilt", "vá", "továbbítás",
    "отв", "ответ", "пер", "перес", "переслано", "одг", "отг", "відп", "ΑΠ", "ΣΧΕΤ", "ΠΡΘ",
    "回复", "答复", "转发", "回覆", "轉寄",
)  # fmt: skip
_PREFIX_RE = re.compile(
    r"^\s*(?:(?:" + "|".join(_PREFIXES) + r")\s*(?:\[\d+\]|\(\d+\))?\s*[:：]\s*|\[#\s*T-[0-9A-Z]{5,16}\s*\]\s*)",
    re.IGNORECASE,
)
_SPACE = re.compile(r"\s+")


def crockford(data: bytes, length: int) -> str:
    """The first `length` base32 characters (5 bits each) of `data`."""
    value = int.from_bytes(data, "big")
    bits = len(data) * 8
    return "".join(CROCKFORD[(value >> (bits - 5 * (i + 1))) & 31] for i in range(length))


def ref_for(root: str, length: int = REF_LENGTH) -> str:
    """The public ticket id for a conversation whose root Message-ID is `root`."""
    return REF_PREFIX + crockford(hashlib.sha256(root.encode("utf-8", "surrogatepass")).digest(), length)


def normalise_ref(text: str) -> str:
    """What a person typed (any case, with or without "T-", Crockford look-alikes) as a ref prefix."""
    value = text.strip().upper().replace("O", "0").replace("I", "1").replace("L", "1")
    value = value.removeprefix("#")
    if value.startswith("T-"):
        value = value[2:]
    elif value.startswith("T") and len(value) > 1 and value[1] in CROCKFORD:
        value = value[1:]
    return REF_PREFIX + value


def tags_in_subject(subject: str) -> list[str]:
    """Ticket refs quoted in a subject, in order."""
    return [m.upper() for m in TAG_RE.findall(subject)]


def strip_prefixes(subject: str) -> str:
    """The subject without any run of reply/forward markers and ticket tags in front."""
    text = subject
    for _ in range(50):  # bounded: a hostile subject cannot make this loop forever
        stripped = _PREFIX_RE.sub("", text, count=1)
        if stripped == text:
            break
        text = stripped
    text = TAG_RE.sub(" ", text)
    return _SPACE.sub(" ", text).strip()


def subject_key(subject: str) -> str:
    """The normalised subject used for last-resort threading: no markers, case-folded."""
    return strip_prefixes(subject).casefold()


def has_reply_marker(subject: str) -> bool:
    return bool(_PREFIX_RE.match(subject))
