"""Team state through the mailbox: the IMAP transport for ticket events.

Every local change (status, priority, tags, assignee, notes, merges) is an event in the local
`events` table. Here they travel: unpushed events are APPENDed as one small message to the
`TuiDesk/Events` folder, and messages other agents appended are read back with the same
UIDNEXT bookkeeping as any folder and applied. Applying is idempotent and order-independent
(see `events`), so crash safety is simple: an event batch is marked pushed only after the
APPEND succeeded (a crash in between appends it twice, which applies once), and the folder's
UIDNEXT advances only after what it covers is applied. Changes made offline wait in the table
and go out on the next successful sync. Once a day, after the pull, the old part of the log is
compacted on the server too (see `team_compact`).

Composing marks ("being answered by") go out in messages of their own after the state events:
the app nudges the sync after a composer opens or closes, so they are in the folder within
seconds, and compaction can delete such messages a day later (see `composing`).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from dataclasses import dataclass

from tui_desk.mail.errors import ProtocolError
from tui_desk.mail.fastfetch import FastFetcher
from tui_desk.mail.imap import ImapSession
from tui_desk.storage import sync_state as st
from tui_desk.storage.db import Database
from tui_desk.tickets import composing, events
from tui_desk.tickets.model import EPHEMERAL_FIELDS
from tui_desk.tickets.team_compact import AUTOMATIC, CompactPolicy, CompactReport, EventLogCompactor

EVENTS_PARENT = "TuiDesk"
EVENTS_LEAF = "Events"
FETCH_BATCH = 200
MAX_MESSAGE_BYTES = 1_000_000
"""An event message is split below this (snapshots carry a ticket's whole audit trail)."""


@dataclass(slots=True)
class TeamReport:
    pushed: int = 0
    received: int = 0
    """State events read (composing marks are counted in `marks`: they change no ticket)."""
    applied: int = 0
    marks: int = 0
    """Composing marks and clears read that changed what this machine shows."""
    compaction: CompactReport | None = None
    """Set when this run compacted the event log."""


class TeamSync:
    def __init__(self, db: Database, session: ImapSession, fetcher_factory: Callable[[], FastFetcher],
                 account_id: int, agent: str, compaction: CompactPolicy | None = AUTOMATIC) -> None:  # fmt: skip
        self.db = db
        self.session = session
        self.fetcher_factory = fetcher_factory
        self.account_id = account_id
        self.agent = agent
        self.compaction = compaction
        """None: never compact the server's event log from this machine."""
        self.folder = EVENTS_PARENT + session.delimiter() + EVENTS_LEAF

    def run(self) -> TeamReport:
        report = TeamReport()
        self.session.ensure_folder(self.folder)
        self._push(report)
        self._pull(report)
        if self.compaction is not None:
            compactor = self.compactor(self.compaction)
            if compactor.due():
                self.compact(compactor, report)
        return report

    def compactor(self, policy: CompactPolicy) -> EventLogCompactor:
        return EventLogCompactor(self.db, self.session, self.fetcher_factory, self.account_id, self.folder, policy)

    def compact(self, compactor: EventLogCompactor, report: TeamReport) -> None:
        """Snapshots made, pushed, and only then the messages they replace deleted (the order
        is the crash safety; see `team_compact`)."""
        compactor.make_snapshots()
        self._push(report)
        compactor.delete_covered_messages()
        compactor.finish()
        report.compaction = compactor.report

    def _push(self, report: TeamReport) -> None:
        self._push_events(report)
        self._push_marks(report)

    def _push_marks(self, report: TeamReport) -> None:
        """All pending marks and clears in one message (a handful: one per open composer)."""
        with self.db.read() as conn:
            batch = composing.pending(conn)[: events.MAX_EVENTS_PER_MESSAGE]
        if not batch:
            return
        self.session.append(self.folder, events.encode(batch, sender=self.agent), flags=["\\Seen"])
        with self.db.write() as conn:
            composing.mark_pushed(conn, batch)
        report.pushed += len(batch)

    def _push_events(self, report: TeamReport) -> None:
        while True:
            with self.db.read() as conn:
                batch = events.pending(conn)
            if not batch:
                return
            raw = events.encode(batch, sender=self.agent)
            while len(raw) > MAX_MESSAGE_BYTES and len(batch) > 1:
                batch = batch[: len(batch) // 2]
                raw = events.encode(batch, sender=self.agent)
            self.session.append(self.folder, raw, flags=["\\Seen"])
            with self.db.write() as conn:
                events.mark_pushed(conn, [e.event_id for e in batch])
            report.pushed += len(batch)

    def _pull(self, report: TeamReport) -> None:
        with self.db.write() as conn:
            folder = st.ensure_folder(conn, self.account_id, self.folder, "events")
        if folder.uidnext is not None and self.session.selected != self.folder and self.session.status_ok:
            with contextlib.suppress(ProtocolError):  # refused: open the folder, as without STATUS
                quick = self.session.status(self.folder)  # no new events: no need to open the folder
                if quick.uidvalidity == folder.uidvalidity and quick.uidnext == folder.uidnext:
                    return
        status = self.session.select(self.folder, readonly=True)
        same_epoch = folder.uidvalidity == status.uidvalidity
        if same_epoch and folder.uidnext == status.uidnext:
            return
        # A new UIDVALIDITY means re-reading the whole folder: harmless, applying is idempotent.
        start = folder.uidnext if same_epoch and folder.uidnext else 1
        uids = self.session.uids_from(start)
        if uids:
            fetcher = self.fetcher_factory()
            fetcher.examine(self.folder)
            for i in range(0, len(uids), FETCH_BATCH):
                fetched = fetcher.fetch(uids[i : i + FETCH_BATCH])
                with self.db.write() as conn:
                    for item in fetched:
                        batch = events.decode(item.raw)
                        marks = sum(1 for e in batch if e.field in EPHEMERAL_FIELDS)
                        report.received += len(batch) - marks
                        new = events.apply_remote(conn, batch)
                        report.marks += sum(1 for e in new if e.field in EPHEMERAL_FIELDS)
                        report.applied += sum(1 for e in new if e.field not in EPHEMERAL_FIELDS)
        with self.db.write() as conn:
            st.save_folder_state(conn, folder.id, uidvalidity=status.uidvalidity, uidnext=status.uidnext,
                                 highestmodseq=status.highestmodseq)  # fmt: skip
