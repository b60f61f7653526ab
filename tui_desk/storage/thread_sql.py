"""SQL for threading a batch: the rows to thread, and `TicketCache`, the ticket rows and
messages a batch looks at (the pending writes are `thread_batch.Workset`'s).

Kept apart from `storage/tickets.py` (ticket rows and keys) so each stays small; like it, this
runs inside the caller's transaction on the raw cursor. The rules live in `tickets.threading`.
A cached row is never older than the database's: every write to a ticket during a batch goes
through the cache first (the database may lag until `Workset.flush`).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from sqlalchemy import Connection

from tui_desk.storage.db import cursor
from tui_desk.storage.tickets import db_time

COLS = ("id", "ref", "root", "root_pinned", "status", "automatic", "merged_into", "follow_up_of", "split_from",
        "created_at", "updated_at", "requester_addr", "subject_key", "last_message_at", "hidden", "message_count",
        "solved_at")  # fmt: skip
TICKET = f"SELECT {', '.join(COLS)} FROM tickets"
MEMBER = ("SELECT id, date, subject, from_name, from_addr, to_addrs, cc_addrs, snippet, ours, auto_submitted, "
           "duplicate_of, removed, message_id, in_reply_to, refs, thread_kind FROM messages WHERE ticket_id = ?")  # fmt: skip
_ROW = ("id, message_id, message_id_synthetic, in_reply_to, refs, subject, from_name, from_addr, to_addrs, "
        "cc_addrs, date, internaldate, created_at, content_hash, auto_submitted, headers, snippet, folder_id, "
        "thread_kind")  # fmt: skip
NEW = {"root_pinned": False, "status": "new", "automatic": False, "merged_into": None, "follow_up_of": None,
        "split_from": None, "requester_addr": "", "subject_key": "", "last_message_at": None, "hidden": True,
        "message_count": 0, "solved_at": None}  # fmt: skip
"""Column defaults of a new ticket row (see `migrations`)."""
SUMMARY = ("subject", "subject_key", "requester_addr", "requester_name", "requester_domain", "created_at",
            "last_message_at", "updated_at", "first_response_at", "snippet", "message_count", "automatic", "hidden")  # fmt: skip


def chunks(items: Sequence[Any], size: int = 500) -> Iterable[list[Any]]:
    for start in range(0, len(items), size):
        yield list(items[start : start + size])


def marks(chunk: Sequence[Any]) -> str:
    return ", ".join("?" * len(chunk))


def unthreaded_ids(conn: Connection, limit: int = 5000) -> list[int]:
    return [r[0] for r in cursor(conn).execute(
        "SELECT id FROM messages WHERE thread_kind = '' ORDER BY id LIMIT ?", (limit,)
    )]  # fmt: skip


def rows_for_threading(conn: Connection, ids: Sequence[int]) -> list[dict[str, Any]]:
    """The fields threading reads, oldest first (so originals usually precede replies), as
    stored except `date` (also kept as `date_text`) and `refs` (a list): the rest is read
    for few messages, so `tickets.messages_for_threading`'s parsing would be wasted."""
    cur, out = cursor(conn), []
    names = [c.strip() for c in _ROW.split(",")]
    for chunk in chunks(list(dict.fromkeys(ids))):
        for r in cur.execute(f"SELECT {_ROW} FROM messages WHERE id IN ({marks(chunk)}) AND removed = 0", chunk):
            row = dict(zip(names, r, strict=True))
            row["date_text"], row["date"], row["refs"] = row["date"], db_time(row["date"]), row["refs"].split()
            out.append(row)
    out.sort(key=lambda r: (r["date"], r["id"]))
    return out


def with_events(conn: Connection, pks: Iterable[int]) -> set[int]:
    """Those of `pks` whose family (the ticket and all merged into it) has team events."""
    cur = cursor(conn)
    if cur.execute("SELECT 1 FROM events LIMIT 1").fetchone() is None:
        return set()
    return {int(r[0]) for r in cur.execute(
        "WITH RECURSIVE fam(top, id) AS (SELECT value, value FROM json_each(?) UNION "
        "SELECT fam.top, t.id FROM fam JOIN tickets t ON t.merged_into = fam.id) "
        "SELECT DISTINCT fam.top FROM fam JOIN tickets t ON t.id = fam.id "
        "WHERE EXISTS (SELECT 1 FROM events e WHERE e.ticket = t.ref)", (json.dumps(sorted(set(pks))),),
    )}  # fmt: skip


