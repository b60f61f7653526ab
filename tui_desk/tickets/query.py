"""The ticket filter language: parsed here, executed as parameterised SQL by
`storage.ticket_search`, never by loading tickets into Python.

    status:open,pending  -status:closed  assignee:me  assignee:none  tag:billing  -tag:spam
    priority:>=high  priority:high,urgent  from:ana@example.si  from:@acme.com  is:unread
    before:2026-11-01  after:7d  "refund please"  račun  -spam  sort:updated|-created|priority

Terms are ANDed (at most `MAX_TERMS` of them); commas inside one term mean "any of"; a leading
"-" negates. Free words and "quoted phrases" search the ticket's mail (subject, sender, text)
through FTS5, each word on its own, case-insensitively in every script. Words are always
passed to FTS5 as quoted strings, so AND, OR, NEAR(, *, " and - typed by a person are text,
never FTS syntax.
`from:` matches the requester (the customer the ticket is with). `before:`/`after:` compare the
last-update time (UTC); a date means its midnight, `7d`/`2w`/`12h` mean that long ago.
`sort:` keys sort newest/highest first; a "-" reverses (`sort:-created` = oldest first).
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Connection

from tui_desk.storage import ticket_search as search
from tui_desk.storage.ticket_search import Cond, TicketFilter
from tui_desk.tickets.model import PRIORITIES, STATUSES, InvalidChange, normalise_tag, valid_address

KEYS = ("status", "priority", "assignee", "tag", "from", "is", "before", "after", "sort")
MAX_TERMS = 64
"""More terms than anyone types; the cap keeps the SQL under SQLite's expression-depth limit."""
MAX_VALUES = 100
"""Values in one term ("tag:a,b,c"): keeps a pasted list under SQLite's bound-parameter limit."""
_KEY_RE = re.compile(r"([A-Za-z]+):")
_RELATIVE = re.compile(r"^(\d{1,5})([hdwmy])$")
_UNITS = {"h": timedelta(hours=1), "d": timedelta(days=1), "w": timedelta(weeks=1), "m": timedelta(days=30),
          "y": timedelta(days=365)}  # fmt: skip
_PRIORITY_OP = re.compile(r"^(<=|>=|<|>|=)?(.*)$")


class QueryError(ValueError):
    """A malformed filter. `position` is the 0-based offset of `token` in the query text."""

    def __init__(self, message: str, position: int, token: str) -> None:
        super().__init__(message)
        self.message = message
        self.position = position
        self.token = token

    def pointer(self, query: str) -> str:
        """The query with a caret line under the bad token, for terminals."""
        return f"{query}\n{' ' * self.position}{'^' * max(1, len(self.token))}"


@dataclass(frozen=True, slots=True)
class Token:
    text: str
    position: int
    negate: bool
    key: str
    value: str
    quoted: bool


def _tokens(text: str) -> list[Token]:
    bad = next((i for i, ch in enumerate(text) if "\ud800" <= ch <= "\udfff"), None)
    if bad is not None:  # only reachable from Python (a lone surrogate cannot be encoded as UTF-8)
        raise QueryError("not valid text (a lone surrogate code point)", bad, text[bad])
    out: list[Token] = []
    i, n = 0, len(text)
    while i < n:
        if text[i].isspace():
            i += 1
            continue
        if len(out) == MAX_TERMS:
            raise QueryError(f"too many terms (at most {MAX_TERMS})", i, text[i:].split(maxsplit=1)[0])
        start = i
        negate = text[i] == "-" and i + 1 < n and not text[i + 1].isspace()
        if text[i] == "-" and not negate:
            raise QueryError("nothing after '-' (a '-' must be followed by what to exclude)", i, "-")
        if negate:
            i += 1
        key = ""
        match = _KEY_RE.match(text, i)
        if match and match.group(1).lower() in KEYS:
            key = match.group(1).lower()
            i = match.end()
        elif match and match.end() < n and not text[match.end()].isspace() and text[match.end()] != "/":
            # "foo:bar" is a typo'd filter far more often than a search; "http://..." is text
            word = match.group(1)
            raise QueryError(f"unknown filter '{word}:' (known: {', '.join(KEYS)}; quote text to search for it)",
                             i, word + ":")  # fmt: skip
        quoted = i < n and text[i] == '"'
        if quoted:
            end = text.find('"', i + 1)
            if end < 0:
                raise QueryError('unterminated quote: add the closing "', i, text[i:])
            value, i = text[i + 1 : end], end + 1
        else:
            end = i
            while end < n and not text[end].isspace():
                end += 1
            value, i = text[i:end], end
        if key and not value:
            raise QueryError(f"'{key}:' needs a value", start, text[start:i])
        out.append(Token(text[start:i], start, negate, key, value, quoted))
    return out


