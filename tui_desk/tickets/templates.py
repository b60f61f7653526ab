"""Canned replies: create, edit, delete, fuzzy search, and files a team keeps in git.

A template is a name, a few tags, an optional language (en, sl, hr, ru ...) and a body with
`{{ placeholders }}` (see `placeholders.py` for the safe engine). On disk each template is one
`name.md` file: a small front-matter header and the body byte for byte, so export -> import
gives back exactly the same templates, and a diff in git shows only real edits.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import Connection

from tui_desk.storage import templates as store
from tui_desk.tickets.placeholders import RenderResult, render
from tui_desk.tickets.template_defaults import DEFAULTS

_CONTROL = re.compile(r"[\x00-\x1f\x7f\x85\u2028\u2029]")
_LANG = re.compile(r"^[a-z]{2,3}(?:-[a-z0-9]{2,8})?$")
FRONT = "---"


class TemplateError(ValueError):
    """A template name, tag, language or file that cannot be used; the text says which."""


@dataclass(frozen=True, slots=True)
class Template:
    name: str
    body: str
    tags: tuple[str, ...] = ()
    lang: str = ""
    builtin: bool = False

    def render(self, values: dict[str, str | None]) -> RenderResult:
        return render(self.body, values)


def _template(row: dict[str, Any]) -> Template:
    return Template(row["name"], row["body"], tuple(row["tags"]), row["lang"], row["builtin"])


def check(name: str, tags: Sequence[str], lang: str) -> tuple[str, list[str], str]:
    """The cleaned (name, tags, lang), or TemplateError saying what is wrong."""
    name = name.strip()
    if not name or len(name) > 100 or _CONTROL.search(name):
        raise TemplateError(f"template name {name!r}: 1-100 characters on one line")
    clean_tags: list[str] = []
    for tag in tags:
        tag = tag.strip()
        if not tag:
            continue
        if "," in tag or _CONTROL.search(tag) or len(tag) > 50:
            raise TemplateError(f"template {name!r}: bad tag {tag!r} (no commas, at most 50 characters)")
        if tag not in clean_tags:
            clean_tags.append(tag)
    lang = lang.strip().lower()
    if lang and not _LANG.match(lang):
        raise TemplateError(f"template {name!r}: language {lang!r} is not a code like en, sl, hr, ru, pt-br")
    return name, clean_tags, lang


# --- storing -----------------------------------------------------------------------------------


def ensure_defaults(conn: Connection) -> None:
    """Seed the built-in templates into an empty table (a desk's very first use)."""
    if store.is_empty(conn):
        store.seed(conn, DEFAULTS)


def all_templates(conn: Connection) -> list[Template]:
    ensure_defaults(conn)
    return [_template(r) for r in store.all_templates(conn)]


def get(conn: Connection, name: str) -> Template:
    ensure_defaults(conn)
    row = store.by_name(conn, name.strip())
    if row is None:
        raise TemplateError(f"no template named {name!r}")
    return _template(row)


def save(conn: Connection, name: str, body: str, tags: Sequence[str] = (), lang: str = "",
         *, old_name: str | None = None) -> Template:  # fmt: skip
    """Create, or edit (renaming from `old_name` if given) a template."""
    name, clean_tags, lang = check(name, tags, lang)
    if old_name and old_name.strip() != name:
        if store.by_name(conn, name) is not None:
            raise TemplateError(f"a template named {name!r} exists already")
        store.rename(conn, old_name.strip(), name)
    store.upsert(conn, name, clean_tags, lang, body)
    return get(conn, name)


def delete(conn: Connection, name: str) -> bool:
    return store.delete(conn, name.strip())


# --- search ------------------------------------------------------------------------------------


def fold(text: str) -> str:
    """Case- and accent-insensitive form: "Račun" and "racun" match."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def fuzzy_score(query: str, text: str) -> float:
    """0 when `query` is not a subsequence of `text`; higher for substrings, word starts and
    runs of consecutive characters (the fzf idea, in a dozen lines)."""
    q, t = fold(query), fold(text)
    if not q:
        return 1.0
    at = t.find(q)
    if at >= 0:
        word_start = at == 0 or not t[at - 1].isalnum()
        return 100.0 + len(q) * 2 + (20.0 if word_start else 0.0) - min(at, 500) * 0.01
    score, pos, run = 0.0, 0, 0
    for ch in q:
        found = t.find(ch, pos)
        if found < 0:
            return 0.0
        run = run + 1 if found == pos and pos > 0 else 0
        start = found == 0 or not t[found - 1].isalnum()
        score += 1.0 + run * 2.0 + (3.0 if start else 0.0) - min(found - pos, 20) * 0.05
        pos = found + 1
    return max(score, 0.01)


def search(conn: Connection, query: str, lang: str = "", limit: int = 50) -> list[Template]:
    """Templates matching every word of `query` (fuzzily, in name, tags or body), best first,
    those in the customer's language `lang` before the rest."""
    words = query.split()
    scored: list[tuple[int, float, str, Template]] = []
    for t in all_templates(conn):
        total = 0.0
        for word in words:
            # Bodies are long: a scattered subsequence would match almost anything, so a body
            # counts only where it holds the word itself.
            body = fuzzy_score(word, t.body) if fold(word) in fold(t.body) else 0.0
            best = max(3 * fuzzy_score(word, t.name), 2 * fuzzy_score(word, " ".join(t.tags)), body)
            if best <= 0:
                break
            total += best
        else:
            same_lang = 0 if lang and t.lang == lang else 1
            scored.append((same_lang, -total, t.name.casefold(), t))
    scored.sort(key=lambda s: s[:3])
    return [s[3] for s in scored[:limit]]


_MARKERS: dict[str, frozenset[str]] = {
    "en": frozenset("the and please thanks thank hello hi is my your regards order invoice not".split()),
    "sl": frozenset("hvala lep pozdrav prosim lp sem ker tudi že kaj račun naročilo nisem ne deluje je".split()),
    "hr": frozenset("hvala lijep pozdrav molim poštovani sam jer također već što račun narudžba ne radi je".split()),
}


def guess_language(text: str) -> str:
    """A rough guess (en, sl, hr, ru, uk, sr or "") at the language a customer writes in, to
    put their templates first. Wrong guesses only change the order of a list."""
    letters = [ch for ch in text if ch.isalpha()]
    if not letters:
        return ""
    cyrillic = sum(1 for ch in letters if "\u0400" <= ch <= "\u04ff")
    if cyrillic / len(letters) > 0.3:
        if any(ch in text for ch in "іїєґІЇЄҐ"):
            return "uk"
        if any(ch in text for ch in "ђћџјљњЂЋЏЈЉЊ"):
            return "sr"
        return "ru"
    words = re.findall(r"\w+", text.casefold())
    scores = {lang: sum(1 for w in words if w in markers) for lang, markers in _MARKERS.items()}
    if any(ch in text for ch in "ćđĆĐ"):
        scores["hr"] += 3
    best = max(scores, key=lambda k: scores[k])
    return best if scores[best] > 0 else ""


# --- files -------------------------------------------------------------------------------------


def to_file_text(t: Template) -> str:
    head = [FRONT, f"name: {t.name}", f"tags: {', '.join(t.tags)}", f"lang: {t.lang}", FRONT]
    return "\n".join(head) + "\n" + t.body


def from_file_text(text: str, fallback_name: str) -> Template:
    """Parse one template file; a file without front matter is all body, named after the file."""
    if not text.startswith(FRONT + "\n") and not text.startswith(FRONT + "\r\n"):
        name, tags, lang = check(fallback_name, [], "")
        return Template(name, text, tuple(tags), lang)
    meta: dict[str, str] = {}
    rest = text.split("\n", 1)[1]
    while True:
        line, sep, after = rest.partition("\n")
        if not sep and line.rstrip("\r") != FRONT:
            raise TemplateError(f"{fallback_name}: the header has no closing '---' line")
        rest = after
        line = line.rstrip("\r")
        if line == FRONT:
            break
        key, colon, value = line.partition(":")
        if not colon:
            raise TemplateError(f"{fallback_name}: header line {line!r} is not 'key: value'")
        meta[key.strip().lower()] = value.strip()
    unknown = set(meta) - {"name", "tags", "lang"}
    if unknown:
        raise TemplateError(f"{fallback_name}: unknown header field(s) {', '.join(sorted(unknown))}")
    name, tags, lang = check(meta.get("name") or fallback_name, meta.get("tags", "").split(","), meta.get("lang", ""))
    return Template(name, rest, tuple(tags), lang)


def file_stem(name: str) -> str:
    stem = re.sub(r"[^\w]+", "-", name.casefold(), flags=re.UNICODE).strip("-_")
    return stem[:80] or "template"


def export_dir(conn: Connection, folder: Path) -> list[Path]:
    """Write every template as `<name>.md` into `folder`; returns the files written."""
    folder.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    used: set[str] = set()
    for t in all_templates(conn):
        stem = file_stem(t.name)
        candidate, n = stem, 1
        while candidate in used:
            n += 1
            candidate = f"{stem}-{n}"
        used.add(candidate)
        path = folder / f"{candidate}.md"
        path.write_bytes(to_file_text(t).encode("utf-8"))
        written.append(path)
    return written


@dataclass(slots=True)
class ImportReport:
    imported: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


def import_dir(conn: Connection, folder: Path) -> ImportReport:
    """Create or replace templates from the `.md` / `.txt` files in `folder` (by name); a bad
    file is reported and skipped, never half-imported."""
    report = ImportReport()
    if not folder.is_dir():
        raise TemplateError(f"{folder} is not a folder")
    for path in sorted(folder.iterdir()):
        if path.suffix.lower() not in (".md", ".txt") or not path.is_file():
            continue
        try:
            text = path.read_bytes().decode("utf-8")
            t = from_file_text(text, path.stem)
        except UnicodeDecodeError:
            report.problems.append(f"{path.name}: not UTF-8 text")
            continue
        except TemplateError as exc:
            report.problems.append(f"{path.name}: {exc}")
            continue
        store.upsert(conn, t.name, list(t.tags), t.lang, t.body)
        report.imported.append(t.name)
    return report
