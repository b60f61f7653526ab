"""Compacting the team event log on the server: fewer, bigger messages in `TuiDesk/Events`.

Every change ever made travels as an event message, so the folder grows for ever and a new
machine would replay years of history. Once a day per machine (and only after a successful
pull, so it has seen what the others pushed), team sync:

1. folds each ticket's events older than the horizon (30 days) into one `snapshot` event and
   drops the folded ones locally (`events.compact`, one transaction);
2. pushes the snapshots like any other event (marked pushed only after the APPEND succeeded);
3. only then deletes, by UID EXPUNGE, the event messages it has already applied whose events
   are all summarised by snapshots that are in the folder (`events.compacted(on_server=True)`).

Why this is safe:

* Killed anywhere: before 2 the snapshots wait as pending events and go out on the next sync;
  between 2 and 3 nothing was deleted and the day's run is not recorded as done, so the next
  sync deletes; a crash inside 3 leaves some messages flagged \\Deleted, deleted next time. A
  snapshot APPENDed twice (killed before it was marked pushed) has one event_id and applies
  once; every step is idempotent.
* Two agents compacting at once: a snapshot is a pure function of what it covers, so agents
  that know the same events make the very same snapshot. Snapshots that differ (each agent
  knew a late event the other did not) are all folded in, by the same per-field rules as
  events, and the next compaction makes one snapshot of them. Each agent deletes only what its
  own on-server snapshots cover (`state.Coverage`: each names the events it holds), and a
  snapshot is only ever deleted in favour of one that holds all it holds, which is therefore
  on the server too. Deleting a message another agent already deleted is a no-op in IMAP.
* An agent offline for longer than the horizon: its events are older than the snapshots made
  meanwhile, but no snapshot names them, so every machine folds them in on top when they
  arrive, and the messages that carry them stay until a snapshot holds them.
* A message is never deleted unless this machine applied it (its UID is below the folder's
  UIDNEXT as of our pull), decoded it cleanly, and found only events the fold ignores from now
  on; a merge or split is never deleted (it still moves mail that arrives later).
* Without UIDPLUS nothing is deleted: a plain EXPUNGE would take other clients' \\Deleted mail
  with it. The snapshots still go out (they are ordinary events).

Composing marks ("being answered by") need no snapshot: they are never folded, and worthless
once expired (half an hour). They travel in messages of their own (header
`X-TuiDesk-Ephemeral`), which step 3 also finds by SEARCH HEADER a day after they were sent and
deletes once every event in them has expired; a message mixing marks with state events (none
of ours does) goes when both rules allow.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from tui_desk.mail.errors import ProtocolError
from tui_desk.mail.fastfetch import FastFetcher
from tui_desk.mail.imap import ImapSession
from tui_desk.storage import sync_state as st
from tui_desk.storage import ticket_events as store
from tui_desk.storage.db import Database
from tui_desk.tickets import events
from tui_desk.tickets.model import Event

HORIZON = timedelta(days=30)
EVERY = timedelta(days=1)
FETCH_BATCH = 200
SEARCH_SLACK = timedelta(days=2)
EPHEMERAL_AFTER = timedelta(days=1)
"""Composing-mark messages are looked at once they are this old (expired long before)."""
REFS_PER_TRANSACTION = 200


def _utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class CompactPolicy:
    """When and how far to compact. `force` runs now whatever the last run; `now` is the clock
    (tests move it forward instead of waiting 30 days)."""

    horizon: timedelta = HORIZON
    every: timedelta = EVERY
    force: bool = False
    now: Callable[[], datetime] = field(default=_utcnow)


AUTOMATIC = CompactPolicy()
"""What team sync does unless told otherwise: at most once a day, events older than 30 days."""


@dataclass(slots=True)
class CompactReport:
    snapshots: int = 0
    """Snapshot events made here this run."""
    deleted: int = 0
    """Event messages deleted from the server."""
    kept: int = 0
    """Old event messages looked at and kept (not fully covered yet, or not ours to judge)."""
    skipped: str = ""
    """Why nothing was deleted, when that was not a choice ("no UIDPLUS")."""


class EventLogCompactor:
    """The three steps above, separately callable so tests can interleave two agents."""

    def __init__(self, db: Database, session: ImapSession, fetcher_factory: Callable[[], FastFetcher],
                 account_id: int, folder: str, policy: CompactPolicy) -> None:  # fmt: skip
        self.db = db
        self.session = session
        self.fetcher_factory = fetcher_factory
        self.account_id = account_id
        self.folder = folder
        self.policy = policy
        self.now = policy.now()
        self.report = CompactReport()

    def due(self) -> bool:
        if self.policy.force:
            return True
        with self.db.read() as conn:
            state = st.find_folder(conn, self.account_id, self.folder)
            last = st.compacted_at(conn, state.id) if state else None
        return last is None or self.now - last >= self.policy.every or last > self.now

    def make_snapshots(self) -> list[Event]:
        """Step 1: local; the snapshots are left pending for the push. A few tickets per
        transaction (each one whole), so the app's own writes never wait long behind it."""
        horizon, now = self.policy.horizon, self.now
        with self.db.read() as conn:
            refs = events.compactable_refs(conn, older_than=horizon, now=now)
        made: list[Event] = []
        for i in range(0, len(refs), REFS_PER_TRANSACTION):
            with self.db.write() as conn:
                chunk = refs[i : i + REFS_PER_TRANSACTION]
                made += events.compact(conn, older_than=horizon, now=now, min_events=1, refs=chunk)
        self.report.snapshots += len(made)
        return made

    def delete_covered_messages(self) -> int:
        """Step 3: delete the applied event messages whose events snapshots on the server cover.
        Call only after the snapshots were pushed (pending ones do not count anyway)."""
        with self.db.read() as conn:
            state = st.find_folder(conn, self.account_id, self.folder)
            if state is None or not state.uidnext:
                return 0
            snapshots = store.has_snapshots(conn)
        if not self.session.uidplus:
            if snapshots:
                self.report.skipped = "the server has no UIDPLUS, so old event messages stay"
            return 0
        try:
            return self._delete(state, snapshots=snapshots)
        except ProtocolError as exc:  # e.g. a shared folder we may not delete from: try tomorrow
            self.report.skipped = f"old event messages stay: {exc}"
            return 0

    def _delete(self, state: st.FolderState, *, snapshots: bool) -> int:
        status = self.session.select(self.folder, readonly=False)
        if status.uidvalidity != state.uidvalidity:
            return 0  # the folder was re-created since our pull: judge it after the next pull
        # Messages the server received after the horizon hold newer events that no snapshot can
        # cover yet, so they are not even downloaded (without snapshots, none is covered). SEARCH
        # BEFORE counts whole days in the server's time zone: two days of slack, the coverage
        # check below decides anyway. Composing marks are looked at a day after they were sent.
        cutoff = self.now - self.policy.horizon + SEARCH_SLACK
        old = self.session.uids_before(cutoff) if snapshots else []
        applied = sorted(u for u in {*old, *self._mark_messages()} if u < state.uidnext)
        doomed: list[int] = []
        if applied:
            fetcher = self.fetcher_factory()
            fetcher.examine(self.folder)
            for i in range(0, len(applied), FETCH_BATCH):
                for item in fetcher.fetch(applied[i : i + FETCH_BATCH]):
                    if self._covered(item.raw):
                        doomed.append(item.uid)
                    else:
                        self.report.kept += 1
        if doomed and self.session.expunge_uids(doomed):
            self.report.deleted += len(doomed)
        return len(doomed)

    def _mark_messages(self) -> list[int]:
        """UIDs of the messages holding only composing marks, a day old or more. A server that
        cannot SEARCH HEADER keeps them until the horizon, like any other event message."""
        try:
            return self.session.search(["BEFORE", (self.now - EPHEMERAL_AFTER).date(),
                                        "HEADER", events.EPHEMERAL_HEADER, "composing"])  # fmt: skip
        except ProtocolError:
            return []

    def _covered(self, raw: bytes) -> bool:
        decoded = events.decode_report(raw)
        if decoded.problems or not decoded.events:
            return False  # never delete what we cannot read: another version may need it
        with self.db.read() as conn:
            return events.compacted(conn, decoded.events, on_server=True, now=self.now)

    def finish(self) -> None:
        """Record the run as done (only after step 3, so an interrupted run is retried)."""
        with self.db.write() as conn:
            state = st.ensure_folder(conn, self.account_id, self.folder, "events")
            st.set_compacted_at(conn, state.id, self.now)
