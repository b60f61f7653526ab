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

A batch is threaded one message at a time, oldest first, exactly as if each were threaded on
its own; only the bookkeeping is per batch: what the batch may touch is loaded in a few queries,
questions are answered from memory and the changes are written once at the end
(`storage.thread_batch.Workset`). Joining two tickets is rare and goes through `apply.absorb`.
"""

from __future__ import annotations

import functools
import hashlib
import json
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Connection

from tui_desk.storage import thread_batch, thread_sql
from tui_desk.storage import ticket_events as audit_store
from tui_desk.storage import tickets as rows
from tui_desk.tickets import apply
from tui_desk.tickets.ids import ref_for, strip_prefixes, subject_key, tags_in_subject
from tui_desk.tickets.model import SYSTEM_AGENT, Event, Hlc
from tui_desk.tickets.roots import conversation_root, declared_root

SUBJECT_WINDOW = timedelta(days=30)
EVENTS_FOLDER = "tuidesk/events"


def _header(row: dict[str, Any], name: str) -> str:
    """One header (lower-case `name`) from the stored JSON, parsed only if it may be there."""
    text = row["headers"] or "{}"
    if name not in text.lower() and "\\u" not in text:
        return ""
    return next((str(v) for k, v in json.loads(text).items() if k.lower() == name), "")


class _Batch:
    """What one `assign` call learns as it goes: team addresses and the tickets it touched."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self.w = thread_batch.Workset(conn, subject_key, strip_prefixes)
        self.agents = rows.agent_addresses(conn)
        self.touched: set[int] = set()
        self.reopen: list[Event] = []
        self.placed: dict[int, int] = {}
        self.splits: dict[str, str] = {}
        self.refs: dict[str, str] = {}

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
        self.w.load_customers(r["from_addr"].lower() for r in batch)

    def absorb(self, src: int, dst: int, why: str, at: datetime) -> None:
        self.w.flush()
        apply.absorb(self.conn, src, dst, why, at)
        self.w.absorbed(src, dst)

    def is_ours(self, row: dict[str, Any], folder: tuple[str, str]) -> bool:
        return row["from_addr"].lower() in self.agents or _is_sent(folder)

    def is_event_message(self, row: dict[str, Any], folder: tuple[str, str]) -> bool:
        """Our team-sync mail: never a ticket. A stranger's mail claiming to be one still is."""
        if not _header(row, "x-tuidesk-events"):
            return False
        in_events_folder = folder[0].replace(".", "/").lower().endswith(EVENTS_FOLDER)
        return in_events_folder or row["from_addr"].lower() in self.agents


@functools.cache
def _is_sent(folder: tuple[str, str]) -> bool:
    name, special = folder
    leaf = name.replace(".", "/").rsplit("/", 1)[-1].lower()
    return "\\sent" in special.lower() or leaf in (
        "sent", "sent items", "sent messages", "sent mail", "poslano", "отправленные",
    )  # fmt: skip


def assign(conn: Connection, message_ids: Sequence[int]) -> dict[int, str]:
    """Thread these stored messages (already-threaded ones are left alone); returns
    message row id -> ticket ref. Runs inside the caller's write transaction."""
    batch = _Batch(conn)
    todo = [row for row in thread_sql.rows_for_threading(conn, list(message_ids)) if not row["thread_kind"]]
    batch.load(todo)
    for row in todo:
        _place(batch, row)
    w = batch.w
    survivors = {w.survivor(pk) for pk in batch.touched}
    for pk in sorted(survivors):
        survivors.discard(pk)
        survivors.add(_reroot(batch, pk))
    w.flush()
    folded: set[int] = set()
    apply.record(conn, batch.reopen, pushed=True, defer=folded)
    survivors = {w.survivor(pk) for pk in survivors}
    for pk in sorted(folded | thread_sql.with_events(conn, survivors)):
        apply.refold(conn, pk)
    out: dict[int, str] = {}
    for mid, pk in batch.placed.items():
        ticket = w.ticket(w.survivor(pk))
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
    w = batch.w
    mid = row["id"]
    folder = w.folder(row["folder_id"])
    if batch.is_event_message(row, folder):
        w.place(row, None, "event", ours=True)
        return
    ours = batch.is_ours(row, folder)
    auto = bool(row["auto_submitted"]) and not ours
    copy = w.first_copy(row["message_id"], row["content_hash"], mid)
    if copy is not None:
        pk = w.survivor(copy[1])
        w.place(row, pk, "duplicate", ours=ours, duplicate_of=copy[0])
        batch.placed[mid] = pk
        batch.touched.add(pk)
        return
    pk, kind = _choose(batch, row, ours=ours, auto=auto)
    w.place(row, pk, kind, ours=ours)
    own = [] if row["message_id_synthetic"] else [row["message_id"]]
    keys = own if auto else [*own, *row["refs"], row["in_reply_to"]]
    keys = [k for k in dict.fromkeys(keys) if k]
    w.add_keys(pk, [(k, batch.ref(k)) for k in keys])
    for stub in w.stubs_with_refs([batch.ref(k) for k in keys], pk):
        batch.absorb(stub, pk, "", row["date"])
    if not ours and not auto:
        w.mark_unread(pk)
        if kind not in ("new", "followup"):
            batch.reopen.append(_reopen_event(batch, pk, row))
    w.refresh(pk)
    batch.placed[mid] = pk
    batch.touched.add(pk)


