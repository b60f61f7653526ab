"""Bytes to text for mail: the charset fallback chain. Never raises.

Real mail lies about its charset all the time: `latin1` that is really windows-1252,
`utf-8` that is really windows-1250, Korean labelled with a name Python does not know,
8-bit headers with no label at all. The chain used everywhere is

    BOM -> declared charset (normalised, aliased) -> UTF-8 -> hints (e.g. the body's charset)
    -> near-miss (declared/UTF-8 with a stray bad byte) -> best guess -> latin-1

where the guess re-ranks charset-normalizer's candidates plus the charsets common in mail
(`detect`). On top, a few repairs for damage seen in the wild: valid UTF-8 under a legacy
label, legacy bytes double-encoded as UTF-8 by a gateway, ISO-2022-JP with the NEC
extensions, UTF-16 without a BOM. RFC 2047 header words are in `headertext`.
"""

from __future__ import annotations

import codecs
import re
from functools import lru_cache

from charset_normalizer import from_bytes

from tui_desk.mail.detect import COMMON_CHARSETS, best_candidate, plausibility

_ALIASES = {
    "ks_c_5601-1987": "cp949",
    "ks_c_5601": "cp949",
    "ks_c_5601-1989": "cp949",
    "ksc5601": "cp949",
    "euc-kr": "cp949",
    "gb2312": "gb18030",
    "gbk": "gb18030",
    "x-gbk": "gb18030",
    "cn-gb": "gb18030",
    "csgb2312": "gb18030",
    "big5": "big5hkscs",
    "x-big5": "big5hkscs",
    "shift-jis": "cp932",
    "shift_jis": "cp932",
    "x-sjis": "cp932",
    "sjis": "cp932",
    "ms_kanji": "cp932",
    "windows-31j": "cp932",
    "iso-8859-8-i": "iso-8859-8",
    "iso-8859-8-e": "iso-8859-8",
    "iso-8859-6-i": "iso-8859-6",
    "iso-8859-6-e": "iso-8859-6",
    "utf8": "utf-8",
    "utf-8-sig": "utf-8",
    "unicode-1-1-utf-8": "utf-8",
    "x-unicode20utf8": "utf-8",
    "windows-874": "cp874",
    "x-mac-roman": "mac-roman",
    "macintosh": "mac-roman",
    "x-mac-cyrillic": "mac-cyrillic",
    "ansi_x3.4-1968": "ascii",
    "us-ascii": "ascii",
    "tis620": "tis-620",
}
# Labels that mean "I don't know": go straight to the fallback chain.
_UNKNOWN = frozenset(
    {"", "x-unknown", "unknown", "unknown-8bit", "x-user-defined", "default", "8bit", "7bit",
     "binary", "none", "charset", "x-binaryenc", "auto", "_autodetect_all"}
)
# Codecs that are not a text encoding a mail could honestly be in (or that turn text into
# escape sequences): never let a sender select them.
_REFUSED = frozenset(
    {"unicode-escape", "raw-unicode-escape", "idna", "punycode", "undefined", "mbcs", "oem",
     "charmap", "palmos", "unicode-internal"}
)
_LATIN1_LIKE = frozenset({"iso8859-1", "iso8859-15"})
# Encodings whose ASCII-only byte strings are not plain ASCII text.
_NOT_ASCII_COMPATIBLE = ("utf-16", "utf-32", "utf-7", "iso2022", "hz")
_C1_BYTES = re.compile(rb"[\x80-\x9f]")
_DETECT_LIMIT = 64 * 1024


@lru_cache(maxsize=512)
def normalise_charset(label: str | None) -> str | None:
    """Map a declared charset label to a usable Python codec name, or None if unusable."""
    if not label:
        return None
    name = label.strip().strip("\"'").strip().lower()
    name = name.split("*", 1)[0]  # RFC 2231 language suffix: utf-8*en
    if name in _UNKNOWN:
        return None
    name = _ALIASES.get(name, name)
    try:
        info = codecs.lookup(name)
    except (LookupError, ValueError, TypeError):
        # "windows1250", "cp-1250", "iso8859_2" ... try without the punctuation
        squashed = name.replace("-", "").replace("_", "")
        for candidate in (squashed, squashed.replace("windows", "cp"), squashed.replace("iso", "iso-")):
            try:
                info = codecs.lookup(candidate)
                break
            except (LookupError, ValueError, TypeError):
                continue
        else:
            return None
    if not getattr(info, "_is_text_encoding", True) or info.name in _REFUSED:
        return None
    return info.name


