"""What threading one batch knows and the small questions its rules ask (`threading` has the
rules themselves; `thread_waits` and `thread_subjects` the two that look both ways in time).

Kept apart from `threading` so each module stays small enough to read in one go.
"""

from __future__ import annotations

import functools
import json
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection

from tui_desk.storage import thread_batch
from tui_desk.storage import ticket_events as audit_store
from tui_desk.storage import tickets as rows
from tui_desk.storage.db import to_db_time
from tui_desk.tickets import apply
from tui_desk.tickets.ids import TAG_RE, ref_for, strip_prefixes, subject_key, tags_in_subject
from tui_desk.tickets.model import Event

EVENTS_FOLDER = "tuidesk/events"
SUBJECT_WINDOW = timedelta(days=30)
"""How far apart in time the subject rule lets a customer's mail be (`thread_subjects`)."""


def is_loose(subject: str, in_reply_to: str, refs: str | list[str]) -> bool:
    """Whether a (non-automatic) message may be threaded by its subject: it names no parent
    and no ticket. A message that names them is threaded by them or waits for them, so the
    subject rule never depends on whether its parent has arrived yet."""
    return not in_reply_to and not refs and ("[" not in subject or not TAG_RE.search(subject))


def header(row: dict[str, Any], name: str) -> str:
    """One header (lower-case `name`) from the stored JSON, parsed only if it may be there."""
    text = row["headers"] or "{}"
    if name not in text.lower() and "\\u" not in text:
        return ""
    return next((str(v) for k, v in json.loads(text).items() if k.lower() == name), "")


@functools.cache
def is_sent(folder: tuple[str, str]) -> bool:
    name, special = folder
    leaf = name.replace(".", "/").rsplit("/", 1)[-1].lower()
    return "\\sent" in special.lower() or leaf in (
        "sent", "sent items", "sent messages", "sent mail", "poslano", "отправленные",
    )  # fmt: skip


class Batch:
    """What one `assign` call learns as it goes: team addresses and the tickets it touched."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self.w = thread_batch.Workset(conn, subject_key, strip_prefixes, is_loose)
        self.agents = rows.agent_addresses(conn)
        self.touched: set[int] = set()
        self.reopen: list[Event] = []
        self.placed: dict[int, int] = {}
        self.splits: dict[str, str] = {}
        self.refs: dict[str, str] = {}
        self.audit: list[tuple[int, datetime, str, str, str]] = []

    def ref(self, msgid: str) -> str:
        """`ids.ref_for`, remembered: a batch asks for the same few ids many times."""
        ref = self.refs.get(msgid)
        if ref is None:
            ref = self.refs[msgid] = ref_for(msgid)
        return ref

    def load(self, batch: list[dict[str, Any]]) -> None:
        """Everything the batch's messages may ask about, in a few queries."""
        self.splits = self.w.split_targets([r["message_id"] for r in batch])
        msgids = [m for r in batch for m in (r["message_id"], r["in_reply_to"], *r["refs"]) if m]
        refs = [self.ref(m) for m in dict.fromkeys(msgids)]
        refs += [t for r in batch for t in tags_in_subject(r["subject"])] + list(self.splits.values())
        self.w.load(msgids, refs, [r["message_id"] for r in batch])
        if batch:  # whose mail the subject rule asks about: senders, and for ours, recipients
            dates = [r["date"] for r in batch]  # oldest first
            lo, hi = str(to_db_time(dates[0] - SUBJECT_WINDOW)), str(to_db_time(dates[-1] + SUBJECT_WINDOW))
            self.w.mail.window(lo, hi, (self.w.key_of_subject(r["subject"]) for r in batch))
            people = [r["from_addr"] for r in batch]
            people += [a[1] for r in batch if self.is_ours(r, self.w.folder(r["folder_id"]))
                       for a in json.loads(r["to_addrs"] or "[]") + json.loads(r["cc_addrs"] or "[]") if len(a) > 1]  # fmt: skip
            customers = [a.lower() for a in people if a.lower() not in self.agents]
            self.w.mail.load(customers)

    def absorb(self, src: int, dst: int, why: str, at: datetime) -> None:
        """Join ticket `src` into `dst` (`apply.absorb`, done by the workset; the audit line is
        written at `write_audit`, once the batch is flushed)."""
        if src == dst:
            return
        if why:
            self.audit.append((dst, at, why, self.ticket_ref(src), self.ticket_ref(dst)))
        self.w.absorb(src, dst)
        self.touched.add(dst)

    def rename(self, pk: int, ref: str, root: str, at: datetime) -> None:
        """Give ticket `pk` another id; the old one becomes a stub merged into it, so it keeps
        resolving (what absorbing `pk` into a new ticket would give, without moving its mail)."""
        w = self.w
        ticket = w.ticket(pk)
        assert ticket is not None
        old_ref, old_root = ticket["ref"], ticket["root"]
        self.audit.append((pk, at, "rerooted", old_ref, ref))
        w.create(old_ref, old_root, at, merged_into=pk)  # names the stub in `by_ref`
        w.update(pk, ref=ref, root=root)

    def write_audit(self) -> None:
        """The audit lines of this batch's joins, on the tickets that hold the mail now."""
        for pk, at, why, old, new in self.audit:
            audit_store.add_system_audit(self.conn, self.w.survivor(pk), at, why, old, new)
        self.audit.clear()

    def is_ours(self, row: dict[str, Any], folder: tuple[str, str]) -> bool:
        return row["from_addr"].lower() in self.agents or is_sent(folder)

    def is_event_message(self, row: dict[str, Any], folder: tuple[str, str]) -> bool:
        """Our team-sync mail: never a ticket. A stranger's mail claiming to be one still is."""
        if not header(row, "x-tuidesk-events"):
            return False
        in_events_folder = folder[0].replace(".", "/").lower().endswith(EVENTS_FOLDER)
        return in_events_folder or row["from_addr"].lower() in self.agents

    def ticket_ref(self, pk: int) -> str:
        ticket = self.w.ticket(pk)
        return ticket["ref"] if ticket else ""

    def joinable(self, target: int, other: int, *, tag: bool = False) -> bool:
        """Threading joins two tickets only when neither was deliberately kept apart: split off or
        closed by an agent, a follow-up, or (except by our tag, which a person wrote) robots' mail."""
        a, b = self.w.ticket(target), self.w.ticket(other)
        if a is None or b is None or target == other:
            return False
        kept_apart = any(t["split_from"] or t["follow_up_of"] or (t["automatic"] and not tag) for t in (a, b))
        return not kept_apart and "closed" not in (a["status"], b["status"])

    def closed_before(self, pk: int, row: dict[str, Any]) -> bool:
        """Whether ticket `pk` is closed and was closed before this mail was written.

        Closed is this machine's state, not a fact about the mail, so no rule that reads it can
        be independent of arrival order; deciding by the mail's Date at least makes a mail that
        arrives late (a first sync goes newest first) land where it would have landed on time."""
        ticket = self.w.ticket(pk)
        if ticket is None or ticket["status"] != "closed":
            return False
        hlc = self.w.closed_hlc(ticket["ref"])
        when = apply.hlc_time(hlc) if hlc else rows.db_time(ticket["solved_at"])
        return when is None or row["date"] > when