def _choose(batch: _Batch, row: dict[str, Any], *, ours: bool, auto: bool) -> tuple[int, str]:
    """The ticket for one message and how it was chosen."""
    w = batch.w
    routed = batch.splits.get(row["message_id"])
    if routed is not None:
        return w.survivor(_ticket_for_ref(batch, routed, row["date"], row["message_id"])), "split"
    parents = [*row["refs"], row["in_reply_to"]]
    nearest_first = [row["in_reply_to"], *reversed(row["refs"]), row["message_id"]]
    hits = w.tickets_for_keys([*parents, row["message_id"]])
    order: list[int] = []
    for msgid in nearest_first:
        for pk in hits.get(msgid, []):
            s = w.survivor(pk)
            if s not in order:
                order.append(s)
    if order:
        target = order[0]
        if auto:
            return target, "auto"
        if not ours and _status(batch, target) == "closed":
            return _follow_up(batch, row, target), "followup"
        for other in order[1:]:
            if _joinable(batch, target, other):
                batch.absorb(other, target, "joined", row["date"])
        return target, "refs"
    if auto:
        return _new_ticket(batch, row, pinned=True, automatic=True), "auto"
    claimed = ""
    for ref in tags_in_subject(row["subject"]):
        pk = w.pk_for_ref(ref)
        if pk is None:
            continue
        pk = w.survivor(pk)
        if ours or row["from_addr"].lower() in w.participants(pk):
            if not ours and _status(batch, pk) == "closed":
                return _follow_up(batch, row, pk), "followup"
            return pk, "tag"
        claimed = claimed or ref
    if not claimed:
        key = subject_key(row["subject"])
        customers = [row["from_addr"].lower()] if not ours else [
            a.lower() for a in _addresses(row) if a.lower() not in batch.agents
        ]  # fmt: skip
        found = w.subject_candidates(customers, key, row["date"] - SUBJECT_WINDOW, row["date"] + SUBJECT_WINDOW)
        if found:
            if not ours and _status(batch, found[0]) == "closed":
                return _follow_up(batch, row, found[0]), "followup"
            return found[0], "subject"
    pk = _new_ticket(batch, row, pinned=bool(claimed), claimed_tag=claimed)
    if claimed:
        batch.w.flush()  # the audit line refers to the new row
        audit_store.add_system_audit(batch.conn, pk, row["date"], "claimed_tag", "", claimed)
    return pk, "new"


def _addresses(row: dict[str, Any]) -> list[str]:
    """To and Cc addresses of a stored row (JSON lists of [name, address])."""
    pairs = json.loads(row["to_addrs"] or "[]") + json.loads(row["cc_addrs"] or "[]")
    return [a[1] for a in pairs if len(a) > 1]


def _status(batch: _Batch, pk: int) -> str:
    ticket = batch.w.ticket(pk)
    return str(ticket["status"]) if ticket else ""


def _joinable(batch: _Batch, target: int, other: int) -> bool:
    """Threading joins two tickets only when neither was deliberately kept apart."""
    a, b = batch.w.ticket(target), batch.w.ticket(other)
    if a is None or b is None:
        return False
    kept_apart = any(t["split_from"] or t["follow_up_of"] or t["automatic"] for t in (a, b))
    return not kept_apart and "closed" not in (a["status"], b["status"])