_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def fts_string(word: str) -> str | None:
    """A user word or phrase as one FTS5 string literal ("" doubled), or None if it has no
    searchable characters (FTS5 would see an empty phrase). Control characters become spaces:
    they never belong to a token, and FTS5 ends a string at a NUL ("unterminated string")."""
    word = _CONTROL.sub(" ", word)
    if not any(ch.isalnum() for ch in word):
        return None
    return '"' + word.replace('"', '""') + '"'


def _date(tok: Token, now: datetime) -> datetime:
    rel = _RELATIVE.match(tok.value.lower())
    if rel:
        try:
            return now - int(rel.group(1)) * _UNITS[rel.group(2)]
        except OverflowError:
            raise QueryError(f"{tok.value!r} reaches back before the year 1", tok.position, tok.text) from None
    try:
        day = datetime.strptime(tok.value, "%Y-%m-%d")
    except ValueError:
        raise QueryError(f"bad date {tok.value!r}: use YYYY-MM-DD or a span like 7d, 2w, 12h", tok.position,
                         tok.text) from None  # fmt: skip
    return day.replace(tzinfo=UTC)


def _values(tok: Token, allowed: Sequence[str] | None = None) -> list[str]:
    values = [v.strip() for v in tok.value.split(",")]
    if len(values) > MAX_VALUES:
        raise QueryError(f"too many values in one term (at most {MAX_VALUES})", tok.position, tok.text)
    for v in values:
        if not v:
            raise QueryError(f"empty value in {tok.text!r}", tok.position, tok.text)
        if allowed is not None and v.lower() not in allowed:
            raise QueryError(f"unknown {tok.key} {v!r}; one of: {', '.join(allowed)}", tok.position, tok.text)
    return [v.lower() for v in values]


def parse(text: str, *, agent: str = "me@localhost", now: datetime | None = None) -> TicketFilter:
    """The filter a query means, or QueryError pointing at the bad token."""
    now = now or datetime.now(UTC)
    f = TicketFilter()
    for tok in _tokens(text):
        if not tok.key:
            expr = fts_string(tok.value)
            if expr is not None:
                f.conds.append(Cond("text", "fts", (expr,), tok.negate))
            continue
        f.conds.extend(_condition(tok, f, agent, now))
    return f


