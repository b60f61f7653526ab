"""Collision warnings: did something happen on this ticket while I was writing my reply?

When a composer opens, `composer.open_reply` marks "agent X is answering ticket T since t"
(see `composing`): the mark travels to the colleagues as a `composing` team event, and theirs
come back the same way, so every agent sees who else is writing. Before sending,
`check_collisions` (after an optional sync of the ticket's folders, which also pulls the team's
latest marks) lists new customer mail, other agents' replies and other agents still
composing, so the screen can show them and ask before sending.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime

from sqlalchemy import Connection

from tui_desk.config import Account
from tui_desk.storage import composing as marks
from tui_desk.storage import drafts as draft_rows
from tui_desk.storage import outbox as store
from tui_desk.storage import tickets as rows
from tui_desk.storage.db import Database
from tui_desk.tickets import composing, threading, workflow
from tui_desk.tickets.composing import COMPOSING_FRESH
from tui_desk.tickets.ids import tags_in_subject
from tui_desk.tickets.sync import AccountSync, SyncReport


@dataclass(frozen=True, slots=True)
class Collision:
    kind: str
    """"customer" (new mail from the customer), "agent" (a colleague's reply went out) or
    "composing" (a colleague is writing a reply right now)."""
    who: str
    at: datetime | None
    subject: str = ""
    snippet: str = ""
    message_id: str = ""

    def line(self) -> str:
        when = self.at.strftime("%H:%M") if self.at else "?"
        what = {"customer": "wrote again", "agent": "replied", "composing": "is writing a reply"}[self.kind]
        return f"{self.who} {what} ({when})" + (f": {self.snippet}" if self.snippet else "")


def note_composing(db: Database, ticket_ref: str, agent: str, since: datetime | None = None) -> bool:
    """Set (or refresh: call it now and then while the composer is open) a composing mark, to
    be published by the next team sync. False when there was nothing new to publish."""
    with db.write() as conn:
        return composing.mark(conn, ticket_ref, agent, since or datetime.now(UTC))


def done_composing(db: Database, ticket_ref: str, agent: str) -> bool:
    """Clear the mark (the composer closed); True when a clear has to be published."""
    with db.write() as conn:
        return composing.withdraw(conn, ticket_ref, agent)


def composing_marks(db: Database, ticket_ref: str) -> list[tuple[str, datetime]]:
    """(agent, since) of the fresh composing marks on a ticket, this agent's own included."""
    with db.read() as conn:
        return marks.composing(conn, ticket_ref, datetime.now(UTC) - COMPOSING_FRESH)


def sync_ticket_folders(db: Database, account: Account, password: str, ticket_ref: str) -> SyncReport:
    """Sync only the folders this ticket's mail lives in (quick), threading what arrives."""
    with db.read() as conn:
        pk = rows.survivor(conn, workflow.resolve(conn, ticket_ref))
        ids = [p for p, _r in rows.family(conn, pk)]
        folder_ids = {m["folder_id"] for m in rows.messages_for_threading(conn, _message_ids(conn, ids))}
        names = [n for fid in folder_ids if fid is not None and (n := rows.folder_roles(conn, fid)[0])]
    folders = tuple(dict.fromkeys([*account.folders[:1], *names]))
    syncer = AccountSync(db, replace(account, folders=folders), password, on_stored=threading.assign)
    try:
        return syncer.run_once()
    finally:
        syncer.close()


def _message_ids(conn: Connection, ticket_ids: list[int]) -> list[int]:
    return [m["id"] for m in draft_rows.thread_messages(conn, ticket_ids)]


def check_collisions(db: Database, ticket_ref: str, since: datetime, agent: str, *,
                     sync: Callable[[], object] | None = None) -> list[Collision]:  # fmt: skip
    """What arrived on this ticket after `since` (when my composer opened), oldest first.

    `sync`, if given, runs first (e.g. `lambda: sync_ticket_folders(...)`). Our own outbox
    replies are not collisions; colleagues' replies are recognised as team mail that is not in
    this machine's outbox."""
    if sync is not None:
        sync()
    me = agent.lower()
    found: list[Collision] = []
    with db.read() as conn:
        pk = rows.survivor(conn, workflow.resolve(conn, ticket_ref))
        family = rows.family(conn, pk)
        ids = {p for p, _r in family}
        refs = {r for _p, r in family}
        keys = {m["message_id"] for m in draft_rows.thread_messages(conn, list(ids))}
        for m in draft_rows.messages_since(conn, None, since):
            related = m["ticket_id"] in ids or (
                m["ticket_id"] is None
                and (m["in_reply_to"] in keys or keys & set(m["refs"]) or refs & set(tags_in_subject(m["subject"])))
            )
            if not related or m["auto_submitted"]:
                continue
            if m["ours"] or m["from_addr"].lower() in rows.agent_addresses(conn):
                if store.by_message_id(conn, m["message_id"]) is not None:
                    continue  # our own reply from this machine's outbox
                found.append(Collision("agent", m["from_name"] or m["from_addr"], m["date"], m["subject"],
                                       "", m["message_id"]))  # fmt: skip
            else:
                snippet = " ".join(m["text"].split())[:80]
                found.append(Collision("customer", m["from_name"] or m["from_addr"], m["date"], m["subject"],
                                       snippet, m["message_id"]))  # fmt: skip
        fresh = datetime.now(UTC) - COMPOSING_FRESH
        for ref in refs:
            for who, started in marks.composing(conn, ref, fresh):
                if who != me:
                    found.append(Collision("composing", who, started))
    unique = {(c.kind, c.message_id or c.who): c for c in found}
    return sorted(unique.values(), key=lambda c: (c.at or since, c.kind))


__all__ = ["COMPOSING_FRESH", "Collision", "check_collisions", "composing_marks", "done_composing", "note_composing",
           "sync_ticket_folders"]  # fmt: skip
