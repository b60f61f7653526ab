"""Threading: which ticket each stored message belongs to.

Sync and import both call `assign(conn, message_ids)` after committing a batch; `catch_up`
threads whatever is left (mail stored before tickets existed, or by a crashed run).

Order of evidence, strongest first:
1. another copy of the same mail (same Message-ID and content hash): same ticket, hidden;
2. a split event that sent this Message-ID to its own ticket;
3. Message-ID / In-Reply-To / References (JWZ-style: every id a ticket has seen is a key;
   missing and reordered headers are fine because any shared id links);
4. our ticket tag in the subject, only if the sender is a participant of that ticket;
5. the normalised subject, for the same customer within 30 days (never for robots).
Auto-replies and bounces use 3 only and never join two tickets. A customer's mail to a closed
ticket starts a follow-up ticket instead. After placing, the conversation's root is
recomputed (`roots.conversation_root`) so every machine ends with the same ticket id whatever
order the mail arrived in; two tickets that turn out to be one are joined under that id.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Connection

from tui_desk.storage import thread_sql
from tui_desk.storage import ticket_events as audit_store
from tui_desk.storage import tickets as rows
from tui_desk.tickets import apply
from tui_desk.tickets.ids import ref_for, subject_key, tags_in_subject
from tui_desk.tickets.model import SYSTEM_AGENT, Event, Hlc
from tui_desk.tickets.roots import conversation_root, declared_root

SUBJECT_WINDOW = timedelta(days=30)
EVENTS_FOLDER = "tuidesk/events"


def _header(row: dict[str, Any], name: str) -> str:
    return next((str(v) for k, v in row["headers"].items() if k.lower() == name), "")


class _Batch:
    """What one `assign` call learns as it goes: team addresses and the tickets it touched."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self.agents = rows.agent_addresses(conn)
        self.touched: set[int] = set()
        self.reopen: list[Event] = []
        self.placed: dict[int, int] = {}

    def is_ours(self, row: dict[str, Any], folder: tuple[str, str]) -> bool:
        name, special = folder
        leaf = name.replace(".", "/").rsplit("/", 1)[-1].lower()
        return row["from_addr"].lower() in self.agents or "\\sent" in special.lower() or leaf in (
            "sent", "sent items", "sent messages", "sent mail", "poslano", "отправленные",
        )  # fmt: skip

    def is_event_message(self, row: dict[str, Any], folder: tuple[str, str]) -> bool:
        """Our team-sync mail: never a ticket. A stranger's mail claiming to be one still is."""
        if not _header(row, "x-tuidesk-events"):
            return False
        in_events_folder = folder[0].replace(".", "/").lower().endswith(EVENTS_FOLDER)
        return in_events_folder or row["from_addr"].lower() in self.agents


def assign(conn: Connection, message_ids: Sequence[int]) -> dict[int, str]:
    """Thread these stored messages (already-threaded ones are left alone); returns
    message row id -> ticket ref. Runs inside the caller's write transaction."""
    batch = _Batch(conn)
    for row in rows.messages_for_threading(conn, list(message_ids)):
        if row["thread_kind"]:
            continue
        _place(batch, row)
    survivors = {rows.survivor(conn, pk) for pk in batch.touched}
    for pk in sorted(survivors):
        survivors.discard(pk)
        survivors.add(_reroot(conn, pk))
    apply.record(conn, batch.reopen, pushed=True)
    for pk in survivors:
        apply.refold(conn, pk)
    out: dict[int, str] = {}
    for mid, pk in batch.placed.items():
        ticket = rows.get_ticket(conn, rows.survivor(conn, pk))
        if ticket is not None:
            out[mid] = ticket["ref"]
    return out


def catch_up(conn: Connection, chunk: int = 2000) -> int:
    """Thread every message that is not threaded yet (e.g. mail from before tickets existed)."""
    done = 0
    while ids := thread_sql.unthreaded_ids(conn, chunk):
        assign(conn, ids)
        done += len(ids)
        if len(ids) < chunk:
            break
    return done