def _addresses(to: str, cc: str) -> set[str]:
    """The addresses of stored To and Cc (JSON lists of [name, address]), lower-case."""
    return {p[1].lower() for p in json.loads(to or "[]") + json.loads(cc or "[]") if len(p) > 1 and p[1]}


class Members:
    """A ticket's messages as threading sees them: addresses, thread headers and the running
    summary (`tickets.refresh_summary` over the same rows, kept up to date one row at a time)."""

    __slots__ = ("addrs", "auto", "customer", "first", "heads", "human", "last", "n", "ours", "robot")
    _EARLIEST = ("first", "human", "customer", "robot", "ours")

    def __init__(self) -> None:
        self.addrs: list[tuple[str, str, str]] = []
        self.heads: list[tuple[str, str, str, str, str]] = []
        self.n, self.auto = 0, True
        self.first: tuple[Any, ...] | None = None  # the earliest message
        self.last: tuple[Any, ...] | None = None
        self.human: tuple[Any, ...] | None = None  # the earliest not sent by a robot
        self.customer: tuple[Any, ...] | None = None  # the earliest of the customer's (not a robot's)
        self.robot: tuple[Any, ...] | None = None  # the earliest robot's, not ours
        self.ours: tuple[Any, ...] | None = None

    def add(self, m: tuple[Any, ...]) -> None:
        """m: the columns of `MEMBER`, in order."""
        mid, date, _s, _n, frm, to, cc, _snip, ours, auto, dup, removed, msgid, irt, refs, kind = m
        self.addrs.append((frm, to, cc))
        if dup is not None:
            return
        if not auto:
            self.heads.append((msgid, irt, refs, date, kind))
        if removed:
            return
        key = (date, mid)
        self.n += 1
        self.auto = self.auto and bool(auto)
        if self.last is None or key > (self.last[1], self.last[0]):
            self.last = m
        if self.first is None or key < (self.first[1], self.first[0]):
            self.first = m
        if not auto and (self.human is None or key < (self.human[1], self.human[0])):
            self.human = m
        side = "ours" if ours else "robot" if auto else "customer"
        best = getattr(self, side)
        if best is None or key < (best[1], best[0]):
            setattr(self, side, m)

    def merge(self, other: Members) -> None:
        """Take in another ticket's messages (it is being joined into this one)."""
        self.addrs += other.addrs
        self.heads += other.heads
        self.n += other.n
        self.auto = self.auto and other.auto
        for side in self._EARLIEST:
            mine, theirs = getattr(self, side), getattr(other, side)
            if mine is None or (theirs is not None and (theirs[1], theirs[0]) < (mine[1], mine[0])):
                setattr(self, side, theirs)
        if self.last is None or (other.last is not None and (other.last[1], other.last[0]) > (self.last[1], self.last[0])):
            self.last = other.last

    def senders(self) -> set[str]:
        """Who wrote the ticket's mail."""
        return {frm.lower() for frm, _to, _cc in self.addrs}

    def addresses(self) -> set[str]:
        found: set[str] = set()
        for frm, to, cc in self.addrs:
            found.add(frm.lower())
            found |= _addresses(to, cc)
        return found

    def summary(self, row: dict[str, Any], subject: Callable[[str], tuple[str, str]]) -> tuple[Any, ...] | None:
        """What `tickets.refresh_summary` writes (`SUMMARY`, in order) onto the ticket `row`;
        None when it has no messages (then it writes message_count = 0, hidden = 1)."""
        first, last = self.first, self.last
        if first is None or last is None:
            return None
        human, customer = self.human or first, self.customer
        to = [a for a in json.loads(human[5] or "[]") if len(a) > 1] if customer is None and self.ours else []
        if customer is None and not to:
            customer = self.robot  # a robot is the requester only if nobody else wrote
        if customer is not None:
            addr, name = customer[4].lower(), customer[3]
        else:  # we wrote first: the customer is whom we wrote to
            addr, name = (to[0][1].lower(), to[0][0]) if to else ("", "")
        response = self.ours[1] if self.ours is not None and customer is not None else None
        updated = max(last[1], row["updated_at"]) if row["updated_at"] else last[1]
        return (*subject(human[2]), addr, name, addr.rpartition("@")[2], first[1], last[1], updated, response,
                last[7], self.n, self.auto, row["merged_into"] is not None)  # fmt: skip

    def thread_headers(self) -> list[tuple[str, str, list[str], Any, str]]:
        """For `roots.conversation_root`; one message's date cannot matter, so is not read."""
        when = db_time if len(self.heads) > 1 else lambda _d: None
        return [(m, irt, refs.split(), when(date), kind) for m, irt, refs, date, kind in self.heads]


