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

A `snapshot` event holds the folded state of one ticket ref up to its HLC, and names the
events it folded in (`Coverage`); those are then redundant and may be deleted (compaction). An
event it does not name, even an older one (an agent who was offline for weeks), is folded in
on top of it, by the same rules, so late news is never dropped. Every applied change also
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

    def to_snapshot(self, upto: tuple[str, str], coverage: Coverage | None = None) -> str:
        """The JSON a snapshot event carries: enough to rebuild this state and its history, and
        which events it holds (`coverage`; without it, every event up to `upto`)."""
        coverage = coverage or Coverage(upto, frozenset())
        return json.dumps(
            {
                "upto": list(upto),
                "base": list(coverage.base),
                "ids": sorted(coverage.ids),
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


@dataclass(frozen=True, slots=True)
class Coverage:
    """Which events a snapshot folded in: every event at or before `base` (hlc, event_id), and
    those named in `ids`. Snapshots made before `ids` existed cover everything up to their
    `upto` (so `base` is that); later ones name what they folded beyond their base, so an
    older event that reached no snapshot maker in time is still told apart and applied."""

    base: tuple[str, str]
    ids: frozenset[str]

    def holds(self, e: Event) -> bool:
        return e.order <= self.base or e.event_id in self.ids

    def plus(self, events: Iterable[Event]) -> Coverage:
        return Coverage(self.base, self.ids | {e.event_id for e in events})

    def union(self, other: Coverage) -> Coverage:
        return Coverage(max(self.base, other.base), self.ids | other.ids)

    def includes(self, other: Coverage) -> bool:
        """Whether everything `other` covers is covered here too (judged by what both say;
        an id of `other` at or below this base is not recognised, which only keeps more)."""
        return other.base <= self.base and other.ids <= self.ids


NOTHING = Coverage(("", ""), frozenset())


def coverage(snap: Event | None) -> Coverage:
    """What a snapshot covers (nothing, for no snapshot)."""
    if snap is None:
        return NOTHING
    return _coverage_of(snap, json.loads(snap.value))


def _coverage_of(snap: Event, data: dict[str, Any]) -> Coverage:
    if "ids" not in data:  # an older tui-desk's snapshot: everything up to its upto
        upto = data.get("upto") or [snap.hlc, snap.event_id]
        return Coverage((str(upto[0]), str(upto[1])), frozenset())
    base = data.get("base") or ["", ""]
    return Coverage((str(base[0]), str(base[1])), frozenset(str(i) for i in data["ids"]))


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


def _expand_snapshot(
    snap: Event, state: TicketState, rank: int = 0
) -> tuple[list[tuple[tuple[str, str], str, Event | None]], Coverage]:
    """A snapshot as quiet writes at their original clocks, plus its audit lines (verbatim),
    and what it covers (read from the same parse: a fold runs on every change).

    Of two snapshots' writes at one clock, the one of the snapshot that covers more (`rank`,
    its place in `snapshot_key` order) comes last and so wins."""
    data: dict[str, Any] = json.loads(snap.value)
    out: list[tuple[tuple[str, str], str, Event | None]] = []
    after = f"\uffff{rank:09d}:"  # after any event id at the same clock, in rank order
    for name, (value, hlc, agent) in data.get("fields", {}).items():
        quiet = Event(snap.ticket, name, "set", value, hlc, agent, f"{snap.event_id}:{name}")
        out.append(((hlc, after + name), "quiet", quiet))
    for tag, (present, hlc, agent) in data.get("tags", {}).items():
        op = "add" if present else "remove"
        quiet = Event(snap.ticket, "tag", op, tag, hlc, agent, f"{snap.event_id}:tag:{tag}")
        out.append(((hlc, after + "tag:" + tag), "quiet", quiet))
    for event_id, hlc, agent, body in data.get("notes", []):
        out.append(((hlc, event_id), "quiet", Event(snap.ticket, "note", "add", body, hlc, agent, event_id)))
    for hlc, agent, name, old, new, event_id in data.get("audit", []):
        state.audit.append(AuditLine(hlc, agent, name, old, new, event_id))
    if data.get("solved"):
        state.solved_hlc = max(state.solved_hlc or "", data["solved"])
    if data.get("last"):  # the newest event folded in, even one that changed nothing visible
        state.last_hlc = max(state.last_hlc or "", data["last"])
    return out, _coverage_of(snap, data)


def covered_by(coverages: Iterable[Coverage]) -> Coverage:
    """What a set of snapshots covers together (given what each covers)."""
    out = NOTHING
    for held in coverages:
        out = out.union(held)
    return out


def fold(events: Iterable[Event]) -> TicketState:
    """The state that a set of events (of one ticket and the tickets merged into it) gives.

    Every snapshot held is folded in, not only the newest: each is a set of writes at their
    own clocks, so two snapshots made apart (each knowing a late event the other did not)
    merge by the same rules as events, and nothing either holds is lost. Usually there is one:
    compaction keeps only the snapshot it makes from all of them."""
    events = list({e.event_id: e for e in events}.values())
    snaps = sorted((e for e in events if e.field == "snapshot"), key=snapshot_key)
    state = TicketState()
    timeline: list[tuple[tuple[str, str], str, Event | None]] = []
    covered: dict[str, Coverage] = {}
    for rank, snap in enumerate(snaps):
        writes, held = _expand_snapshot(snap, state, rank)
        timeline.extend(writes)
        covered[snap.ticket] = covered.get(snap.ticket, NOTHING).union(held)
    for e in events:
        if e.field == "snapshot" or (e.ticket in covered and covered[e.ticket].holds(e)):
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
    unique = {(a.hlc, a.agent, a.field, a.old, a.new, a.event_id): a for a in state.audit}  # two snapshots' copies
    state.audit = sorted(unique.values(), key=lambda a: (a.hlc, a.event_id or ""))
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