def _place(batch: _Batch, row: dict[str, Any]) -> None:
    conn = batch.conn
    mid = row["id"]
    folder = rows.folder_roles(conn, row["folder_id"])
    if batch.is_event_message(row, folder):
        rows.set_message_ticket(conn, mid, None, "event", ours=True)
        return
    ours = batch.is_ours(row, folder)
    auto = bool(row["auto_submitted"]) and not ours
    copy = thread_sql.first_copy(conn, row["message_id"], row["content_hash"], mid)
    if copy is not None:
        pk = rows.survivor(conn, copy[1])
        rows.set_message_ticket(conn, mid, pk, "duplicate", ours=ours, duplicate_of=copy[0])
        batch.placed[mid] = pk
        batch.touched.add(pk)
        return
    pk, kind = _choose(batch, row, ours=ours, auto=auto)
    rows.set_message_ticket(conn, mid, pk, kind, ours=ours)
    own = [] if row["message_id_synthetic"] else [row["message_id"]]
    keys = own if auto else [*own, *row["refs"], row["in_reply_to"]]
    keys = [k for k in dict.fromkeys(keys) if k]
    rows.add_keys(conn, pk, [(k, ref_for(k)) for k in keys])
    for stub in rows.stubs_with_refs(conn, [ref_for(k) for k in keys], pk):
        apply.absorb(conn, stub, pk, "", row["date"])
    if not ours and not auto:
        rows.update_ticket(conn, pk, unread=True)
        if kind not in ("new", "followup"):
            batch.reopen.append(_reopen_event(conn, pk, row))
    apply.refresh(conn, pk)
    batch.placed[mid] = pk
    batch.touched.add(pk)


def _choose(batch: _Batch, row: dict[str, Any], *, ours: bool, auto: bool) -> tuple[int, str]:
    """The ticket for one message and how it was chosen."""
    conn = batch.conn
    routed = audit_store.split_target(conn, row["message_id"])
    if routed is not None:
        return rows.survivor(conn, apply.ticket_for_ref(conn, routed, row["date"], row["message_id"])), "split"
    parents = [*row["refs"], row["in_reply_to"]]
    nearest_first = [row["in_reply_to"], *reversed(row["refs"]), row["message_id"]]
    hits = rows.tickets_for_keys(conn, [*parents, row["message_id"]])
    order: list[int] = []
    for msgid in nearest_first:
        for pk in hits.get(msgid, []):
            s = rows.survivor(conn, pk)
            if s not in order:
                order.append(s)
    if order:
        target = order[0]
        if auto:
            return target, "auto"
        if not ours and _status(conn, target) == "closed":
            return _follow_up(batch, row, target), "followup"
        for other in order[1:]:
            if _joinable(conn, target, other):
                apply.absorb(conn, other, target, "joined", row["date"])
        return target, "refs"
    if auto:
        return _new_ticket(batch, row, pinned=True, automatic=True), "auto"
    claimed = ""
    for ref in tags_in_subject(row["subject"]):
        pk = rows.pk_for_ref(conn, ref)
        if pk is None:
            continue
        pk = rows.survivor(conn, pk)
        if ours or row["from_addr"].lower() in thread_sql.participants(conn, pk):
            if not ours and _status(conn, pk) == "closed":
                return _follow_up(batch, row, pk), "followup"
            return pk, "tag"
        claimed = claimed or ref
    if not claimed:
        key = subject_key(row["subject"])
        customers = [row["from_addr"].lower()] if not ours else [
            a.lower() for a in [*row["to_addrs"], *row["cc_addrs"]] if a.lower() not in batch.agents
        ]  # fmt: skip
        found = thread_sql.subject_candidates(conn, customers, key, row["date"] - SUBJECT_WINDOW, row["date"] + SUBJECT_WINDOW)
        if found:
            if not ours and _status(conn, found[0]) == "closed":
                return _follow_up(batch, row, found[0]), "followup"
            return found[0], "subject"
    pk = _new_ticket(batch, row, pinned=bool(claimed), claimed_tag=claimed)
    if claimed:
        audit_store.add_system_audit(conn, pk, row["date"], "claimed_tag", "", claimed)
    return pk, "new"


