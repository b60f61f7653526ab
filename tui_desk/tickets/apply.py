"""Applying events to the database: the one path for local changes, remote events and the
reopen events threading derives, so all three behave identically.

Structural events (merge, split) move messages between ticket rows; everything else is state,
folded from the whole event log of the ticket's family (see `state.fold`) and written onto the
ticket row as denormalised columns, tags, notes and audit lines.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import UTC, datetime

from sqlalchemy import Connection

from tui_desk.storage import ticket_events as store
from tui_desk.storage import tickets as rows
from tui_desk.tickets.ids import ref_for, strip_prefixes, subject_key
from tui_desk.tickets.model import Event, Hlc, hlc_wall_ms, priority_rank, valid_ref
from tui_desk.tickets.state import fold


def hlc_time(hlc: str) -> datetime:
    return datetime.fromtimestamp(hlc_wall_ms(hlc) / 1000, tz=UTC)


def next_hlc(conn: Connection, agent: str) -> str:
    """A clock reading later than every event this machine has seen (the HLC receive rule)."""
    return str(Hlc.tick(store.latest_hlc(conn), agent))


def as_tuple(e: Event) -> store.EventTuple:
    return (e.ticket, e.field, e.op, e.value, e.hlc, e.agent, e.event_id)


def as_event(t: Iterable[str]) -> Event:
    return Event(*t)


def free_ref(conn: Connection, root: str) -> str:
    """The ref for `root`: the short form unless a different conversation holds it already."""
    for length in range(8, 17):
        ref = ref_for(root, length)
        pk = rows.pk_for_ref(conn, ref)
        if pk is None:
            return ref
        ticket = rows.get_ticket(conn, pk)
        if ticket is not None and ticket["root"] in ("", root):
            return ref
    raise RuntimeError(f"no free ticket id for {root!r}")  # needs a 2^-80 coincidence


def ticket_for_ref(conn: Connection, ref: str, at: datetime, root: str = "", **values: object) -> int:
    """The row for `ref`, made as a hidden stub if this machine has not seen it yet.

    A ref this machine knows under another root (threading here picked a different root for
    the same conversation) is found through the threading keys and joined to that ticket."""
    pk = rows.pk_for_ref(conn, ref)
    if pk is not None:
        return pk
    owner = rows.owner_of_key_ref(conn, ref)
    new = rows.create_ticket(conn, ref, root, at, **values)
    if owner is not None:
        rows.update_ticket(conn, new, merged_into=rows.survivor(conn, owner))
    return new


def refresh(conn: Connection, pk: int) -> None:
    """Recompute the ticket's message-derived columns."""
    rows.refresh_summary(conn, pk, subject_key, strip_prefixes)


def absorb(conn: Connection, src: int, dst: int, why: str, at: datetime) -> None:
    """Move everything of `src` into `dst` (threading joins, merges, re-rooting)."""
    if src == dst:
        return
    rows.update_ticket(conn, dst, merged_into=None)
    src_ref = rows.get_ticket(conn, src)
    rows.move_ticket_contents(conn, src, dst)
    dst_ref = rows.get_ticket(conn, dst)
    if why and src_ref and dst_ref:
        store.add_system_audit(conn, dst, at, why, src_ref["ref"], dst_ref["ref"])
    refresh(conn, dst)


def refold(conn: Connection, pk: int) -> None:
    """Fold the events of the ticket and everything merged into it onto its row."""
    pk = rows.survivor(conn, pk)
    members = rows.family(conn, pk)
    events = [as_event(t) for t in store.events_for_refs(conn, [ref for _pk, ref in members])]
    if not events:
        return  # never changed by anyone: the row already holds the defaults
    state = fold(events)
    store.write_state(
        conn, pk, status=state.values["status"], priority=priority_rank(state.values["priority"]),
        assignee=state.values["assignee"], tags=state.tag_set,
        solved_at=hlc_time(state.solved_hlc) if state.solved_hlc and state.values["status"] in ("solved", "closed") else None,
        last_event_at=hlc_time(state.last_hlc) if state.last_hlc else None,
    )  # fmt: skip
    store.write_notes(conn, pk, [(n.event_id, n.hlc, n.agent, n.body, hlc_time(n.hlc)) for n in state.notes.values()])
    store.write_event_audit(
        conn, pk, [m for m, _r in members],
        [(a.event_id, a.hlc, hlc_time(a.hlc), a.agent, a.field, a.old, a.new) for a in state.audit],
    )


def _apply_merge(conn: Connection, e: Event) -> set[int]:
    at = hlc_time(e.hlc)
    src = rows.survivor(conn, ticket_for_ref(conn, e.ticket, at))
    dst = rows.survivor(conn, ticket_for_ref(conn, e.value, at))
    if src == dst:
        return {dst}
    absorb(conn, src, dst, "", at)
    rows.update_ticket(conn, dst, root_pinned=True)
    return {dst}


def _apply_split(conn: Connection, e: Event) -> set[int]:
    data = json.loads(e.value)
    message_id, content_hash = data["message_id"], data.get("content_hash", "")
    at = hlc_time(e.hlc)
    new = ticket_for_ref(conn, e.ticket, at, message_id, root_pinned=True)
    rows.update_ticket(conn, new, root_pinned=True, merged_into=None)
    if valid_ref(str(data.get("from", ""))):
        rows.update_ticket(conn, new, split_from=rows.survivor(conn, ticket_for_ref(conn, data["from"], at)))
    touched = {new}
    for mid, old, chash in rows.messages_with_id(conn, message_id):
        if content_hash and chash != content_hash:
            continue
        if old is not None and old != new:
            touched.add(old)
            rows.move_key(conn, message_id, old, new)
        rows.move_message(conn, mid, new, "split")
    for pk in touched:
        refresh(conn, pk)
    return touched


def record(conn: Connection, events: Iterable[Event], *, pushed: bool, defer: set[int] | None = None) -> list[Event]:
    """Store events (ignoring ones already held), apply their structure, refold what they touch
    (or, given `defer`, add those tickets to it for the caller to refold once).

    Returns the events that were new here."""
    wanted = sorted({e.event_id: e for e in events}.values(), key=lambda e: e.order)
    fresh_ids = set(store.insert_events(conn, [as_tuple(e) for e in wanted], pushed=pushed))
    fresh = [e for e in wanted if e.event_id in fresh_ids]
    touched: set[int] = set()
    for e in fresh:
        at = hlc_time(e.hlc)
        if e.field == "merge":
            touched |= _apply_merge(conn, e)
        elif e.field == "split":
            touched |= _apply_split(conn, e)
        else:
            touched.add(ticket_for_ref(conn, e.ticket, at))
        if e.agent and e.agent != "system" and "@" in e.agent:
            rows.add_agent(conn, e.agent)
    survivors = {rows.survivor(conn, pk) for pk in touched}
    if defer is not None:
        defer |= survivors
        return fresh
    for pk in survivors:
        refold(conn, pk)
    return fresh
