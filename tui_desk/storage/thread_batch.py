"""The pending half of threading a batch: `Workset` loads the threading keys, copies and
messages a batch may touch in a few queries, answers threading's questions from memory and
writes what changed once, at `flush` (executemany per statement).

Waits live in `thread_keys` too (`thread_waitrows`), so the queries that load a batch's keys
load them for free. Whose mail the subject rule compares is `thread_mail`.

Every answer is what the SQL would give had each write gone to the database the moment it
was made. Joining one ticket into another (`absorb`) is done here too and written at `flush`,
after the rows it moves. Rules live in `tickets.threading`; this knows only rows.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from sqlalchemy import Connection

from tui_desk.storage.db import to_db_time
from tui_desk.storage.thread_mail import CustomerMail
from tui_desk.storage.thread_sql import (
    COLS,
    MEMBER,
    NEW,
    SUMMARY,
    TICKET,
    Members,
    TicketCache,
    chunks,
    marks,
)
from tui_desk.storage.thread_waitrows import WAIT, WaitRows
from tui_desk.storage.tickets import move_tickets_contents

_LINKS = ("merged_into", "follow_up_of", "split_from")


class Workset(TicketCache, WaitRows):
    """One batch's view of tickets, threading keys and placed messages (see the module doc).

    `loose_of(subject, in_reply_to, refs)` says whether a non-automatic message may be threaded
    by its subject (kept per customer in `mail`)."""

    def __init__(self, conn: Connection, key_of: Callable[[str], str], display_of: Callable[[str], str],
                 loose_of: Callable[[str, str, str], bool]) -> None:  # fmt: skip
        super().__init__(conn)
        self.key_of, self.display_of = key_of, display_of
        self.mail = CustomerMail(self.cur, self.key_of_subject, loose_of, self.survivor, self.cache_tickets)
        self.waits: dict[str, set[tuple[str, int]]] = {}  # key_ref -> {(wait msgid, waiting ticket)}, if any
        self.waits_of: dict[int, set[tuple[str, str]]] = {}  # waiting ticket -> {(key_ref, wait msgid)}
        self.subjects: dict[str, tuple[str, str]] = {}
        self.keys: dict[str, set[int]] = {}  # msgid -> tickets that have seen it
        self.key_refs: dict[str, set[int]] = {}  # key_ref -> tickets
        self.keys_of: dict[int, set[str]] = {}
        self.key_refs_of: dict[int, set[str]] = {}
        self.copies: dict[tuple[str, str], set[int]] = {}  # (Message-ID, hash) -> threaded copies
        self.msg_ticket: dict[int, int | None] = {}
        self.msgs_of: dict[int, set[int]] = {}
        self.members: dict[int, Members] = {}
        self.placements: list[tuple[int | None, str, bool, int | None, int]] = []
        self.new_keys: list[tuple[str, int, str]] = []
        self.fresh: dict[int, dict[str, Any]] = {}  # new tickets, inserted at `flush`
        self.next_id = 0
        self.summary: dict[int, tuple[Any, ...]] = {}  # `SUMMARY` values to write
        self.pending: dict[int, dict[str, Any]] = {}  # other columns to write (after the summary)
        self.moves: list[tuple[int, int]] = []  # tickets joined (src, dst), in order, to write after

    def split_targets(self, message_ids: Sequence[str]) -> dict[str, str]:
        """Message-ID -> the ref its newest split event sent it to."""
        out: dict[str, str] = {}
        for chunk in chunks(list(dict.fromkeys(message_ids))):
            for msgid, ref in self.cur.execute(
                "SELECT json_extract(value, '$.message_id'), ticket FROM events WHERE field = 'split' "
                f"AND json_extract(value, '$.message_id') IN ({marks(chunk)}) ORDER BY hlc DESC, event_id DESC", chunk
            ):  # fmt: skip
                out.setdefault(msgid, ref)
        return out

    def load(self, msgids: Iterable[str], refs: Iterable[str], own: Iterable[str] = ()) -> None:
        """Threading keys of `msgids`, tickets and key owners of `refs`, threaded copies of `own`."""
        new_ids = [m for m in dict.fromkeys(msgids) if m and m not in self.keys]
        new_refs = [r for r in dict.fromkeys(refs) if r and r not in self.key_refs]
        if not (new_ids or new_refs or own):
            return
        holders: set[int] = set()
        for column, items in (("msgid", new_ids), ("key_ref", new_refs)):
            for chunk in chunks(items):
                sql = f"SELECT msgid, ticket_id, key_ref FROM thread_keys WHERE {column} IN ({marks(chunk)})"
                found = self.cur.execute(sql, chunk).fetchall()
                for key in chunk:
                    (self.keys if column == "msgid" else self.key_refs).setdefault(key, set())
                self._learn_keys(found)
                holders.update(pk for _m, pk, _r in found if pk not in self.tickets)
        for chunk in chunks(sorted(holders)):
            for r in self.cur.execute(f"{TICKET} WHERE id IN ({marks(chunk)})", chunk):
                self._cache(r)
        for chunk in chunks([r for r in new_refs if r not in self.by_ref]):
            for r in self.cur.execute(f"{TICKET} WHERE ref IN ({marks(chunk)})", chunk):
                self._cache(r)
            for ref in chunk:
                self.by_ref.setdefault(ref, None)
        for chunk in chunks(list(dict.fromkeys(own))):
            for mid, pk, msgid, chash in self.cur.execute(
                "SELECT id, ticket_id, message_id, content_hash FROM messages "
                f"WHERE message_id IN ({marks(chunk)}) AND ticket_id IS NOT NULL", chunk
            ):  # fmt: skip
                self.copies.setdefault((msgid, chash), set()).add(mid)
                self._set_msg_ticket(mid, pk)

    def _learn_keys(self, found: Iterable[tuple[str, int, str]]) -> None:
        for msgid, pk, key_ref in found:
            if msgid.startswith(WAIT):
                if key_ref in self.key_refs:
                    self.waits.setdefault(key_ref, set()).add((msgid, pk))
                    self.waits_of.setdefault(pk, set()).add((key_ref, msgid))
                continue
            if msgid in self.keys:
                self.keys[msgid].add(pk)
                self.keys_of.setdefault(pk, set()).add(msgid)
            if key_ref in self.key_refs:
                self.key_refs[key_ref].add(pk)
                self.key_refs_of.setdefault(pk, set()).add(key_ref)

    def members_of(self, pk: int) -> Members:
        if pk not in self.members:
            found = self.members[pk] = Members()
            for m in self.cur.execute(MEMBER, (pk,)).fetchall():
                found.add(m)
        return self.members[pk]

    def tickets_for_keys(self, msgids: Iterable[str]) -> dict[str, list[int]]:
        """For each Message-ID, the tickets that have seen it (lowest id first)."""
        out: dict[str, list[int]] = {}
        for m in msgids:
            if m and m not in out:
                found = self.keys.get(m)
                if found is None:
                    self.load([m], ())
                    found = self.keys[m]
                if found:
                    out[m] = sorted(found)
        return out

    def owner_of_key_ref(self, ref: str) -> int | None:
        if ref not in self.key_refs:
            self.load((), [ref])
        found = self.key_refs[ref]
        return min(found) if found else None

    def first_copy(self, message_id: str, content_hash: str, exclude: int) -> tuple[int, int] | None:
        ids = [m for m in self.copies.get((message_id, content_hash), ()) if m != exclude]
        ids = [m for m in ids if self.msg_ticket.get(m) is not None]
        if not ids:
            return None
        first = min(ids)
        return first, int(self.msg_ticket[first] or 0)

    def stubs_with_refs(self, refs: Iterable[str], exclude: int) -> list[int]:
        """Message-less, unmerged tickets (made by early team events) with one of these refs."""
        found = []
        for ref in dict.fromkeys(refs):
            pk = self.pk_for_ref(ref)
            row = self.ticket(pk) if pk is not None and pk != exclude else None
            if row is not None and row["message_count"] == 0 and row["merged_into"] is None:
                found.append(pk)
        return sorted(found)

    def participants(self, pk: int) -> set[str]:
        """Every address on the ticket's mail (From, To, Cc) plus its requester."""
        found = self.members_of(pk).addresses()
        row = self.ticket(pk)
        if row and row["requester_addr"]:
            found.add(row["requester_addr"])
        found.discard("")
        return found

    def create(self, ref: str, root: str, at: Any, **values: Any) -> int:
        """A new ticket; its row is inserted at `flush`, with the id SQLite would give it now
        (nothing else inserts tickets before then: every other writer flushes first)."""
        if not self.next_id:
            self.next_id = int(self.cur.execute("SELECT COALESCE(MAX(id), 0) + 1 FROM tickets").fetchone()[0])
        pk, self.next_id = self.next_id, self.next_id + 1
        when = at if isinstance(at, str) else to_db_time(at)
        self.fresh[pk] = cols = {"id": pk, "ref": ref, "root": root, "created_at": when, "updated_at": when, **values}
        row = {**NEW, **cols}
        self.tickets[pk] = {c: row[c] for c in COLS}
        self.by_ref[ref] = pk
        if row["merged_into"] is not None:
            self.children.setdefault(row["merged_into"], set()).add(pk)
        self.members[pk] = Members()
        return pk

    def update(self, pk: int, **values: Any) -> None:
        """Change ticket columns at once (rare: reusing a stub, re-rooting)."""
        values = {k: to_db_time(v) if k == "created_at" else v for k, v in values.items()}
        if pk in self.fresh:
            self.fresh[pk].update(values)
        else:
            self.cur.execute(f"UPDATE tickets SET {', '.join(f'{k} = ?' for k in values)} WHERE id = ?",
                             (*values.values(), pk))  # fmt: skip
        row = self.ticket(pk)
        if row is not None:
            self._cache([values.get(c, row[c]) for c in COLS])

    def _set_msg_ticket(self, mid: int, pk: int | None) -> None:
        old = self.msg_ticket.get(mid)
        if old is not None:
            self.msgs_of.get(old, set()).discard(mid)
        self.msg_ticket[mid] = pk
        if pk is not None:
            self.msgs_of.setdefault(pk, set()).add(mid)

    def place(self, row: dict[str, Any], pk: int | None, kind: str, *, ours: bool, duplicate_of: int | None = None) -> None:
        """Put one message into ticket `pk` (None: into no ticket)."""
        mid = row["id"]
        self.placements.append((pk, kind, ours, duplicate_of, mid))
        self._set_msg_ticket(mid, pk)
        if pk is not None:
            if not row["auto_submitted"] and duplicate_of is None:
                ticket = self.ticket(pk)
                requester = (ticket["requester_addr"] if ticket else "") or (_first_to(row) if ours else "")
                self.mail.add(pk, row, ours=ours, requester=requester)
            self.copies.setdefault((row["message_id"], row["content_hash"]), set()).add(mid)
            self.members_of(pk).add((
                mid, row["date_text"], row["subject"], row["from_name"], row["from_addr"], row["to_addrs"],
                row["cc_addrs"], row["snippet"], ours, row["auto_submitted"], duplicate_of, 0, row["message_id"],
                row["in_reply_to"], " ".join(row["refs"]), kind,
            ))  # fmt: skip

    def add_keys(self, pk: int, keys: Iterable[tuple[str, str]]) -> None:
        """Record (msgid, ref-that-msgid-would-give) pairs as seen by ticket `pk`."""
        for msgid, ref in keys:
            if not msgid:
                continue
            if msgid not in self.keys or ref not in self.key_refs:
                self.load([msgid], [ref])
            self.new_keys.append((msgid, pk, ref))
            self.keys[msgid].add(pk)
            self.keys_of.setdefault(pk, set()).add(msgid)
            self.key_refs[ref].add(pk)
            self.key_refs_of.setdefault(pk, set()).add(ref)

    def move_mail(self, message_id: str, src: int, dst: int) -> None:
        """Move one message (every copy, and its own key) from ticket `src` to `dst`; the caller
        refreshes both. Rare: an auto-reply whose nearer original turned up after it had joined
        another ticket."""
        self.flush(only=(src, dst))
        ref = next((r for m, _p, r in self.cur.execute(
            "SELECT msgid, ticket_id, key_ref FROM thread_keys WHERE msgid = ? AND ticket_id = ?", (message_id, src))), None)  # fmt: skip
        for (mid,) in self.cur.execute("SELECT id FROM messages WHERE message_id = ? AND ticket_id = ?",
                                       (message_id, src)).fetchall():  # fmt: skip
            self.cur.execute("UPDATE messages SET ticket_id = ? WHERE id = ?", (dst, mid))
            self._set_msg_ticket(mid, dst)
        if ref is not None:
            self.cur.execute("DELETE FROM thread_keys WHERE msgid = ? AND ticket_id = ?", (message_id, src))
            self.new_keys.append((message_id, dst, ref))
            for index, of, key in ((self.keys, self.keys_of, message_id), (self.key_refs, self.key_refs_of, ref)):
                if key in index:
                    index[key].discard(src)
                    index[key].add(dst)
                    of.get(src, set()).discard(key)
                    of.setdefault(dst, set()).add(key)
        self.members.pop(src, None)
        self.members.pop(dst, None)

    def mark_unread(self, pk: int) -> None:
        self.pending.setdefault(pk, {})["unread"] = True

    def refresh(self, pk: int) -> None:
        """`tickets.refresh_summary`, kept here until `flush`."""
        row = self.ticket(pk)
        assert row is not None
        values = self.members_of(pk).summary(row, self.subject)
        if values is None:
            self.pending.setdefault(pk, {}).update(message_count=0, hidden=True)
            row["message_count"], row["hidden"] = 0, True
        else:
            self.summary[pk] = values
            partial = self.pending.get(pk)
            if partial:
                partial.pop("message_count", None)
                partial.pop("hidden", None)
            row.update(zip(SUMMARY, values, strict=True))

    def subject(self, text: str) -> tuple[str, str]:
        """(display subject, subject key) of a ticket whose first message has this subject."""
        found = self.subjects.get(text)
        if found is None:
            found = self.subjects[text] = (self.display_of(text), self.key_of(text))
        return found

    def key_of_subject(self, text: str) -> str:
        """The subject key of a subject, remembered."""
        return self.subject(text)[1]

    def flush(self, only: Iterable[int] | None = None) -> None:
        """Write every change kept in memory; with `only`, of the ticket rows' columns only
        those of these tickets (the others are written once, at the last flush)."""
        cur = self.cur
        inserts: dict[tuple[str, ...], list[tuple[Any, ...]]] = {}
        links: list[tuple[str, int, int]] = []  # a new row naming another new row: set once both exist
        for pk, cols in self.fresh.items():
            if pk in self.summary:
                cols.update(zip(SUMMARY, self.summary.pop(pk), strict=True))
            cols.update(self.pending.pop(pk, {}))
            links += [(c, cols.pop(c), pk) for c in _LINKS if cols.get(c) in self.fresh]
            inserts.setdefault(tuple(cols), []).append(tuple(cols.values()))
        for names, params in inserts.items():
            cur.executemany(f"INSERT INTO tickets ({', '.join(names)}) VALUES ({marks(names)})", params)
        for column, target, pk in links:
            cur.execute(f"UPDATE tickets SET {column} = ? WHERE id = ?", (target, pk))
        if self.placements:
            cur.executemany("UPDATE messages SET ticket_id = ?, thread_kind = ?, ours = ?, duplicate_of = ? WHERE id = ?",
                            self.placements)  # fmt: skip
        if self.new_keys:
            cur.executemany("INSERT OR IGNORE INTO thread_keys (msgid, ticket_id, key_ref) VALUES (?, ?, ?)", self.new_keys)
        groups: dict[tuple[str, ...], list[tuple[Any, ...]]] = {}
        for pk in {**self.summary, **self.pending} if only is None else [p for p in only if p in self.summary or p in self.pending]:
            summary, pending = self.summary.pop(pk, None), self.pending.pop(pk, {})
            values = dict(zip(SUMMARY, summary, strict=True)) if summary is not None else {}
            values |= pending
            if values:
                groups.setdefault(tuple(values), []).append((*values.values(), pk))
        for names, params in groups.items():
            cur.executemany(f"UPDATE tickets SET {', '.join(f'{n} = ?' for n in names)} WHERE id = ?", params)
        move_tickets_contents(self.conn, self.moves)
        self.placements, self.new_keys, self.fresh, self.moves = [], [], {}, []
        self.next_id = 0

    def absorb(self, src: int, dst: int) -> None:
        """Move everything of ticket `src` into `dst` (`apply.absorb` less its audit line, which
        the caller writes): here at once, in the database at `flush`
        (`tickets.move_tickets_contents`, in order)."""
        row = self.ticket(dst)
        if row is not None and row["merged_into"] is not None:  # a stub takes its mail back
            self.flush()
            self.update(dst, merged_into=None)
        self.members_of(dst).merge(self.members_of(src))
        self.members.pop(src, None)
        self.moves.append((src, dst))
        for child in self.children.get(src, set()) - {dst}:
            self._recache(child, merged_into=dst)
        self._recache(src, merged_into=dst, hidden=True, message_count=0)
        self.summary.pop(src, None)
        if self.pending.pop(src, {}).get("unread"):
            self.mark_unread(dst)
        self.absorbed(src, dst)
        self.refresh(dst)

    def _recache(self, pk: int, **values: Any) -> None:
        """Change a cached ticket row (its database row changes at `flush`)."""
        row = self.tickets.get(pk)
        if row is not None:
            self._cache([values.get(c, row[c]) for c in COLS])
        if pk in self.fresh:
            self.fresh[pk].update(values)

    def absorbed(self, src: int, dst: int) -> None:
        """`src` was moved into `dst`: move its keys, waits and messages in the indexes."""
        for index, of in ((self.keys, self.keys_of), (self.key_refs, self.key_refs_of)):
            for key in of.pop(src, set()):
                index[key].discard(src)
                index[key].add(dst)
                of.setdefault(dst, set()).add(key)
        for ref, wait in self.waits_of.pop(src, set()):
            self.waits[ref].discard((wait, src))
            self.waits[ref].add((wait, dst))  # the SQL moved the row too
            self.waits_of.setdefault(dst, set()).add((ref, wait))
        for mid in list(self.msgs_of.pop(src, ())):
            self._set_msg_ticket(mid, dst)


def _first_to(row: dict[str, Any]) -> str:
    """The first To address of a stored row: whom a ticket we start is with."""
    to = [a for a in json.loads(row["to_addrs"] or "[]") if len(a) > 1]
    return str(to[0][1]).lower() if to else ""