def _status(conn: Connection, pk: int) -> str:
    return rows.ticket_status(conn, pk)


def _joinable(conn: Connection, target: int, other: int) -> bool:
    """Threading joins two tickets only when neither was deliberately kept apart."""
    a, b = rows.get_ticket(conn, target), rows.get_ticket(conn, other)
    if a is None or b is None:
        return False
    kept_apart = any(t["split_from"] or t["follow_up_of"] or t["automatic"] for t in (a, b))
    return not kept_apart and "closed" not in (a["status"], b["status"])


def _new_ticket(batch: _Batch, row: dict[str, Any], *, pinned: bool, **values: Any) -> int:
    """A ticket for a new conversation; a stub from an early team event is reused."""
    root = row["message_id"] if pinned else declared_root(row)
    ref = apply.free_ref(batch.conn, root)
    pk = apply.ticket_for_ref(batch.conn, ref, row["date"], root)
    rows.update_ticket(batch.conn, pk, root=root, root_pinned=pinned, created_at=row["date"], **values)
    return rows.survivor(batch.conn, pk)


def _follow_up(batch: _Batch, row: dict[str, Any], closed: int) -> int:
    """A customer wrote to a closed ticket: a new ticket that links back to it (like Zendesk)."""
    pk = _new_ticket(batch, row, pinned=True, follow_up_of=closed)
    audit_store.add_system_audit(batch.conn, pk, row["date"], "follow_up_of", "", _ref(batch.conn, closed))
    return pk


def _ref(conn: Connection, pk: int) -> str:
    ticket = rows.get_ticket(conn, pk)
    return ticket["ref"] if ticket else ""


def _reroot(conn: Connection, pk: int) -> int:
    """Give the ticket the id its conversation's root implies, joining the ticket that holds
    that id already. Returns the surviving ticket."""
    ticket = rows.get_ticket(conn, pk)
    if ticket is None or ticket["root_pinned"] or ticket["automatic"]:
        return pk
    heads = thread_sql.ticket_thread_headers(conn, pk)
    if not heads:
        return pk
    root = conversation_root(heads)
    if root is None or root == ticket["root"]:
        return pk
    ref = apply.free_ref(conn, root)
    at = ticket["created_at"] or datetime.now(UTC)
    holder = rows.pk_for_ref(conn, ref)
    if holder is None:
        holder = rows.create_ticket(conn, ref, root, at)
    elif rows.survivor(conn, holder) != pk:
        holder = rows.survivor(conn, holder)  # another ticket holds that id: join it
    held = rows.get_ticket(conn, holder)
    if held is not None and held["ref"] == ref:
        rows.update_ticket(conn, holder, root=root)
    apply.absorb(conn, pk, holder, "rerooted", at)
    return holder


def _reopen_event(conn: Connection, pk: int, row: dict[str, Any]) -> Event:
    """A customer wrote again: reopen if pending or solved *at the time the mail arrived*.

    Derived the same way on every machine (same id, same clock from the server's arrival
    time), so it is never pushed; the fold decides whether it changes anything."""
    when: datetime = row["internaldate"] or min(row["date"], row["created_at"])
    digest = hashlib.sha256(f"reopen\0{row['message_id']}\0{row['content_hash']}".encode()).hexdigest()[:32]
    hlc = Hlc(int(when.timestamp() * 1000), 0, SYSTEM_AGENT)
    return Event(_ref(conn, pk), "status", "reopen", "open", str(hlc), SYSTEM_AGENT, f"reopen-{digest}")
