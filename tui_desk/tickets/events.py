"""Team state through the mailbox, the local half: events in and out as mail, and compaction.

The transport (append to the `TuiDesk/Events` folder, read it back in sync) calls:

    batch = events.pending(conn)                 # local changes not yet in the folder
    raw = events.encode(batch)                   # one RFC 5322 message
    ... APPEND raw ...
    events.mark_pushed(conn, [e.event_id for e in batch])

    for raw in new_messages_in_events_folder:
        events.apply_remote(conn, events.decode(raw))   # never raises on bad input

Applying is idempotent (events are keyed by event_id) and order-independent (state is a fold
in clock order, see `state.fold`), so re-reading the folder, or two agents reading it in
different orders, is harmless. Event mail says `Auto-Submitted: auto-generated` so no
autoresponder ever answers it, and threading never turns it into a ticket.

"Being answered by" marks travel in the same format (field `composing`) but in messages of
their own, and are applied to their own table, not to the log (see `composing`).
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from email.utils import format_datetime

from sqlalchemy import Connection

from tui_desk.storage import ticket_events as store
from tui_desk.tickets import apply, composing
from tui_desk.tickets.model import EPHEMERAL_FIELDS, Event, Hlc, check_event
from tui_desk.tickets.state import Coverage, coverage, covered_by, fold, snapshot_key, snapshot_upto

log = logging.getLogger(__name__)

EVENTS_HEADER = "X-TuiDesk-Events"
EPHEMERAL_HEADER = "X-TuiDesk-Ephemeral"
"""On messages holding only composing marks, so compaction can find them by SEARCH HEADER and
delete them a day later instead of after the 30-day horizon."""
FORMAT = "tui-desk-events"
VERSION = 1
MAX_EVENTS_PER_MESSAGE = 500


@dataclass(slots=True)
class Decoded:
    events: list[Event] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


def encode(batch: Sequence[Event], *, sender: str | None = None, now: datetime | None = None) -> bytes:
    """One event message: JSON body (quoted-printable, so 7-bit clean and line-safe)."""
    if not batch:
        raise ValueError("no events to encode")
    sender = sender or batch[-1].agent or "tui-desk@localhost"
    last = max(e.hlc for e in batch)
    body = json.dumps(
        {"format": FORMAT, "version": VERSION, "events": [e.as_dict() for e in batch]},
        ensure_ascii=False, sort_keys=True, indent=0,
    )  # fmt: skip
    digest = hashlib.sha256(body.encode()).hexdigest()[:32]
    # Long subjects are not folded: Python folds a too-long first word badly (leading space).
    msg = EmailMessage(policy=policy.SMTP.clone(max_line_length=998))
    msg["From"] = sender if "@" in sender else f"{sender}@localhost"
    msg["To"] = msg["From"]
    msg["Subject"] = f"[tui-desk events] {sender} {last}"
    msg["Date"] = format_datetime(now or datetime.now(UTC))
    msg["Message-ID"] = f"<events.{digest}@tui-desk.invalid>"
    msg[EVENTS_HEADER] = str(VERSION)
    msg["Auto-Submitted"] = "auto-generated"
    msg["Precedence"] = "bulk"
    if all(e.field in EPHEMERAL_FIELDS for e in batch):
        msg[EPHEMERAL_HEADER] = "composing"
    msg.set_content(body, subtype="plain", charset="utf-8", cte="quoted-printable")
    return msg.as_bytes()


def decode_report(raw: bytes) -> Decoded:
    """The events in an event message, and what was wrong with the rest. Never raises."""
    out = Decoded()
    try:
        msg = BytesParser(policy=policy.default).parsebytes(raw)
        if not str(msg.get(EVENTS_HEADER, "")).strip():
            out.problems.append(f"not an event message (no {EVENTS_HEADER} header)")
            return out
        part = msg.get_body(preferencelist=("plain",)) if msg.is_multipart() else msg
        if part is None:
            out.problems.append("event message has no text body")
            return out
        payload = part.get_payload(decode=True)
        data = json.loads(payload.decode("utf-8") if isinstance(payload, bytes) else str(payload))
    except Exception as exc:  # hostile or truncated mail: report, never crash the sync
        out.problems.append(f"unreadable event message: {type(exc).__name__}: {exc}")
        return out
    if not isinstance(data, dict) or data.get("format") != FORMAT or not isinstance(data.get("events"), list):
        out.problems.append("event message body is not a tui-desk event list")
        return out
    if data.get("version") != VERSION:
        out.problems.append(f"event format version {data.get('version')!r}; this tui-desk reads {VERSION}")
        return out
    for index, item in enumerate(data["events"]):
        try:
            out.events.append(check_event(item))
        except ValueError as exc:
            out.problems.append(f"event {index}: {exc}")
    return out


def decode(raw: bytes) -> list[Event]:
    """The valid events in an event message; problems are logged, never raised."""
    result = decode_report(raw)
    for problem in result.problems:
        log.warning("tui-desk events: %s", problem)
    return result.events


def pending(conn: Connection, limit: int = MAX_EVENTS_PER_MESSAGE) -> list[Event]:
    """Local events not yet in the Events folder, oldest first."""
    return [apply.as_event(t) for _id, t in store.unpushed(conn, limit)]


def mark_pushed(conn: Connection, event_ids: Iterable[str]) -> int:
    return store.set_pushed(conn, event_ids)


def apply_remote(conn: Connection, events: Iterable[Event], *, now: datetime | None = None) -> list[Event]:
    """Apply events read from the Events folder; returns the ones that were new here (for
    composing marks: the ones that changed a mark). Marks go to their own table, never into
    the event log, so they cannot touch a ticket's state, audit trail or snapshots."""
    checked = []
    for e in events:
        try:
            checked.append(check_event(e.as_dict()))
        except ValueError as exc:
            log.warning("tui-desk events: skipped %s: %s", e.event_id, exc)
    marks = [e for e in checked if e.field in EPHEMERAL_FIELDS]
    state = [e for e in checked if e.field not in EPHEMERAL_FIELDS]
    return apply.record(conn, state, pushed=True) + (composing.apply_remote(conn, marks, now=now) if marks else [])


