"""Threading: which ticket each stored message belongs to.

Sync and import both call `assign(conn, message_ids)` after committing a batch; `catch_up`
threads whatever is left (mail stored before tickets existed, or by a crashed run).

Order of evidence, strongest first:
1. another copy of the same mail (same Message-ID and content hash): same ticket, hidden;
2. a split event that sent this Message-ID to its own ticket;
3. Message-ID / In-Reply-To / References (JWZ-style: every id a ticket has seen is a key;
   missing and reordered headers are fine because any shared id links);
4. our ticket tag in the subject, only if the sender is a participant of that ticket;
5. the normalised subject, for the same customer within 30 days, only for mail that names
   no parent and no tag (never for robots): `thread_subjects`.
Auto-replies and bounces use 3 only: they join the ticket of the nearest mail they answer and
never join two tickets; while what they answer is not here they stand apart, marked automatic.

THE ORDER GUARANTEE: two machines holding the same mail end with the same tickets (the same
sets of messages under the same ids) whatever order and batches it arrived in: oldest first,
newest first (a first sync), shuffled (an import), one at a time or thousands at once
(`tests/test_threading_order.py`). So every rule is stated over the set of messages, not over
what happened to be here, and is applied both ways in time:
* header keys link whichever side comes first, and our tag joins the ticket it names whatever
  else placed the message;
* mail that names something not here yet (an auto-reply's original, a tag's ticket, a tag's
  sender not yet among the ticket's people) stands apart and waits; it joins when that comes
  (`thread_waits`);
* the subject rule compares the dates the mail was written, not when it arrived, and joins
  every ticket it ties (`thread_subjects`);
* a ticket's subject and requester come from people's mail, not robots';
* a ticket's id is derived from its conversation's root, recomputed from its messages after
  every batch (`roots.conversation_root`); a renamed ticket's old id keeps resolving.
Not order-free, because they are this machine's state rather than facts about the mail:
- a customer's mail to a CLOSED ticket starts a follow-up ticket. Whether it does is decided
  by the mail's Date against when the ticket was closed (not by when the mail arrived), so
  only mail written after the close starts one, whichever came first; the follow-up is named
  after its earliest mail. Tickets closed or split off by an agent, and follow-ups, are never
  joined by threading (that would undo the agent's decision), so while the close stands the
  result depends on the status;
- who is one of us (the agents table, the Sent folder).
Known limits, rare in real mail: a bounce naming two different conversations joins the nearer
one that is here and moves to a nearer one when it comes, but a reply to the bounce that came
in between stays where it was; and a customer's tickets are found through the requester and
the senders of their mail, so when an earlier mail changes a ticket's requester, or our mail
to a customer sits in a ticket that is not theirs, the subject rule can see a different set.

A batch is threaded one message at a time, oldest first, exactly as if each were threaded on
its own; only the bookkeeping is per batch: what the batch may touch is loaded in a few queries,
questions are answered from memory, joins included, and the changes are written at the end
(`storage.thread_batch.Workset`).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection

from tui_desk.storage import thread_sql
from tui_desk.storage import ticket_events as audit_store
from tui_desk.storage import tickets as rows
from tui_desk.tickets import apply, thread_subjects, thread_waits
from tui_desk.tickets.ids import ref_for, tags_in_subject
from tui_desk.tickets.model import SYSTEM_AGENT, Event, Hlc
from tui_desk.tickets.roots import conversation_root, declared_root
from tui_desk.tickets.thread_context import Batch, is_loose

SUBJECT_WINDOW = thread_subjects.WINDOW


def assign(conn: Connection, message_ids: Sequence[int]) -> dict[int, str]:
    """Thread these stored messages (already-threaded ones are left alone); returns
    message row id -> ticket ref. Runs inside the caller's write transaction."""
    batch = Batch(conn)
    todo = [row for row in thread_sql.rows_for_threading(conn, list(message_ids)) if not row["thread_kind"]]
    batch.load(todo)
    for row in todo:
        _place(batch, row)
    w = batch.w
    survivors = {w.survivor(pk) for pk in batch.touched}
    todo = set(survivors)
    for _round in range(4):  # answering a tag joins tickets, which may give them another root
        for pk in sorted(todo):
            survivors.discard(pk)
            survivors.add(_reroot(batch, pk))
        survivors = {w.survivor(pk) for pk in survivors}
        w.flush()
        todo = thread_waits.answer_tags(batch, survivors)
        if not todo:
            break
        survivors |= todo
    w.flush()
    batch.write_audit()
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