def _condition(tok: Token, f: TicketFilter, agent: str, now: datetime) -> list[Cond]:
    key, neg = tok.key, tok.negate
    if key == "status":
        return [Cond("status", "in", tuple(_values(tok, STATUSES)), neg)]
    if key == "priority":
        match = _PRIORITY_OP.match(tok.value)
        assert match is not None
        operator, rest = match.group(1), match.group(2)
        if operator:
            names = _values(Token(tok.text, tok.position, neg, key, rest, False), PRIORITIES)
            if len(names) != 1:
                raise QueryError(f"{operator} takes one priority, not a list", tok.position, tok.text)
            return [Cond("priority", "cmp", (operator, PRIORITIES.index(names[0])), neg)]
        return [Cond("priority", "in", tuple(PRIORITIES.index(v) for v in _values(tok, PRIORITIES)), neg)]
    if key == "assignee":
        people: list[str] = []
        for v in _values(tok):
            if v in ("none", "nobody", "unassigned"):
                people.append("")
            elif v == "me":
                people.append(agent.lower())
            elif valid_address(v):
                people.append(v)
            else:
                raise QueryError(f"assignee must be me, none or an address, not {v!r}", tok.position, tok.text)
        return [Cond("assignee", "in", tuple(people), neg)]
    if key == "tag":
        try:
            return [Cond("tag", "in", tuple(normalise_tag(v) for v in _values(tok)), neg)]
        except InvalidChange as exc:
            raise QueryError(str(exc), tok.position, tok.text) from None
    if key == "from":
        values = _values(tok)
        domains = tuple(v[1:] for v in values if v.startswith("@") and len(v) > 1 and "@" not in v[1:])
        addrs = tuple(v for v in values if valid_address(v))
        if len(domains) + len(addrs) != len(values):
            raise QueryError(f"from: needs an address or @domain, not {tok.value!r}", tok.position, tok.text)
        conds = [Cond("from", "addr", addrs, neg)] if addrs else []
        return conds + ([Cond("from", "domain", domains, neg)] if domains else [])
    if key == "is":
        flags = _values(tok, ("unread", "read"))
        return [Cond("unread", "is", (flag == "unread",), neg) for flag in flags]
    if key in ("before", "after"):
        operator = "<" if key == "before" else ">="
        return [Cond("updated", "cmp", (operator, _date(tok, now)), neg)]
    # sort:
    name = tok.value.lower()
    descending = name.startswith("-") == neg
    name = name.lstrip("-")
    if name not in search.SORT_COLUMNS:
        raise QueryError(f"unknown sort {tok.value!r}; one of: updated, created, priority", tok.position, tok.text)
    f.sort, f.descending = name, descending
    return []


# --- running a query ------------------------------------------------------------------------


@dataclass(slots=True)
class Page:
    rows: list[dict[str, Any]]
    next_cursor: str | None
    """Pass as `after` for the next window; None at the end."""


def _encode_cursor(key: Sequence[Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(list(key), ensure_ascii=False).encode()).decode().rstrip("=")


def _decode_cursor(cursor: str) -> list[Any]:
    try:
        data = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except ValueError:
        raise QueryError("bad page cursor", 0, cursor) from None
    if not isinstance(data, list) or not all(isinstance(v, str | int) for v in data):
        raise QueryError("bad page cursor", 0, cursor)
    return data


def page(conn: Connection, query: str | TicketFilter = "", *, after: str | None = None, limit: int = 50,
         agent: str = "me@localhost", now: datetime | None = None) -> Page:  # fmt: skip
    """One window of tickets matching `query` (keyset pagination: stable under inserts)."""
    f = query if isinstance(query, TicketFilter) else parse(query, agent=agent, now=now)
    key = _decode_cursor(after) if after else None
    if key is not None and len(key) != len(search.SORT_COLUMNS[f.sort]) + 1:  # a cursor from another sort
        raise QueryError("bad page cursor", 0, after or "")
    rows = search.page_rows(conn, f, key, limit)
    public = [_public(r) for r in rows]
    next_cursor = _encode_cursor(rows[-1]["sort_key"]) if len(rows) == limit else None
    return Page(public, next_cursor)


def count(conn: Connection, query: str | TicketFilter = "", *, agent: str = "me@localhost",
          now: datetime | None = None) -> int:  # fmt: skip
    f = query if isinstance(query, TicketFilter) else parse(query, agent=agent, now=now)
    return search.count_rows(conn, f)


def _public(row: dict[str, Any]) -> dict[str, Any]:
    """A list row as the UI and JSON output see it."""
    return {
        "id": row["ref"],
        "status": row["status"],
        "priority": PRIORITIES[row["priority"]],
        "subject": row["subject"],
        "requester": {"name": row["requester_name"], "address": row["requester_addr"]},
        "assignee": row["assignee"] or None,
        "tags": row["tags"],
        "created": row["created_at"].isoformat() if row["created_at"] else None,
        "updated": row["updated_at"].isoformat() if row["updated_at"] else None,
        "unread": row["unread"],
        "messages": row["message_count"],
        "snippet": row["snippet"],
        "automatic": row["automatic"],
    }