def _detect(data: bytes, hints: tuple[str, ...] = ()) -> str | None:
    """Best guess for undeclared 8-bit `data`: the hints, the charsets common in mail and
    charset-normalizer's candidates, re-ranked by `detect.best_candidate` (charset-normalizer
    alone is unreliable on short strings such as a subject line)."""
    sample = data[:_DETECT_LIMIT]
    candidates: list[str] = [c for c in (normalise_charset(h) for h in hints) if c]
    candidates.extend(COMMON_CHARSETS)
    try:
        for match in list(from_bytes(sample))[:6]:
            codec = normalise_charset(match.encoding)
            if codec:
                candidates.append(codec)
    except Exception:
        pass
    return best_candidate(sample, candidates)


def _near_miss(data: bytes, codec: str) -> str | None:
    """Decode with `codec`, tolerating one or two bad bytes in otherwise clearly valid text.

    A UTF-8 message truncated mid-character should stay UTF-8, not be re-guessed as Turkish.
    """
    try:
        text = data.decode(codec, "replace")
    except (LookupError, UnicodeError):
        return None
    bad = text.count("\ufffd")
    if bad > 2:
        return None
    non_ascii = sum(1 for ch in text if ord(ch) > 127) - bad
    return text if non_ascii > 2 * bad else None


def _utf16_without_bom(data: bytes) -> str | None:
    """`utf-16-be`/`utf-16-le` when `data` looks like UTF-16 text (every other byte NUL)."""
    sample = data[:4096]
    if len(sample) < 4:
        return None
    even, odd = sample[0::2].count(0), sample[1::2].count(0)
    half = len(sample) // 2
    if even > 0.4 * half and odd < 0.05 * half:
        return "utf-16-be"
    if odd > 0.4 * half and even < 0.05 * half:
        return "utf-16-le"
    return None


def decode_bytes(data: bytes, declared: str | None = None, hints: tuple[str, ...] = ()) -> tuple[str, str]:
    """Decode `data` along the fallback chain. Returns (text, codec actually used).

    `hints` are extra charsets to try after UTF-8 (e.g. the body's charset for a raw
    8-bit header). Never raises; the last resort, latin-1, maps every byte.
    """
    if data[:2] in (b"\xff\xfe", b"\xfe\xff") or data[:3] == b"\xef\xbb\xbf":
        bom_codec = "utf-8-sig" if data[:1] == b"\xef" else "utf-16"
        label = normalise_charset(declared) or ""
        used = label if label.startswith(bom_codec[:5]) else bom_codec  # a BOM beats the label
        return data.decode(bom_codec, "replace").lstrip("\ufeff"), used
    if b"\x00" in data and not (normalise_charset(declared) or "").startswith(("utf-16", "utf-32")):
        wide = _utf16_without_bom(data)
        if wide is not None:
            return data.decode(wide, "replace"), wide
    if data.isascii():
        codec = normalise_charset(declared)
        if codec is not None and codec.startswith(_NOT_ASCII_COMPATIBLE):
            try:
                return data.decode(codec), codec
            except (UnicodeError, LookupError):
                if codec.startswith("iso2022_jp"):
                    return _iso2022jp_via_cp932(data), "cp932"
        return data.decode("ascii"), "ascii"
    codec = normalise_charset(declared)
    if codec in _LATIN1_LIKE and _C1_BYTES.search(data):
        codec = "cp1252"  # what every "latin1" sender with curly quotes really means
    tried: list[str] = []
    for candidate in (codec, "utf-8", *(normalise_charset(h) for h in hints)):
        if candidate is None or candidate in tried:
            continue
        tried.append(candidate)
        if candidate == codec and codec != "utf-8" and _looks_utf8(data):
            # Mislabelled: valid multi-byte UTF-8 is (almost) never accidental - unless it
            # is the declared charset, read as latin-1 and re-encoded by some gateway.
            text = data.decode("utf-8")
            repaired = undo_double_encoding(text, (codec,))
            return (repaired, codec) if repaired is not text else (text, "utf-8")
        try:
            text = data.decode(candidate)
        except (UnicodeError, LookupError):
            continue
        if candidate == "utf-8" and _C1_CHARS.search(text):
            text = _undo_c1(text)
        return text, candidate
    for candidate in (codec, "utf-8"):
        if candidate is not None:
            text = _near_miss(data, candidate)
            if text is not None:
                return text, candidate
    guessed = _detect(data, hints)
    if guessed is not None:
        try:
            return data.decode(guessed, "replace"), guessed
        except (UnicodeError, LookupError):
            pass
    return data.decode("latin-1"), "latin-1"