class TicketCache:
    """Ticket rows by id and ref, read once per batch."""

    def __init__(self, conn: Connection) -> None:
        self.conn, self.cur = conn, cursor(conn)
        self.tickets: dict[int, dict[str, Any] | None] = {}
        self.by_ref: dict[str, int | None] = {}
        self.children: dict[int, set[int]] = {}  # merged_into -> cached tickets
        self.folders: dict[int | None, tuple[str, str]] = {None: ("", "")}

    def _cache(self, values: Sequence[Any]) -> dict[str, Any]:
        row = dict(zip(COLS, values, strict=True))
        old = self.tickets.get(row["id"])
        if old is not None and old["merged_into"] is not None:
            self.children.get(old["merged_into"], set()).discard(row["id"])
        if row["merged_into"] is not None:
            self.children.setdefault(row["merged_into"], set()).add(row["id"])
        self.tickets[row["id"]] = row
        self.by_ref[row["ref"]] = row["id"]
        return row

    def ticket(self, pk: int) -> dict[str, Any] | None:
        if pk not in self.tickets:
            hit = self.cur.execute(f"{TICKET} WHERE id = ?", (pk,)).fetchone()
            self.tickets[pk] = self._cache(hit) if hit else None
        return self.tickets[pk]

    def cache_tickets(self, pks: Iterable[int]) -> None:
        """Read the rows of these tickets (those not cached yet) in a few queries."""
        for chunk in chunks([pk for pk in dict.fromkeys(pks) if pk not in self.tickets]):
            for r in self.cur.execute(f"{TICKET} WHERE id IN ({marks(chunk)})", chunk):
                self._cache(r)
            for pk in chunk:
                self.tickets.setdefault(pk, None)

    def pk_for_ref(self, ref: str) -> int | None:
        if ref not in self.by_ref:
            hit = self.cur.execute(f"{TICKET} WHERE ref = ?", (ref,)).fetchone()
            self.by_ref[ref] = self._cache(hit)["id"] if hit else None
        return self.by_ref[ref]

    def survivor(self, pk: int) -> int:
        """Follow `merged_into` to the ticket that now holds this one's messages."""
        row = self.tickets.get(pk)
        if row is not None and row["merged_into"] is None:
            return pk
        seen: set[int] = set()
        while pk not in seen:
            seen.add(pk)
            row = self.ticket(pk)
            if row is None or row["merged_into"] is None:
                return pk
            pk = row["merged_into"]
        return pk

    def closed_hlc(self, ref: str) -> str | None:
        """The clock of the latest write of status "closed" to ticket `ref` (None if none is
        kept: never closed, or compacted into a snapshot)."""
        hit = self.cur.execute(
            "SELECT MAX(hlc) FROM events WHERE ticket = ? AND field = 'status' AND op = 'set' AND value = 'closed'",
            (ref,),
        ).fetchone()
        return hit[0] if hit else None

    def folder(self, folder_id: int | None) -> tuple[str, str]:
        if folder_id not in self.folders:
            hit = self.cur.execute("SELECT name, special_use FROM folders WHERE id = ?", (folder_id,)).fetchone()
            self.folders[folder_id] = (hit[0], hit[1]) if hit else ("", "")
        return self.folders[folder_id]