def _free_ref(batch: _Batch, root: str) -> str:
    """`apply.free_ref`, answered from the batch."""
    for length in range(8, 17):
        ref = batch.ref(root) if length == 8 else ref_for(root, length)
        pk = batch.w.pk_for_ref(ref)
        if pk is None:
            return ref
        ticket = batch.w.ticket(pk)
        if ticket is not None and ticket["root"] in ("", root):
            return ref
    raise RuntimeError(f"no free ticket id for {root!r}")  # needs a 2^-80 coincidence


def _ticket_for_ref(batch: _Batch, ref: str, at: datetime, root: str, **values: Any) -> int:
    """`apply.ticket_for_ref`, answered from the batch; `values` go onto a new row."""
    pk = batch.w.pk_for_ref(ref)
    if pk is not None:
        return pk
    owner = batch.w.owner_of_key_ref(ref)
    merged = batch.w.survivor(owner) if owner is not None else None
    return batch.w.create(ref, root, at, **values, **({"merged_into": merged} if merged is not None else {}))


def _new_ticket(batch: _Batch, row: dict[str, Any], *, pinned: bool, **values: Any) -> int:
    """A ticket for a new conversation; a stub from an early team event is reused."""
    root = row["message_id"] if pinned else declared_root(row)
    ref = _free_ref(batch, root)
    values = {"root_pinned": pinned, **values}
    if (pk := batch.w.pk_for_ref(ref)) is not None:
        batch.w.update(pk, root=root, created_at=row["date"], **values)
    else:
        pk = _ticket_for_ref(batch, ref, row["date"], root, **values)
    return batch.w.survivor(pk)


def _follow_up(batch: _Batch, row: dict[str, Any], closed: int) -> int:
    """A customer wrote to a closed ticket: a new ticket that links back to it (like Zendesk)."""
    pk = _new_ticket(batch, row, pinned=True, follow_up_of=closed)
    batch.w.flush()  # the audit line refers to the new row
    audit_store.add_system_audit(batch.conn, pk, row["date"], "follow_up_of", "", _ref(batch, closed))
    return pk


def _ref(batch: _Batch, pk: int) -> str:
    ticket = batch.w.ticket(pk)
    return ticket["ref"] if ticket else ""


def _reroot(batch: _Batch, pk: int) -> int:
    """Give the ticket the id its conversation's root implies, joining the ticket that holds
    that id already. Returns the surviving ticket."""
    w = batch.w
    ticket = w.ticket(pk)
    if ticket is None or ticket["root_pinned"] or ticket["automatic"]:
        return pk
    heads = w.members_of(pk).thread_headers()
    if not heads:
        return pk
    root = conversation_root(heads)
    if root is None or root == ticket["root"]:
        return pk
    ref = _free_ref(batch, root)
    at = rows.db_time(ticket["created_at"]) or datetime.now(UTC)
    holder = w.pk_for_ref(ref)
    if holder is None:
        holder = w.create(ref, root, at)
    elif w.survivor(holder) != pk:
        holder = w.survivor(holder)  # another ticket holds that id: join it
    held = w.ticket(holder)
    if held is not None and held["ref"] == ref:
        w.update(holder, root=root)
    batch.absorb(pk, holder, "rerooted", at)
    return holder


def _reopen_event(batch: _Batch, pk: int, row: dict[str, Any]) -> Event:
    """A customer wrote again: reopen if pending or solved *at the time the mail arrived*.

    Derived the same way on every machine (same id, same clock from the server's arrival
    time), so it is never pushed; the fold decides whether it changes anything."""
    when = rows.db_time(row["internaldate"]) or min(row["date"], rows.db_time(row["created_at"]))  # type: ignore[type-var]
    digest = hashlib.sha256(f"reopen\0{row['message_id']}\0{row['content_hash']}".encode()).hexdigest()[:32]
    hlc = Hlc(int(when.timestamp() * 1000), 0, SYSTEM_AGENT)
    return Event(_ref(batch, pk), "status", "reopen", "open", str(hlc), SYSTEM_AGENT, f"reopen-{digest}")