_C1_CHARS = re.compile("[\x80-\x9f]")


def _undo_c1(text: str) -> str:
    """UTF-8 that encodes C1 controls is windows-1252 bytes that went through a latin-1
    round trip (`\x80` for `€`): map them back where windows-1252 has a character."""
    try:
        return _C1_CHARS.sub(lambda m: m.group(0).encode("latin-1").decode("cp1252"), text)
    except UnicodeDecodeError:
        return text


_ISO2022_ESCAPE = re.compile(rb"(\x1b[ -/]*[0-~])")


def _iso2022jp_via_cp932(data: bytes) -> str:
    """ISO-2022-JP as Japanese mailers really write it: with the NEC/IBM extensions
    (circled digits, ㈱ ...) that only the Windows code page has. Re-map JIS X 0208 pairs
    to Shift_JIS and decode as cp932; text after an unknown escape passes through."""
    out = bytearray()
    mode = b""
    for index, chunk in enumerate(_ISO2022_ESCAPE.split(data)):
        if index % 2:  # an escape sequence: switch mode
            mode = chunk
            continue
        if mode in (b"\x1b$B", b"\x1b$@"):
            for i in range(0, len(chunk) - 1, 2):
                j1, j2 = chunk[i], chunk[i + 1]
                if not (0x21 <= j1 <= 0x7E and 0x21 <= j2 <= 0x7E):
                    out += chunk[i : i + 2]
                    continue
                s1 = (j1 + 1) // 2 + (0x70 if j1 < 0x5F else 0xB0)
                s2 = j2 + (0x1F + (j2 >= 0x60) if j1 % 2 else 0x7E)
                out += bytes((s1, s2))
        elif mode == b"\x1b(I":  # JIS X 0201 katakana: half-width kana in Shift_JIS
            out += bytes(b | 0x80 for b in chunk)
        else:
            out += chunk
    return out.decode("cp932", "replace")


def _looks_utf8(data: bytes) -> bool:
    """True when `data` is valid UTF-8 and has non-ASCII characters."""
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return not data.isascii()


def surrogate_str_to_bytes(value: str) -> bytes:
    """Undo the `surrogateescape` decoding the stdlib parser applies to raw 8-bit input."""
    try:
        return value.encode("ascii", "surrogateescape")
    except UnicodeEncodeError:
        return value.encode("utf-8", "surrogateescape")


def undo_double_encoding(text: str, hints: tuple[str, ...]) -> str:
    """Repair legacy text that a gateway read as latin-1 and re-encoded as UTF-8
    (Big5 subject bytes arriving as `¤j¸É`): if the body's charset reads the original
    bytes far more plausibly, use that."""
    if not hints or max(map(ord, text)) > 0xFF:
        return text
    raw = text.encode("latin-1")
    for hint in hints:
        codec = normalise_charset(hint)
        if codec is None or codec in _LATIN1_LIKE or codec in ("cp1252", "utf-8"):
            continue
        try:
            candidate = raw.decode(codec)
        except (UnicodeError, LookupError):
            continue
        if plausibility(candidate, codec) > plausibility(text) + 1.0:
            return candidate
    return text