def _place(batch: Batch, row: dict[str, Any]) -> None:
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
    loose = not auto and is_loose(row["subject"], row["in_reply_to"], row["refs"])
    pk, kind = _choose(batch, row, ours=ours, auto=auto, loose=loose)
    w.place(row, pk, kind, ours=ours)
    own = [] if row["message_id_synthetic"] else [row["message_id"]]
    keys = own if auto else [*own, *row["refs"], row["in_reply_to"]]
    keyed = [(k, batch.ref(k)) for k in dict.fromkeys(keys) if k]
    w.add_keys(pk, keyed)
    for stub in w.stubs_with_refs([ref for _k, ref in keyed], pk):
        batch.absorb(stub, pk, "", row["date"])
    if not ours and not auto:
        w.mark_unread(pk)
        if kind not in ("new", "followup"):
            batch.reopen.append(_reopen_event(batch, pk, row))
    w.refresh(pk)
    thread_waits.answer(batch, pk, keyed, row["date"])
    pk = w.survivor(pk)
    if not auto:
        thread_waits.follow_tags(batch, pk, row, ours=ours)
        thread_subjects.link(batch, pk, row, loose=loose, ours=ours)
    batch.placed[mid] = pk
    batch.touched.add(pk)


def _choose(batch: Batch, row: dict[str, Any], *, ours: bool, auto: bool, loose: bool) -> tuple[int, str]:
    """The ticket for one message and how it was chosen (`loose`: subject-only, see `is_loose`)."""
    w = batch.w
    routed = batch.splits.get(row["message_id"])
    if routed is not None:
        return w.survivor(_ticket_for_ref(batch, routed, row["date"], row["message_id"])), "split"
    hits = w.tickets_for_keys([*row["refs"], row["in_reply_to"], row["message_id"]])
    parents = _found(batch, hits, [row["in_reply_to"], *reversed(row["refs"])])
    answered = _found(batch, hits, [row["message_id"]])  # tickets with mail that answers this one
    if auto:
        return _choose_auto(batch, row, hits, answered), "auto"
    order = list(dict.fromkeys([*parents, *answered]))
    if order:
        target = order[0]
        if not ours and batch.closed_before(target, row):
            still_open = [pk for pk in order if not batch.closed_before(pk, row)]
            if not still_open:
                return _follow_up(batch, row, target), "followup"
            target = still_open[0]  # the follow-up this conversation already went on in
        for other in order:
            if batch.joinable(target, other):
                batch.absorb(other, target, "joined", row["date"])
        return target, "refs"
    tags = tags_in_subject(row["subject"])
    claimed = ""
    for ref in tags:
        pk = w.pk_for_ref(ref)
        pk = w.owner_of_key_ref(ref) if pk is None else pk
        if pk is None:
            continue
        pk = w.survivor(pk)
        if ours or row["from_addr"].lower() in w.participants(pk):
            if not ours and batch.closed_before(pk, row):
                return _follow_up(batch, row, pk), "followup"
            return pk, "tag"
        claimed = claimed or ref
    if tags:  # named a ticket that is not here yet, or not open to this sender: `_place` waits
        pk = _new_ticket(batch, row, pinned=bool(claimed), claimed_tag=claimed)
        if claimed:
            w.flush(only=())  # the audit line refers to the new row
            audit_store.add_system_audit(batch.conn, pk, row["date"], "claimed_tag", "", claimed)
        return pk, "new"
    if loose:
        found = thread_subjects.find(batch, row, ours=ours)
        if found:
            if not ours and batch.closed_before(found[0], row):
                return _follow_up(batch, row, found[0]), "followup"
            return found[0], "subject"
    return _new_ticket(batch, row, pinned=False), "new"


def _found(batch: Batch, hits: dict[str, list[int]], msgids: Sequence[str]) -> list[int]:
    """The tickets that have seen these Message-IDs, in the given order, each once."""
    out: list[int] = []
    for msgid in msgids:
        for pk in hits.get(msgid, ()):
            s = batch.w.survivor(pk)
            if s not in out:
                out.append(s)
    return out


def _choose_auto(batch: Batch, row: dict[str, Any], hits: dict[str, list[int]], answered: list[int]) -> int:
    """An auto-reply or bounce joins the ticket of the nearest mail it answers that is here, and
    mail answering *it* (whose ticket saw its id) follows it there; with nothing it answers here
    it stands apart (or with the mail answering it). It waits for the nearer mail that is not
    here yet (`thread_waits`)."""
    parents = thread_waits.nearest_parents(row["in_reply_to"], row["refs"])
    found = next((n for n, p in enumerate(parents) if hits.get(p)), None)
    if found is not None:
        target = batch.w.survivor(hits[parents[found]][0])
    elif answered:
        target = answered[0]
    else:
        target = _new_ticket(batch, row, pinned=False, root=row["message_id"], automatic=True)
    for other in answered:
        if batch.joinable(target, other):
            batch.absorb(other, target, "joined", row["date"])
    missing = parents if found is None else parents[:found]
    thread_waits.wait_for_parents(batch, target, row["message_id"], missing, joined=found is not None)
    return target


