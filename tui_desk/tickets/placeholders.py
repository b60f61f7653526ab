"""The template placeholder engine: `{{ customer.first_name }}` and nothing more.

Why not Jinja or str.format: templates are shared in git and edited by the whole team, and a
template language that can call methods or reach attributes (`{{ x.__class__ }}`, format
specs, filters) is a way to run code or leak data. This engine is one regular expression
over `{{ dotted.name }}` and a dict of fixed names to strings: it cannot do anything else.

A placeholder whose name is unknown or whose value is missing is left in the text as written
and reported as a `Problem` with its position, so the agent sees it before sending; it is
never replaced by an empty string. Stray `{{` or `}}` are reported too.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

PLACEHOLDERS: dict[str, str] = {
    "customer.first_name": "the customer's first name",
    "customer.last_name": "the customer's last name",
    "customer.name": "the customer's full name",
    "customer.email": "the customer's address",
    "ticket.id": "the ticket id, e.g. T-4F7K2AB9",
    "ticket.subject": "the ticket's subject without Re:/tags",
    "ticket.status": "the ticket's status",
    "agent.name": "your name",
    "agent.first_name": "your first name",
    "agent.email": "your address",
    "agent.signature": "your signature",
    "account.name": "the support mailbox's display name",
    "account.email": "the support address",
    "today": "today's date (YYYY-MM-DD)",
}
_TOKEN = re.compile(r"\{\{(.*?)\}\}", re.DOTALL)
_NAME = re.compile(r"^[a-z][a-z_]*(?:\.[a-z][a-z_]*)?$")


@dataclass(frozen=True, slots=True)
class Problem:
    placeholder: str
    """As written in the template, braces included."""
    reason: str
    position: int
    """Character offset in the template text."""

    def line(self, text: str) -> str:
        row = text.count("\n", 0, self.position) + 1
        return f"line {row}: {self.placeholder}: {self.reason}"


@dataclass(slots=True)
class RenderResult:
    text: str
    problems: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def _stray(text: str, start: int, end: int, out: list[Problem]) -> None:
    for m in re.finditer(r"\{\{|\}\}", text[start:end]):
        out.append(Problem(m.group(0), "unmatched braces: write {{ name }} or remove them", start + m.start()))


def render(template: str, values: Mapping[str, str | None]) -> RenderResult:
    """Fill `{{ name }}` placeholders from `values` (a name -> text or None for "unknown")."""
    problems: list[Problem] = []
    parts: list[str] = []
    last = 0
    for m in _TOKEN.finditer(template):
        _stray(template, last, m.start(), problems)
        parts.append(template[last : m.start()])
        last = m.end()
        raw = m.group(0)
        name = m.group(1).strip()
        if "{{" in m.group(1) or not _NAME.match(name):
            problems.append(Problem(raw, "not a placeholder name (letters, _ and one dot, e.g. customer.name)",
                                    m.start()))  # fmt: skip
            parts.append(raw)
            continue
        if name not in PLACEHOLDERS:
            problems.append(Problem(raw, f"unknown placeholder; known: {', '.join(sorted(PLACEHOLDERS))}", m.start()))
            parts.append(raw)
            continue
        value = values.get(name)
        if value is None or not value.strip():
            problems.append(Problem(raw, f"no value for {PLACEHOLDERS[name]} on this ticket", m.start()))
            parts.append(raw)
            continue
        parts.append(value)
    _stray(template, last, len(template), problems)
    parts.append(template[last:])
    return RenderResult("".join(parts), sorted(problems, key=lambda p: p.position))


def leftover(text: str) -> list[Problem]:
    """Placeholders or braces still in a finished text (the agent did not fill them in)."""
    problems: list[Problem] = []
    last = 0
    for m in _TOKEN.finditer(text):
        _stray(text, last, m.start(), problems)
        problems.append(Problem(m.group(0), "placeholder left in the text", m.start()))
        last = m.end()
    _stray(text, last, len(text), problems)
    return sorted(problems, key=lambda p: p.position)


def first_name(full: str) -> str | None:
    """"Ana Novak" -> "Ana"; "Novak, Ana" -> "Ana"; an address or nothing -> None."""
    name = " ".join(full.split())
    if not name or "@" in name:
        return None
    if "," in name:
        after = name.split(",", 1)[1].strip()
        return after.split(" ")[0] if after else None
    return name.split(" ")[0]


def last_name(full: str) -> str | None:
    name = " ".join(full.split())
    if not name or "@" in name:
        return None
    if "," in name:
        return name.split(",", 1)[0].strip() or None
    words = name.split(" ")
    return words[-1] if len(words) > 1 else None