def compaction_horizon(older_than: timedelta, now: datetime | None = None) -> str:
    """The clock reading before which events count as old."""
    return str(Hlc(int(((now or datetime.now(UTC)) - older_than).timestamp() * 1000), 0, ""))


def compactable_refs(conn: Connection, *, older_than: timedelta = timedelta(days=30),
                     now: datetime | None = None) -> list[str]:  # fmt: skip
    """The refs `compact` would look at (so a caller can compact them a few at a time)."""
    return store.refs_with_events(conn, before_hlc=compaction_horizon(older_than, now))


def compact(conn: Connection, *, older_than: timedelta = timedelta(days=30), now: datetime | None = None,
            min_events: int = 2, refs: Sequence[str] | None = None) -> list[Event]:  # fmt: skip
    """Summarise each ticket's events older than the horizon in a `snapshot` event, and drop
    the summarised ones locally. The snapshots are pending (to be pushed); afterwards every
    event message whose events are all `compacted` may be deleted from the folder.

    Only events the ref's current snapshot does not already cover count (merges and splits are
    kept locally for ever, and must not make a new snapshot every day); what a snapshot from
    another machine covers is dropped here too. `refs` limits the work to those tickets. The snapshot is a pure
    function of the events it covers, so two machines that know the same events make the same
    snapshot, with the same event_id, and pushing both applies once.

    An event older than the snapshot that reaches a machine only later (its agent was offline
    for weeks) is not in the snapshot's list: the fold applies it on top, and the next
    compaction folds it into a new snapshot, so it is never lost."""
    horizon = compaction_horizon(older_than, now)
    made: list[Event] = []
    for ref in store.refs_with_events(conn, before_hlc=horizon) if refs is None else refs:
        events = [apply.as_event(t) for t in store.events_for_refs(conn, [ref])]
        snaps = [e for e in events if e.field == "snapshot"]
        covers = {s.event_id: coverage(s) for s in snaps}
        held = covered_by(covers.values())
        old = [e for e in events if e.hlc < horizon and e.field != "snapshot" and not held.holds(e)]
        if len(old) < min_events:
            newest = max(snaps, key=snapshot_key, default=None)
            if newest is not None and all(covers[newest.event_id].includes(c) for c in covers.values()):
                # perhaps from another machine: what it covers is never folded again
                store.delete_covered(conn, ref, held.base, held.ids, newest.event_id)
            continue
        upto = max([*(snapshot_upto(s) for s in snaps), *(e.order for e in old)])
        old_ids = {e.event_id for e in old}
        covered = [e for e in events if e.field == "snapshot" or held.holds(e) or e.event_id in old_ids]
        grown = held.plus(old)
        value = fold(covered).to_snapshot(upto, grown)
        digest = hashlib.sha256(f"{ref}\0{value}".encode()).hexdigest()[:32]
        snap = Event(ref, "snapshot", "snapshot", value, upto[0], "system", f"snap-{digest}")
        made.extend(apply.record(conn, [snap], pushed=False))
        store.delete_covered(conn, ref, grown.base, grown.ids, snap.event_id)
    return made


def compacted(conn: Connection, events: Iterable[Event], *, on_server: bool = False,
              now: datetime | None = None) -> bool:  # fmt: skip
    """True when the fold will never look at any of these events again, so their message may go.

    That holds for an event a snapshot of its ref held here names (`state.Coverage`), and for
    a snapshot another one holds all of; never for a merge or split (they still move mail
    that arrives later). With `on_server`, only snapshots already in the Events folder
    count: a message may be deleted only once what replaces it is there for every machine.
    A composing mark or clear needs no snapshot: it is done with once expired (as of `now`)."""
    moment = now or datetime.now(UTC)
    events = [e for e in events if not composing.expired(e, moment)]
    if any(e.field in EPHEMERAL_FIELDS for e in events):
        return False  # a mark still alive: somebody may still need to see it (or its clear)
    if not events:
        return True
    usable: dict[str, list[tuple[Event, Coverage]]] = {}
    for t, pushed in store.snapshots_for_refs(conn, {e.ticket for e in events}):
        if pushed or not on_server:
            snap = apply.as_event(t)
            usable.setdefault(snap.ticket, []).append((snap, coverage(snap)))
    for e in events:
        snaps = usable.get(e.ticket, [])
        if not snaps or e.field in ("merge", "split"):
            return False
        if e.field == "snapshot":
            # An older snapshot may go once another one holds all it holds (every machine
            # folds all the snapshots it has, so one that adds nothing is redundant).
            mine = coverage(e)
            if not any(s.event_id != e.event_id and held.includes(mine)
                       and (held != mine or snapshot_key(s) > snapshot_key(e)) for s, held in snaps):  # fmt: skip
                return False
        elif not any(held.holds(e) for _s, held in snaps):
            return False
    return True
