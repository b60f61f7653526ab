"""Guess the charset of undeclared 8-bit text by how plausible each decoding reads.

charset-normalizer is good on long text but guesses wildly on a subject line (koi8-r
Russian came back as UTF-16, iso-8859-2 Slovenian as windows-1257). Mail needs the short
cases too, so candidates are re-ranked here with a cheap, language-agnostic score:
common letters good, stray symbols bad, impossible case and script patterns bad, and for
CJK the share of frequent ("level 1") characters. Pure functions, no I/O.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import lru_cache
from itertools import islice

# Candidates tried when nothing declared works, most common in mail first. The scorer
# below, not this order, decides; the order only breaks ties.
COMMON_CHARSETS = (
    "cp1252", "cp1250", "iso8859-2", "cp1251", "koi8-r", "iso8859-15", "cp1257", "cp1253",
    "cp1254", "iso8859-7", "cp1255", "cp1256", "koi8-u", "cp949", "gb18030", "cp932", "euc_jp",
    "big5hkscs", "mac-roman",
)
_LETTERS_COMMON = frozenset(
    "àáâãäçèéêëìíîïñòóôõöøùúûüýßåæœčćđšžěřůłńśźżőűășțşğıİ–—“”‘’„«»…€•°·¡¿"
    "ÀÁÂÃÄÇÈÉÊËÌÍÎÏÑÒÓÔÕÖØÙÚÛÜÝÅÆŒČĆĐŠŽĚŘŮŁŃŚŹŻŐŰĂȘȚŞĞ"
)
# Valid but rarer, or the letter a more common one turns into under the wrong charset
# (iso-8859-2 "š" read as windows-1250 is "ą").
_LETTERS_OK = frozenset(
    "ÿðþťďňĺľŕāēīūņļķģėįųąęŸÐÞŤĎŇĹĽŔĀĒĪŪŅĻĶĢĖĮŲĄĘ©®™§±×÷²³½¼\xa0"
)
_GRAVE = frozenset("àèìòùÀÈÌÒÙ")
_VOWELS = frozenset("aeiouAEIOU")
_TOKENS = re.compile(r"\S+")  # not `\w*[^\x00-\x7f]\w*`: that backtracks quadratically on long words


def _script(ch: str) -> int:
    """Coarse script of a letter: 0 Latin, 1 Cyrillic, 2 Greek, 3 CJK/Hangul, 4 other."""
    cp = ord(ch)
    if cp < 0x250:
        return 0
    if 0x400 <= cp < 0x530:
        return 1
    if 0x370 <= cp < 0x400:
        return 2
    if 0x2E80 <= cp < 0xA000 or 0xAC00 <= cp < 0xD7B0 or 0xF900 <= cp < 0xFB00:
        return 3
    return 4


# For a CJK candidate, how common is a decoded ideograph in that language? Re-encoding it
# in the language's basic legacy charset tells: the lead byte separates the frequent
# "level 1" characters from the rare ones, and random bytes land on rare ones half the time.
_CJK_HOME = {
    "gb18030": "gb2312", "gb2312": "gb2312", "gbk": "gb2312", "hz": "gb2312",
    "cp932": "euc_jp", "shift_jis": "euc_jp", "shift_jis_2004": "euc_jp", "euc_jp": "euc_jp",
    "euc_jis_2004": "euc_jp", "iso2022_jp": "euc_jp", "big5": "big5", "big5hkscs": "big5",
    "cp950": "big5", "cp949": "euc_kr", "euc_kr": "euc_kr", "johab": "euc_kr",
}
_CJK_COMMON_LEADS = {
    "gb2312": range(0xB0, 0xD8), "euc_jp": range(0xA4, 0xD0), "big5": range(0xA4, 0xC7),
    "euc_kr": range(0xB0, 0xC9),
}


@lru_cache(maxsize=8192)
def _cjk_score(ch: str, home: str) -> float:
    """Score of a CJK character decoded by a codec of language `home` (frequent 2, rare 0.5)."""
    cp = ord(ch)
    if 0x3000 <= cp < 0x3040 or 0xFF01 <= cp < 0xFF5F:  # CJK and full-width punctuation
        return 2.0
    try:
        lead = ch.encode(home)[0]
    except UnicodeEncodeError:
        return -2.0
    return 2.0 if lead in _CJK_COMMON_LEADS[home] else 0.5


@lru_cache(maxsize=4096)
def _char_score(ch: str) -> float:
    """Score of one non-ASCII character as part of human writing (-5 .. 2)."""
    if ch in _LETTERS_COMMON:
        return 2.0
    if ch in _LETTERS_OK:
        return 1.0
    cp = ord(ch)
    if 0xFF61 <= cp <= 0xFF9F:  # half-width katakana: the classic mojibake signature
        return -5.0
    if 0x3100 <= cp < 0x3190:  # bopomofo, compatibility jamo: rare in real text
        return -3.0
    if 0xAC00 <= cp < 0xD7B0:  # Hangul outside KS X 1001 is what Shift_JIS read as cp949 gives
        try:
            ch.encode("euc_kr")
        except UnicodeEncodeError:
            return -2.0
    if ch.isalpha():
        return 2.0 if _script(ch) in (1, 2, 3) or 0x590 <= cp < 0x700 else 0.0
    return -5.0


def plausibility(text: str, codec: str = "") -> float:
    """Average plausibility of the non-ASCII characters of `text` as human writing.

    Letters common in European, Cyrillic, Greek and CJK text score high, stray symbols
    and control characters low; a lower-case letter followed by an upper-case one inside
    a word (koi8-r read as windows-1251 and vice versa) or two scripts glued together in
    one word (Cyrillic read as Latin-1: `Ïðîáëåìà`) are penalised.
    """
    total = 0.0
    count = 0
    home = _CJK_HOME.get(codec.replace("-", "_"))
    words = (m.group(0) for m in _TOKENS.finditer(text, 0, 20000))
    for word in islice((w for w in words if not w.isascii()), 400):
        prev = ""
        latin_run = 0
        for ch in word:
            if ord(ch) > 127:
                total += _cjk_score(ch, home) if home and ord(ch) >= 0x2E80 else _char_score(ch)
                count += 1
                latin_run = latin_run + 1 if ch.isalpha() and _script(ch) == 0 else 0
                if latin_run >= 3:
                    total -= 2.0
            else:
                latin_run = 0
            if prev and prev.isalpha() and ch.isalpha():
                if prev.islower() and ch.isupper():
                    total -= 4.0
                if _script(prev) != _script(ch) and (ord(prev) > 127 or ord(ch) > 127):
                    total -= 3.0
                if prev in _GRAVE and ch in _VOWELS:  # "raèun": č read as windows-1252
                    total -= 3.0
            prev = ch
    return total / count if count else 0.0


def best_candidate(sample: bytes, candidates: Iterable[str]) -> str | None:
    """The codec among `candidates` (normalised Python codec names) whose decoding of
    `sample` is most plausible; earlier candidates win ties."""
    sample = sample[:16384]
    has_nul = b"\x00" in sample
    best: tuple[float, str] | None = None
    seen: set[str] = set()
    for codec in candidates:
        if codec in seen or (codec.startswith(("utf-16", "utf-32")) and not has_nul):
            continue
        seen.add(codec)
        try:
            text = sample.decode(codec, "replace")
        except (LookupError, UnicodeError):
            continue
        score = plausibility(text, codec)
        if best is None or score > best[0]:
            best = (score, codec)
    return best[1] if best else None
