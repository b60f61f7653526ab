"""Folding a ticket's events into its state: a pure function, the heart of team sync.

Why a fold and not "apply each event as it comes": the result must not depend on the order in
which events reach a machine. Sorting by (hlc, event_id) and folding gives that for free, and
it makes the merge rules easy to state:

* status, priority, assignee: last writer wins by HLC (ties broken by the agent inside the HLC);
* status "reopen" (a new customer message): reopens only if, at that point of the clock,
  the ticket is pending or solved, so an agent who solved it *after* reading the mail wins;
* tags: last writer wins per tag (a later remove beats an earlier add and vice versa), not
  add-wins, so a deliberate removal sticks even if a colleague's older add arrives late;
* notes: append-only, one per event_id, so replays never duplicate them.

A `snapshot` event holds the folded state of one ticket ref up to its HLC; events of that ref
at or before it are then redundant and may be deleted (compaction). Every applied change also
yields an audit line, so both sides of a conflict stay visible.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from tui_desk.tickets.model import Event

STATE_FIELDS = ("status", "priority", "assignee")


@dataclass(slots=True)
class AuditLine:
    hlc: str
    agent: str
    field: str
    old: str
    new: str
    event_id: str | None


@dataclass(slots=True)
class NoteItem:
    event_id: str
    hlc: str
    agent: str
    body: str


@dataclass(slots=True)
class TicketState:
    values: dict[str, str] = field(default_factory=lambda: {"status": "new", "priority": "normal", "assignee": ""})
    stamps: dict[str, tuple[str, str]] = field(default_factory=dict)
    """field -> (hlc, agent) of the write that won."""
    tags: dict[str, tuple[bool, str, str]] = field(default_factory=dict)
    """tag -> (present, hlc, agent) of the last add/remove."""
    notes: dict[str, NoteItem] = field(default_factory=dict)
    audit: list[AuditLine] = field(default_factory=list)
    solved_hlc: str | None = None
    last_hlc: str | None = None

    @property
    def tag_set(self) -> list[str]:
        return sorted(t for t, (present, _h, _a) in self.tags.items() if present)

    def to_snapshot(self, upto: tuple[str, str]) -> str:
        """The JSON a snapshot event carries: enough to rebuild this state and its history."""
        return json.dumps(
            {
                "upto": list(upto),
                "fields": {k: [self.values[k], *self.stamps[k]] for k in STATE_FIELDS if k in self.stamps},
                "tags": {t: list(v) for t, v in sorted(self.tags.items())},
                "notes": [[n.event_id, n.hlc, n.agent, n.body] for n in self.notes.values()],
                "audit": [[a.hlc, a.agent, a.field, a.old, a.new, a.event_id] for a in self.audit],
                "solved": self.solved_hlc,
                "last": self.last_hlc,
            },
            ensure_ascii=False,
            sort_keys=True,
        )


def snapshot_upto(snap: Event) -> tuple[str, str]:
    """The (hlc, event_id) of the last event a snapshot covers."""
    upto = json.loads(snap.value).get("upto") or [snap.hlc, snap.event_id]
    return (str(upto[0]), str(upto[1]))


def snapshot_key(snap: Event) -> tuple[tuple[str, str], str]:
    """Which of a ref's snapshots the fold uses: the one covering the most, then the highest id.

    Ordered by coverage (not by the snapshot's own HLC) so that "a later snapshot" always means
    "covers at least as much": two snapshots made from the same clock reading can then never
    let the fold fall back to one that lacks events the other summarised (and which were
    deleted from the server on its strength)."""
    return (snapshot_upto(snap), snap.event_id)


def _expand_snapshot(snap: Event, state: TicketState) -> list[tuple[tuple[str, str], str, Event | None]]:
    """A snapshot as quiet writes at their original clocks, plus its audit lines (verbatim)."""
    data: dict[str, Any] = json.loads(snap.value)
    out: list[tuple[tuple[str, str], str, Event | None]] = []
    for name, (value, hlc, agent) in data.get("fields", {}).items():
        quiet = Event(snap.ticket, name, "set", value, hlc, agent, f"{snap.event_id}:{name}")
        out.append(((hlc, quiet.event_id), "quiet", quiet))
    for tag, (present, hlc, agent) in data.get("tags", {}).items():
        op = "add" if present else "remove"
        quiet = Event(snap.ticket, "tag", op, tag, hlc, agent, f"{snap.event_id}:tag:{tag}")
        out.append(((hlc, quiet.event_id), "quiet", quiet))
    for event_id, hlc, agent, body in data.get("notes", []):
        out.append(((hlc, event_id), "quiet", Event(snap.ticket, "note", "add", body, hlc, agent, event_id)))
    for hlc, agent, name, old, new, event_id in data.get("audit", []):
        state.audit.append(AuditLine(hlc, agent, name, old, new, event_id))
    if data.get("solved"):
        state.solved_hlc = max(state.solved_hlc or "", data["solved"])
    if data.get("last"):  # the newest event folded in, even one that changed nothing visible
        state.last_hlc = max(state.last_hlc or "", data["last"])
    return out


def fold(events: Iterable[Event]) -> TicketState:
    """The state that a set of events (of one ticket and the tickets merged into it) gives."""
    events = list({e.event_id: e for e in events}.values())
    latest_snap: dict[str, Event] = {}
    for e in events:
        if e.field == "snapshot" and (
            e.ticket not in latest_snap or snapshot_key(e) > snapshot_key(latest_snap[e.ticket])
        ):
            latest_snap[e.ticket] = e
    state = TicketState()
    timeline: list[tuple[tuple[str, str], str, Event | None]] = []
    for snap in latest_snap.values():
        timeline.extend(_expand_snapshot(snap, state))
    for e in events:
        snap = latest_snap.get(e.ticket)
        if e.field == "snapshot" or (snap is not None and e.order <= snapshot_upto(snap)):
            continue
        timeline.append((e.order, "loud", e))
    timeline.sort(key=lambda item: item[0])
    seen_ids: set[str] = set()
    for _order, mode, e in timeline:
        if e is None or (mode == "loud" and e.event_id in seen_ids):
            continue
        seen_ids.add(e.event_id)
        _apply(state, e, loud=mode == "loud")
        state.last_hlc = max(state.last_hlc or "", e.hlc)
    state.audit.sort(key=lambda a: (a.hlc, a.event_id or ""))
    return state


def _apply(state: TicketState, e: Event, *, loud: bool) -> None:
    def log(name: str, old: str, new: str) -> None:
        if loud:
            state.audit.append(AuditLine(e.hlc, e.agent, name, old, new, e.event_id))

    if e.field in STATE_FIELDS:
        old = state.values[e.field]
        if e.op == "reopen":
            if old not in ("pending", "solved"):
                return
            new = "open"
        else:
            new = e.value
        state.values[e.field] = new
        state.stamps[e.field] = (e.hlc, e.agent)
        if e.field == "status" and (new == "solved" or (new == "closed" and old != "solved")):
            state.solved_hlc = e.hlc  # closing a solved ticket keeps the time it was solved
        if old != new:
            log(e.field, old, new)
    elif e.field == "tag":
        before = state.tags.get(e.value, (False, "", ""))[0]
        present = e.op == "add"
        state.tags[e.value] = (present, e.hlc, e.agent)
        if before != present:
            log("tag", "" if present else e.value, e.value if present else "")
    elif e.field == "note":
        if e.event_id not in state.notes:
            state.notes[e.event_id] = NoteItem(e.event_id, e.hlc, e.agent, e.value)
            log("note", "", e.value)
    elif e.field == "merge":
        log("merge", e.ticket, e.value)
    elif e.field == "split":
        data = json.loads(e.value) if e.value.startswith("{") else {}
        log("split", str(data.get("from", "")), f"{data.get('message_id', '')} -> {e.ticket}")
