"""Make hostile text safe to show in a terminal and hostile names safe to write to disk.

Mail from strangers can carry terminal escape sequences (retitle the window, rewrite the
screen, smuggle hyperlinks), bidi overrides that make `exe.pdf` read as `fdp.exe`, and
attachment names like `../../.bashrc`. Everything the UI shows goes through
`clean_display` at the last moment; every attachment name goes through `safe_filename`.

Pure `str` in, `str` out: no Rich or Textual here (escaping *markup* is the UI's job).
All regexes are written so that each can only scan forward from a start byte until the
first byte that cannot continue the sequence, which keeps them linear on hostile input.
"""

from __future__ import annotations

import re
import unicodedata

# ESC-introduced sequences (ECMA-48). Payload classes stop at any control character, so an
# unterminated string sequence swallows at most one line and the scan stays linear.
_STRING_PAYLOAD = r"[^\x00-\x1f\x7f-\x9f]*(?:\x07|\x1b\\|\x9c)?"
_ESCAPES = re.compile(
    r"\x1b\[[0-?]*[ -/]*[@-~]"  # CSI ... final
    r"|\x1b[\]PX^_]" + _STRING_PAYLOAD  # OSC, DCS, SOS, PM, APC ... (BEL | ST)
    + r"|\x1b[ -/]*[0-~]"  # two-char (and nF) escapes: ESC c, ESC ( B, ESC 7 ...
    r"|\x9b[0-?]*[ -/]*[@-~]"  # 8-bit CSI
    r"|[\x90\x98\x9d\x9e\x9f]" + _STRING_PAYLOAD  # 8-bit DCS, SOS, OSC, PM, APC
)

# Single code points that are removed outright: C0 (but \t and \n), DEL, C1, bidi
# controls, and invisible format characters that can hide or spoof text.
_INVISIBLE = (
    "\u00ad"  # soft hyphen: zero or one cell depending on the terminal
    "\u061c\u200b\u200e\u200f"  # arabic letter mark, zero-width space, LRM, RLM
    "\u202a-\u202e\u2060-\u2064\u2066-\u206f"  # bidi embeddings/isolates, word joiner ...
    "\u115f\u1160\u3164\uffa0"  # hangul fillers: "blank" names
    "\u180e\ufeff\ufff9-\ufffb"  # mongolian vowel separator, BOM, interlinear annotations
    "\U000e0000-\U000e007f"  # tag characters: invisible "ASCII smuggling"
)
_CONTROLS = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f" + _INVISIBLE + "]+")
_NEEDS_ESCAPE_PASS = re.compile(r"[\x1b\x90\x98\x9b\x9d\x9e\x9f]")


def clean_display(text: str, *, single_line: bool = False) -> str:
    """Strip everything from `text` that a terminal would interpret rather than print.

    Escape sequences are removed with their payload (an OSC title or hyperlink must not
    leak its payload as visible text either); remaining control and invisible format
    characters are dropped. Line breaks become `\\n`; with `single_line` every run of
    whitespace becomes one space, for subjects and names in one-line widgets.
    """
    if not text:
        return ""
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    if "\u2028" in text or "\u2029" in text:
        text = text.replace("\u2028", "\n").replace("\u2029", "\n")
    if _NEEDS_ESCAPE_PASS.search(text):
        text = _ESCAPES.sub("", text)
    text = _CONTROLS.sub("", text)
    if single_line:
        text = " ".join(text.split())
    return text


_FORBIDDEN_IN_NAME = re.compile(r'[<>:"|?*\x00]')
_WINDOWS_RESERVED = frozenset(
    {"CON", "PRN", "AUX", "NUL"}
    | {f"COM{i}" for i in "123456789¹²³"}
    | {f"LPT{i}" for i in "123456789¹²³"}
)
_MAX_NAME_BYTES = 200
_MAX_EXT_BYTES = 24


def _trim_utf8(text: str, limit: int) -> str:
    """Cut `text` to at most `limit` UTF-8 bytes without splitting a character."""
    data = text.encode("utf-8")
    if len(data) <= limit:
        return text
    return data[:limit].decode("utf-8", "ignore")


def safe_filename(name: str, fallback: str = "attachment") -> str:
    """Turn a sender-chosen attachment name into one that is safe inside a chosen folder.

    Only the last path component survives (so `../../etc/passwd` is `passwd`), hidden
    files and Windows device names are defused, and the result fits common filesystem
    limits (200 UTF-8 bytes) while keeping the extension that tells the user what it is.
    """
    name = name or ""
    name = name.replace("\\", "/").rsplit("/", 1)[-1]
    name = clean_display(name, single_line=True)
    name = unicodedata.normalize("NFC", name)
    name = _FORBIDDEN_IN_NAME.sub("_", name)
    name = name.lstrip(". ").rstrip(". ")
    if name in ("", ".", ".."):
        return "attachment" if fallback in ("", "attachment") else safe_filename(fallback, "attachment")
    stem, dot, ext = name.rpartition(".")
    if not dot or not stem or len(ext.encode("utf-8")) > _MAX_EXT_BYTES:
        stem, ext = name, ""
    if stem.split(".", 1)[0].strip().upper() in _WINDOWS_RESERVED:
        stem = "_" + stem
    if ext:
        stem = _trim_utf8(stem, _MAX_NAME_BYTES - len(ext.encode("utf-8")) - 1).rstrip(". ")
        name = f"{stem or '_'}.{ext}"
    else:
        name = _trim_utf8(stem, _MAX_NAME_BYTES).rstrip(". ") or "_"
    return name