def _free_ref(batch: Batch, root: str) -> str:
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


def _ticket_for_ref(batch: Batch, ref: str, at: datetime, root: str, **values: Any) -> int:
    """`apply.ticket_for_ref`, answered from the batch; `values` go onto a new row."""
    pk = batch.w.pk_for_ref(ref)
    if pk is not None:
        return pk
    owner = batch.w.owner_of_key_ref(ref)
    merged = batch.w.survivor(owner) if owner is not None else None
    return batch.w.create(ref, root, at, **values, **({"merged_into": merged} if merged is not None else {}))


def _new_ticket(batch: Batch, row: dict[str, Any], *, pinned: bool, root: str = "", **values: Any) -> int:
    """A ticket for a new conversation; a stub from an early team event is reused. `root`: its
    own Message-ID if `pinned` (kept whatever joins it), else what it names (`declared_root`),
    unless given (an auto-reply's ticket is named after it, until people's mail joins)."""
    root = root or (row["message_id"] if pinned else declared_root(row))
    ref = _free_ref(batch, root)
    values = {"root_pinned": pinned, **values}
    if (pk := batch.w.pk_for_ref(ref)) is not None:
        batch.w.update(pk, root=root, created_at=row["date"], **values)
    else:
        pk = _ticket_for_ref(batch, ref, row["date"], root, **values)
    return batch.w.survivor(pk)


def _follow_up(batch: Batch, row: dict[str, Any], closed: int) -> int:
    """A customer wrote to a closed ticket: a new ticket that links back to it (like Zendesk)."""
    pk = _new_ticket(batch, row, pinned=True, follow_up_of=closed)
    batch.w.flush(only=())  # the audit line refers to the new row
    audit_store.add_system_audit(batch.conn, pk, row["date"], "follow_up_of", "", batch.ticket_ref(closed))
    return pk


def _root_of(batch: Batch, ticket: dict[str, Any]) -> str | None:
    """The root the ticket's messages imply: its conversation's, or for a follow-up (pinned to
    the mail that started it) the earliest of its mail, whichever arrived first."""
    heads = batch.w.members_of(ticket["id"]).thread_headers()
    if not heads:
        return None
    if ticket["follow_up_of"] is None:
        return conversation_root(heads)
    return min((h[3].isoformat() if h[3] else "", h[0]) for h in heads)[1]


def _reroot(batch: Batch, pk: int) -> int:
    """Give the ticket the id its conversation's root implies, joining the ticket that holds
    that id already. Returns the surviving ticket."""
    w = batch.w
    ticket = w.ticket(pk)
    if ticket is None or ticket["automatic"] or ticket["split_from"]:
        return pk
    if ticket["root_pinned"] and ticket["follow_up_of"] is None:
        return pk
    root = _root_of(batch, ticket)
    if root is None or root == ticket["root"]:
        return pk
    ref = _free_ref(batch, root)
    at = rows.db_time(ticket["created_at"]) or datetime.now(UTC)
    holder = w.pk_for_ref(ref)
    if holder is None:  # the usual case: just a new name
        batch.rename(pk, ref, root, at)
        return pk
    if w.survivor(holder) != pk:
        holder = w.survivor(holder)  # another ticket holds that id: join it
    held = w.ticket(holder)  # else a stub merged into this one holds it: it takes the mail back
    if held is not None and held["ref"] == ref:
        w.update(holder, root=root)
    batch.absorb(pk, holder, "rerooted", at)
    return holder


def _reopen_event(batch: Batch, pk: int, row: dict[str, Any]) -> Event:
    """A customer wrote again: reopen if pending or solved *at the time the mail arrived*.

    Derived the same way on every machine (same id, same clock from the server's arrival
    time), so it is never pushed; the fold decides whether it changes anything."""
    when = rows.db_time(row["internaldate"]) or min(row["date"], rows.db_time(row["created_at"]))  # type: ignore[type-var]
    digest = hashlib.sha256(f"reopen\0{row['message_id']}\0{row['content_hash']}".encode()).hexdigest()[:32]
    hlc = Hlc(int(when.timestamp() * 1000), 0, SYSTEM_AGENT)
    return Event(batch.ticket_ref(pk), "status", "reopen", "open", str(hlc), SYSTEM_AGENT, f"reopen-{digest}")
