"""Who is answering which ticket right now ("being answered by ana"): the marks the list and
the ticket screen show, so two agents do not write the same reply.

A mark is set when a composer opens (`composer.open_reply`), refreshed while the agent types
and cleared when the reply is sent or discarded or the composer closes. Colleagues learn of it
through team sync: each mark or clear is a `composing` event (op "mark" with the time the
composer opened, or "clear") in the `TuiDesk/Events` folder, in messages of their own.

Why not an ordinary team event: a mark is about the moment, not the ticket. It must not
change the ticket's state, "updated" time or audit trail (the reply itself is the record),
and it is worthless half an hour later. So marks live in their own table (`storage/composing`)
as a last-writer-wins register per (ticket, agent), compared by HLC: a clear beats an older
mark and is kept as a tombstone while a mark older than it could still be alive. A mark is
fresh for `COMPOSING_FRESH` after the clock of its last refresh, so a crashed composer's mark
goes by itself, and a mark that arrives late (a slow or offline colleague) is judged by its own
clock, never by when it arrived: an expired one is not brought back. A clock running ahead
cannot keep a mark alive either: freshness is counted from its arrival at the latest. The clock
comparison assumes the agents' clocks agree within minutes (NTP), as the HLC does anyway.

Kept apart from `collisions` so reading the marks pulls in no sync or IMAP code.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta

from sqlalchemy import Connection

from tui_desk.storage import composing as store
from tui_desk.storage import ticket_events as event_store
from tui_desk.tickets.model import EPHEMERAL_FIELDS, Event, Hlc, hlc_wall_ms

COMPOSING_FRESH = timedelta(minutes=30)
REFRESH_QUIET = timedelta(minutes=1)
"""A refresh this soon after the last write publishes nothing: a mark lives for half an hour,
and every write is one message in the Events folder."""
FIELD = "composing"


def _at(hlc: str) -> datetime:
    return datetime.fromtimestamp(hlc_wall_ms(hlc) / 1000, tz=UTC)


def _horizon(now: datetime) -> str:
    """The clock reading before which a mark (or the clear of one) is worthless."""
    return str(Hlc(int((now - COMPOSING_FRESH).timestamp() * 1000), 0, ""))


def _next_hlc(conn: Connection, agent: str, now: datetime) -> str:
    """Later than every event and mark this machine has seen (the HLC receive rule), so a clear
    always beats the mark it clears, wherever that mark was written."""
    seen = [h for h in (event_store.latest_hlc(conn), store.latest_hlc(conn)) if h]
    return str(Hlc.tick(max(seen, default=None), agent, int(now.timestamp() * 1000)))


def mark(conn: Connection, ref: str, agent: str, since: datetime, *, now: datetime | None = None) -> bool:
    """Set or refresh `agent`'s mark on `ref` (composer opened at `since`) and queue it for the
    team. Returns False when nothing new has to travel (refreshed less than a minute ago)."""
    agent, now = agent.lower(), now or datetime.now(UTC)
    since = since if since.tzinfo else since.replace(tzinfo=UTC)  # the wire needs a zone
    store.prune(conn, _horizon(now))
    row = store.get(conn, ref, agent)
    if row is not None and row.active and row.hlc and timedelta(0) <= now - row.seen_at < REFRESH_QUIET:
        return False  # (seen_at, not the clock: an HLC pulled ahead by a fast colleague must not stop refreshes)
    store.put(conn, store.MarkRow(ref, agent, since, now, _next_hlc(conn, agent, now), True, uuid.uuid4().hex,
                                  pushed=False, shared=row.shared if row else False))  # fmt: skip
    return True


def withdraw(conn: Connection, ref: str, agent: str, *, now: datetime | None = None) -> bool:
    """Clear `agent`'s mark on `ref` (sent, discarded, closed) and queue the clear for the team.
    A mark that never left this machine is simply forgotten: nobody else has seen it."""
    agent, now = agent.lower(), now or datetime.now(UTC)
    row = store.get(conn, ref, agent)
    if row is None or not row.active:
        return False
    if not row.shared:
        store.delete(conn, ref, agent)
        return False
    _write_clear(conn, ref, agent, row.since, now)
    return True


def _write_clear(conn: Connection, ref: str, agent: str, since: datetime, now: datetime) -> None:
    store.put(conn, store.MarkRow(ref, agent, since, now, _next_hlc(conn, agent, now), False, uuid.uuid4().hex,
                                  pushed=False, shared=True))  # fmt: skip


def as_event(row: store.MarkRow) -> Event:
    value = row.since.isoformat() if row.active else ""
    return Event(row.ticket_ref, FIELD, "mark" if row.active else "clear", value, row.hlc, row.agent, row.event_id)


def pending(conn: Connection, *, now: datetime | None = None) -> list[Event]:
    """Local marks and clears not yet published (only the latest state of each: a mark opened
    and cleared while offline travels as one clear), leaving out what has expired meanwhile."""
    horizon = _horizon(now or datetime.now(UTC))
    return [as_event(r) for r in store.unpushed(conn) if r.hlc >= horizon]


def mark_pushed(conn: Connection, events: Iterable[Event], *, now: datetime | None = None) -> None:
    """Record that these marks and clears are in the Events folder. A mark withdrawn while it
    was on its way there (forgotten as never shared) gets its clear published after all."""
    for e in events:
        if store.set_pushed(conn, e.ticket, e.agent, e.event_id) or e.op != "mark":
            continue
        if store.get(conn, e.ticket, e.agent) is None:
            _write_clear(conn, e.ticket, e.agent, datetime.fromisoformat(e.value), now or datetime.now(UTC))


def apply_remote(conn: Connection, events: Iterable[Event], *, now: datetime | None = None) -> list[Event]:
    """Record marks and clears read from the Events folder (any other event is ignored here);
    returns the ones that changed what this machine shows. Idempotent and order-independent:
    the later clock wins, and an event already expired by its own clock is dropped."""
    now = now or datetime.now(UTC)
    horizon = _horizon(now)
    store.prune(conn, horizon)
    changed: list[Event] = []
    for e in sorted((e for e in events if e.field in EPHEMERAL_FIELDS), key=lambda e: e.order):
        if e.hlc < horizon:
            continue
        agent = e.agent.lower()
        at = min(_at(e.hlc), now)  # a clock running ahead does not make a mark live longer
        held = store.get(conn, e.ticket, agent)
        since = datetime.fromisoformat(e.value) if e.op == "mark" else (held.since if held else at)
        row = store.MarkRow(e.ticket, agent, since, at, e.hlc, e.op == "mark", e.event_id, pushed=True, shared=True)
        if store.put_if_newer(conn, row):
            changed.append(e)
    return changed


def expired(e: Event, now: datetime) -> bool:
    """True when a mark or clear no longer matters to anyone (so its message may be deleted)."""
    return e.field in EPHEMERAL_FIELDS and e.hlc < _horizon(now)


def marks_on(conn: Connection, refs: Iterable[str], me: str, *,
             now: datetime | None = None) -> dict[str, list[tuple[str, datetime]]]:  # fmt: skip
    """ref -> (agent, since) of the colleagues (not `me`) writing a reply to it now."""
    fresh = (now or datetime.now(UTC)) - COMPOSING_FRESH
    out: dict[str, list[tuple[str, datetime]]] = {}
    for ref, agent, since in store.composing_on(conn, list(refs), fresh):
        if agent != me.lower():
            out.setdefault(ref, []).append((agent, since))
    return out
