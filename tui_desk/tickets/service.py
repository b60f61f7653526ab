"""`DeskService`: the one door between the screens and everything below them.

Why one facade: the import contracts keep SQL, sockets and the keyring out of
`tui_desk.screens`, and a UI that reaches into several modules for its data ends up with
transactions opened in paint code. The screens call these methods and get back the plain
dataclasses of `service_types` (rows, details, results); reads are a few milliseconds each and
may run on the UI thread, anything that talks to a server runs in a worker thread (the
methods are thread-safe: each opens its own transaction).

Account, sync and connection tests are in `service_account`; replies in `service_compose`.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, tzinfo
from pathlib import Path
from typing import Any

from tui_desk.config import Config, Paths
from tui_desk.storage import messages as message_rows
from tui_desk.storage import ticket_search as search
from tui_desk.storage import ticket_window as window_rows
from tui_desk.storage import tickets as rows
from tui_desk.storage.db import Database
from tui_desk.tickets import desk, query, workflow
from tui_desk.tickets.composing import marks_on
from tui_desk.tickets.model import PRIORITIES, InvalidChange
from tui_desk.tickets.query import QueryError
from tui_desk.tickets.service_account import AccountsMixin
from tui_desk.tickets.service_compose import ComposeMixin
from tui_desk.tickets.service_types import (
    Attachment,
    AuditView,
    ChangeResult,
    ListPage,
    MessageView,
    NoteView,
    TicketDetail,
    TicketRow,
    ViewInfo,
)
from tui_desk.tickets.workflow import Change, TicketNotFound

__all__ = ["DeskService", "QueryError", "TicketNotFound"]


def _when(value: Any) -> datetime | None:
    if value is None or isinstance(value, datetime):
        return value
    return datetime.fromisoformat(str(value))


def _row(r: dict[str, Any]) -> TicketRow:
    return TicketRow(
        pk=int(r["id"]), ref=r["ref"], status=r["status"], priority=PRIORITIES[r["priority"]],
        subject=r["subject"] or "", requester_name=r["requester_name"] or "", requester_addr=r["requester_addr"] or "",
        assignee=r["assignee"] or "", created=r["created_at"], updated=r["updated_at"], unread=bool(r["unread"]),
        messages=int(r["message_count"] or 0), tags=tuple(r.get("tags", ())), snippet=r["snippet"] or "",
        sort_key=tuple(r.get("sort_key", ())),
    )  # fmt: skip


@dataclass(frozen=True, slots=True)
class ChangeSet:
    """A change asked for on one or many tickets (what the status/assign/tag pickers produce)."""

    status: str | None = None
    priority: str | None = None
    assignee: str | None = None
    add_tags: tuple[str, ...] = ()
    remove_tags: tuple[str, ...] = ()
    note: str | None = None

    def changes(self) -> list[Change]:
        out: list[Change] = []
        if self.status is not None:
            out.append(Change("status", "set", self.status))
        if self.priority is not None:
            out.append(Change("priority", "set", self.priority))
        if self.assignee is not None:
            out.append(Change("assignee", "set", self.assignee))
        out += [Change("tag", "add", t) for t in self.add_tags]
        out += [Change("tag", "remove", t) for t in self.remove_tags]
        if self.note is not None:
            out.append(Change("note", "add", self.note))
        return out


class DeskService(AccountsMixin, ComposeMixin):
    """Owns the `Database` and the `Config`; everything the UI shows or changes goes through it."""

    def __init__(self, paths: Paths | None, config: Config, *, db: Database | None = None,
                 clock: Callable[[], datetime] | None = None, tz: tzinfo | None = None,
                 background_sync: bool = True) -> None:  # fmt: skip
        if db is None:
            if paths is None:
                raise ValueError("DeskService needs paths or a database")
            db = Database.in_dir(paths.data_dir)
        self.paths = paths
        self.config = config
        self.db = db
        self.clock = clock
        """A fixed clock makes "updated 3h ago" and relative filters deterministic (tests, snapshots)."""
        self.tz = tz
        """Times are shown in this zone; None means the machine's local zone."""
        self.background_sync = background_sync
        self._wakers: set[threading.Event] = set()
        """One per running background sync (`watch`): `nudge` sets them after a local change."""
        self._wakers_lock = threading.Lock()

    @classmethod
    def open(cls, paths: Paths, config: Config, **kw: Any) -> DeskService:
        """Open the data directory and thread any mail not threaded yet (left by an older
        version or an interrupted run), so the list is complete from the first frame."""
        service = cls(paths, config, **kw)
        desk.open_desk(service.db)
        return service

    def close(self) -> None:
        self.db.close()

    # -- identity and time ------------------------------------------------------------------
    def now(self) -> datetime:
        return self.clock() if self.clock is not None else datetime.now(UTC)

    def local(self, moment: datetime | None) -> datetime | None:
        """A stored (UTC) moment in the zone the user reads times in."""
        if moment is None:
            return None
        return moment.astimezone(self.tz) if self.tz is not None else moment.astimezone()

    @property
    def agent(self) -> str:
        """Who "me" is in filters (assignee:me) and in the audit trail."""
        return desk.agent_identity(self.config.agent.email or None)

    # -- the list -----------------------------------------------------------------------------
    def parse(self, text: str) -> search.TicketFilter:
        """The filter `text` means; raises `QueryError` (with `.position`/`.pointer()`) if malformed."""
        return query.parse(text, agent=self.agent, now=self.now())

    def page(self, text: str = "", after: str | None = None, limit: int = 50) -> ListPage:
        """One keyset page (stable under inserts): for scripts and sequential reading."""
        with self.db.read() as conn:
            found = query.page(conn, self.parse(text), after=after, limit=limit, agent=self.agent, now=self.now())
            refs = [r["id"] for r in found.rows]
            by_ref = {r.ref: r for r in self._rows_by_ref(conn, refs)}
        return ListPage([by_ref[r] for r in refs if r in by_ref], found.next_cursor)

    def tickets(self, refs: list[str]) -> list[TicketRow]:
        """The list rows of these tickets, in the order asked (ids as people type them: any case,
        a unique prefix, an id merged away); raises TicketNotFound for one that matches nothing."""
        with self.db.read() as conn:
            found = [workflow.ref_of(conn, workflow.resolve(conn, r)) for r in refs]
            return self._rows_by_ref(conn, found)

    def _rows_by_ref(self, conn: Any, refs: list[str]) -> list[TicketRow]:
        out = []
        for ref in refs:
            pk = rows.pk_for_ref(conn, ref)
            t = rows.get_ticket(conn, pk) if pk is not None else None
            if t is not None:
                t = dict(t, tags=search.tags_for(conn, [pk]).get(pk, []))  # type: ignore[list-item]
                out.append(_row(t))
        return out

    def window(self, text: str, offset: int, limit: int, *, after_key: Iterable[Any] | None = None) -> list[TicketRow]:
        """Rows `offset` .. `offset + limit` of the list: what a screen draws. With `after_key`
        (the sort key of the row just above `offset`) it is a plain keyset read; without, one
        index walk finds where `offset` starts, so any jump costs the same."""
        f = self.parse(text)
        with self.db.read() as conn:
            key = list(after_key) if after_key is not None else None
            if key is None and offset > 0:
                key = window_rows.key_at(conn, f, offset - 1)
                if key is None:
                    return []
            found = [_row(r) for r in search.page_rows(conn, f, key, limit)]
            marks = marks_on(conn, [r.ref for r in found], self.agent)
        if not marks:
            return found
        return [replace(r, composing=tuple(a for a, _t in marks[r.ref])) if r.ref in marks else r for r in found]

    def composing(self, ref: str) -> tuple[tuple[str, datetime], ...]:
        """(agent, since) of colleagues writing a reply to ticket `ref` now (one small read: the
        ticket screen asks again whenever the team sync may have brought news)."""
        with self.db.read() as conn:
            refs = [r for _pk, r in rows.family(conn, workflow.resolve(conn, ref))]
            marks = marks_on(conn, refs, self.agent)
        return tuple(sorted((m for found in marks.values() for m in found), key=lambda m: m[1]))

    def count(self, text: str = "") -> int:
        with self.db.read() as conn:
            return window_rows.count(conn, self.parse(text))

    def position(self, text: str, ref: str) -> int | None:
        """Where ticket `ref` is in the list now (None if the filter no longer matches it):
        how the list keeps the selected ticket selected when new mail shifts the rows."""
        f = self.parse(text)
        with self.db.read() as conn:
            key = window_rows.key_of(conn, f, ref)
            return None if key is None else window_rows.offset_of(conn, f, key)

    # -- saved views --------------------------------------------------------------------------
    def views(self, *, counts: bool = True) -> list[ViewInfo]:
        """The saved views, each with how many tickets it holds now (`counts=False` skips that)."""
        with self.db.read() as conn:
            found = desk.views(conn)
            out = []
            for v in found:
                n: int | None = None
                if counts:
                    try:
                        n = window_rows.count(conn, self.parse(v["query"]))
                    except QueryError:
                        n = None
                out.append(ViewInfo(v["name"], v["query"], bool(v["builtin"]), n))
        return out

    def save_view(self, name: str, text: str) -> None:
        with self.db.write() as conn:
            desk.save_view(conn, name, text)

    def delete_view(self, name: str) -> bool:
        """False when there is no such view; ValueError for a built-in one (never deleted)."""
        with self.db.write() as conn:
            return desk.delete_view(conn, name)

    def rename_view(self, old: str, new: str) -> str:
        """Rename a saved view in place; ValueError for a built-in view or a name in use."""
        with self.db.write() as conn:
            return desk.rename_view(conn, old, new)

    # -- one ticket ---------------------------------------------------------------------------
    def detail(self, ref: str) -> TicketDetail:
        """Everything the ticket screen shows; bodies not parsed yet (big first sync) are
        parsed from the stored raw mail on the spot so the conversation is never blank."""
        with self.db.read() as conn:
            d = desk.detail(conn, ref)
            ids = [m["row_id"] for m in d["messages"]]
            files = window_rows.attachments_of(conn, ids)
            pending = {i: message_rows.raw_bytes(conn, i) for i in window_rows.unparsed_bodies(conn, ids)}
        if pending:
            from tui_desk.mail.parse import parse_message
        texts = {i: parse_message(raw).text for i, raw in pending.items() if raw}
        messages = tuple(
            MessageView(
                row_id=m["row_id"], message_id=m["message_id"], date=_when(m["date"]),
                from_name=m["from"]["name"] or "", from_addr=m["from"]["address"] or "",
                to=tuple(a["address"] for a in m["to"]), cc=tuple(a["address"] for a in m["cc"]),
                subject=m["subject"] or "", text=texts.get(m["row_id"], m["text"] or ""), ours=bool(m["ours"]),
                automatic=bool(m["automatic"]),
                attachments=tuple(Attachment(m["row_id"], a["part"], a["name"], a["content_type"], a["size"])
                                  for a in files.get(m["row_id"], [])),
            )
            for m in d["messages"]
        )  # fmt: skip
        return TicketDetail(
            ref=d["id"], subject=d["subject"] or "", status=d["status"], priority=d["priority"],
            assignee=d["assignee"] or "", tags=tuple(d["tags"]), requester_name=d["requester"]["name"] or "",
            requester_addr=d["requester"]["address"] or "", organisation=d["requester"]["organisation"] or "",
            unread=bool(d["unread"]), created=_when(d["created"]), updated=_when(d["updated"]), messages=messages,
            notes=tuple(NoteView(n["author"], n["body"], _when(n["at"])) for n in d["notes"]),
            audit=tuple(AuditView(_when(a["at"]), a["agent"], a["field"], a["from"] or "", a["to"] or "")
                        for a in d["audit"]),
            merged=tuple(d["merged"]), follow_up_of=d["follow_up_of"], split_from=d["split_from"],
            composing=self.composing(d["id"]),
        )  # fmt: skip

    def requester_tickets(self, ref: str, limit: int = 20) -> list[TicketRow]:
        """The requester's other tickets, newest first (the ticket itself left out)."""
        with self.db.read() as conn:
            pk = workflow.resolve(conn, ref)
            t = rows.get_ticket(conn, pk) or {}
            addr = t.get("requester_addr") or ""
            if not addr:
                return []
            f = search.TicketFilter([search.Cond("from", "addr", (addr.lower(),))])
            found = [_row(r) for r in search.page_rows(conn, f, None, limit + 1)]
        return [r for r in found if r.pk != pk][:limit]

    def agents(self) -> list[str]:
        """Known team addresses (for the assign picker), me first."""
        with self.db.read() as conn:
            known = rows.agent_addresses(conn)
        return [self.agent, *sorted(known - {self.agent})]

    # -- changes ------------------------------------------------------------------------------
    def change(self, ref: str, changes: ChangeSet) -> ChangeResult:
        """Apply `changes` to one ticket (all or nothing); raises InvalidChange / TicketNotFound."""
        with self.db.write() as conn:
            pk = workflow.resolve(conn, ref)
            workflow.change(conn, pk, self.agent, changes.changes())
            result = ChangeResult((workflow.ref_of(conn, rows.survivor(conn, pk)),))
        self.nudge()
        return result

    def bulk_change(self, refs: Iterable[str], changes: ChangeSet) -> ChangeResult:
        """The same change on many tickets, each in its own transaction: one bad ticket (merged
        away meanwhile, say) is reported and does not undo the others."""
        done: list[str] = []
        failed: list[tuple[str, str]] = []
        for ref in refs:
            try:
                done.extend(self.change(ref, changes).done)
            except (InvalidChange, TicketNotFound) as exc:
                failed.append((ref, str(exc)))
        return ChangeResult(tuple(done), tuple(failed))

    def add_note(self, ref: str, body: str) -> ChangeResult:
        return self.change(ref, ChangeSet(note=body))

    def notes(self, ref: str) -> tuple[NoteView, ...]:
        return self.detail(ref).notes

    def merge(self, source: str, target: str) -> str:
        """Merge `source` into `target`; returns the surviving ticket's ref."""
        with self.db.write() as conn:
            event = workflow.merge(conn, source, target, self.agent)
        self.nudge()
        return event.value

    def split(self, ref: str, message_row: int) -> str:
        """Move one message out into a new ticket; returns the new ref."""
        with self.db.write() as conn:
            new = workflow.split(conn, ref, message_row, self.agent)
        self.nudge()
        return new

    def mark_read(self, ref: str) -> None:
        with self.db.write() as conn:
            workflow.mark_read(conn, ref, unread=False)

    def mark_unread(self, ref: str) -> None:
        with self.db.write() as conn:
            workflow.mark_read(conn, ref, unread=True)

    # -- attachments --------------------------------------------------------------------------
    def save_attachment(self, message_row: int, part: str, folder: str | Path, *, name: str = "",
                        overwrite: bool = False) -> Path:  # fmt: skip
        """Write one attachment into `folder` under a safe name (never a path the sender chose).
        An existing file is never replaced silently: FileExistsError unless `overwrite`."""
        from tui_desk.mail.parse import extract_part
        from tui_desk.mail.sanitize import safe_filename

        with self.db.read() as conn:
            raw = message_rows.raw_bytes(conn, message_row)
            listed = window_rows.attachments_of(conn, [message_row]).get(message_row, [])
        if raw is None:
            raise FileNotFoundError("the original of this message is not stored, so its attachments cannot be saved")
        known = next((a for a in listed if a["part"] == part), None)
        data = extract_part(raw, part)
        target_dir = Path(folder).expanduser()
        if not target_dir.is_dir():
            raise NotADirectoryError(f"{target_dir} is not a folder")
        target = target_dir / safe_filename(name or (known["name"] if known else ""), "attachment")
        if target.exists() and not overwrite:
            raise FileExistsError(f"{target} exists already")
        tmp = target.with_name(target.name + ".part")
        tmp.write_bytes(data)
        tmp.replace(target)
        return target
