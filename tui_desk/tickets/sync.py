"""Syncing an account: which folders, in what order, online/offline state, and push (IDLE).

`AccountSync.run_once()` brings the local replica up to date and returns a report; it never
raises for expected failures: a `MailError` becomes the account's state (offline, auth, tls,
protocol) with a plain reason, and nothing stored locally is touched. `watch()` keeps doing
that, woken by IDLE (or polling where IDLE is missing), or by the app when a local change
(a composing mark, a status) should reach the team now, reconnecting with backoff after drops.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime

from tui_desk.config import Account
from tui_desk.mail.errors import MailError, OfflineError
from tui_desk.mail.fastfetch import FastFetcher
from tui_desk.mail.imap import ImapSession
from tui_desk.storage import sync_state as st
from tui_desk.storage.db import Database
from tui_desk.tickets.bodies import index_bodies
from tui_desk.tickets.desk import agent_identity
from tui_desk.tickets.keywords import queue_status_keywords
from tui_desk.tickets.sync_folder import FolderReport, FolderSync, ProgressFn, StoredFn
from tui_desk.tickets.team_compact import AUTOMATIC, CompactPolicy
from tui_desk.tickets.team_sync import TeamReport, TeamSync

log = logging.getLogger(__name__)

IDLE_RENEW_SECONDS = 25 * 60  # RFC 2177: re-issue IDLE at least every 29 minutes
POLL_SECONDS = 15.0
"""IDLE watches one folder (INBOX); the others, TuiDesk/Events with colleagues' changes and
'being answered' marks among them, are checked this often. An unchanged pass costs a few
round trips (a no-change resync of 100,000 messages takes milliseconds), so colleagues' changes
show within ~15 s without loading the server."""
IDLE_SETTLE_SECONDS = 1.0
"""A delivery still being written when IDLE starts can go unreported until the server's next
own check (Dovecot 2.3: 30 s; caught in CI). One DONE this long after IDLE starts makes the
server look again, so such mail arrives within about a second instead."""
MAX_BACKOFF_SECONDS = 300.0


@dataclass(slots=True)
class SyncReport:
    account: str
    state: str = "online"
    """"online" after a good run, else the failure kind: offline, auth, tls, protocol."""
    reason: str = ""
    folders: list[FolderReport] = field(default_factory=list)
    team: TeamReport | None = None
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return self.state == "online"

    @property
    def new(self) -> int:
        return sum(f.new for f in self.folders)

    def line(self) -> str:
        if not self.ok:
            return f"{self.account}: {self.state}: {self.reason}"
        parts = [f"{self.new} new"]
        flags = sum(f.flags_changed for f in self.folders)
        removed = sum(f.removed for f in self.folders)
        held = sum(len(f.quarantined) for f in self.folders)
        if flags:
            parts.append(f"{flags} flag changes")
        if removed:
            parts.append(f"{removed} removed on the server")
        if held:
            parts.append(f"{held} set aside (see `tui-desk sync --quarantine`)")
        compaction = self.team.compaction if self.team else None
        if compaction and (compaction.snapshots or compaction.deleted or compaction.skipped):
            text = f"event log compacted ({compaction.snapshots} snapshots, {compaction.deleted} messages deleted"
            parts.append(text + (f"; {compaction.skipped})" if compaction.skipped else ")"))
        return f"{self.account}: {', '.join(parts)} in {self.seconds:.1f} s"


class AccountSync:
    """Owns the connections of one account and syncs its folders into one database."""

    def __init__(
        self,
        db: Database,
        account: Account,
        password: str,
        *,
        since: datetime | None = None,
        on_progress: ProgressFn | None = None,
        on_stored: StoredFn | None = None,
        extra_folders: tuple[str, ...] = (),
        agent: str | None = None,
        team: bool = True,
        compaction: CompactPolicy | None = AUTOMATIC,
    ) -> None:
        self.db = db
        self.account = account
        self._password = password
        self.since = since
        self.on_progress = on_progress
        self.on_stored = on_stored
        self.extra_folders = extra_folders
        self.agent = agent_identity(agent)
        self.team = team
        """Share ticket state through the mailbox's TuiDesk/Events folder."""
        self.compaction = compaction
        """When to compact that folder on the server (None: never from this machine)."""
        self.session: ImapSession | None = None
        self._fetcher: FastFetcher | None = None
        with db.write() as conn:
            self.account_id = st.ensure_account(conn, account.name, account.email)

    # -- connections --------------------------------------------------------------------------
    def _session(self) -> ImapSession:
        if self.session is None:
            self.session = ImapSession(self.account.imap, self.account.username, self._password)
        return self.session

    def _fetcher_factory(self) -> FastFetcher:
        if self._fetcher is None:
            self._fetcher = FastFetcher(self.account.imap, self.account.username, self._password)
        return self._fetcher

    def close(self) -> None:
        for conn in (self.session, self._fetcher):
            if conn is not None:
                conn.logout()
        self.session = None
        self._fetcher = None

    # -- one pass -----------------------------------------------------------------------------
    def folders_to_sync(self, session: ImapSession) -> list[tuple[str, str]]:
        """(name, special-use) pairs: the configured folders plus Sent (found by SPECIAL-USE), so
        our own replies join their tickets."""
        wanted: list[tuple[str, str]] = [(name, "") for name in self.account.folders]
        sent = self.account.sent_folder or session.find_special("\\Sent")
        if sent and sent not in {name for name, _ in wanted}:
            wanted.append((sent, "\\Sent"))
        for extra in self.extra_folders:
            if extra not in {name for name, _ in wanted}:
                wanted.append((extra, ""))
        return wanted

    def run_once(self) -> SyncReport:
        report = SyncReport(self.account.name)
        started = time.perf_counter()
        try:
            self._run_folders(report)
        except MailError as exc:
            report.state, report.reason = exc.kind, str(exc)
            self.close()  # a failed connection is never reused
        except Exception as exc:  # a bug must not kill a background sync: report it, keep going
            log.exception("sync of %s failed", self.account.name)
            report.state, report.reason = "error", f"internal error: {exc!r}"
            self.close()
        report.seconds = time.perf_counter() - started
        with self.db.write() as conn:
            st.set_account_status(conn, self.account_id, report.state, report.reason)
        return report

    def _run_folders(self, report: SyncReport) -> None:
        with self.db.write() as conn:
            queue_status_keywords(conn)  # pushed by the folder syncs below
        session = self._session()
        for name, special in self.folders_to_sync(session):
            folder = FolderSync(
                db=self.db, session=session, fetcher_factory=self._fetcher_factory,
                account_id=self.account_id, name=name, special_use=special, since=self.since,
                on_progress=self.on_progress, on_stored=self.on_stored,
            )  # fmt: skip
            report.folders.append(folder.run())
        if self.team:
            report.team = TeamSync(self.db, session, self._fetcher_factory, self.account_id, self.agent,
                                   self.compaction).run()  # fmt: skip
            if self.compaction is not None and self.compaction.force and report.team.compaction is not None:
                self.compaction = replace(self.compaction, force=False)  # forced once, then daily

    # -- push ---------------------------------------------------------------------------------
    def watch(
        self,
        stop: threading.Event,
        on_report: Callable[[SyncReport], None] | None = None,
        *,
        poll_seconds: float = POLL_SECONDS,
        first_backoff: float = 2.0,
        wake: threading.Event | None = None,
    ) -> None:
        """Sync, then wait for news (IDLE on the first folder, or polling), until `stop` is set.

        `wake`, when set, ends the wait within a second: a local change is pending and should
        be pushed now rather than at the next poll (IDLE only reports the server's news).
        After a failure it retries with exponential backoff (2 s doubling to 5 min); auth and TLS
        failures back off too, since the user may be fixing the settings meanwhile.
        """
        backoff = first_backoff
        if wake is None:
            wake = threading.Event()
        while not stop.is_set():
            wake.clear()  # what is pending now goes out in this pass; a later change sets it again
            report = self.run_once()
            if on_report:
                on_report(report)
            if report.ok:
                index_bodies(self.db, stop=stop.is_set)
            if not report.ok:
                stop.wait(backoff)
                backoff = min(backoff * 2, MAX_BACKOFF_SECONDS)
                continue
            backoff = first_backoff
            try:
                self._wait_for_news(stop, poll_seconds, wake)
            except MailError as exc:
                with self.db.write() as conn:
                    st.set_account_status(conn, self.account_id, exc.kind, str(exc))
                self.close()
                if on_report:
                    on_report(SyncReport(self.account.name, exc.kind, str(exc)))
                stop.wait(backoff)

    def _wait_for_news(self, stop: threading.Event, poll_seconds: float, wake: threading.Event) -> None:
        """Return when the server pushes news, after `poll_seconds` (other folders get checked
        then), or soon after `stop` or `wake` is set."""
        if wake.is_set():
            return  # changed during the pass that just ended: push it now
        session = self._session()
        deadline = time.monotonic() + min(poll_seconds, IDLE_RENEW_SECONDS)
        if not session.idle_supported:
            while not (stop.is_set() or wake.is_set()) and time.monotonic() < deadline:
                stop.wait(min(1.0, max(0.0, deadline - time.monotonic())))
            return
        watched = self.account.folders[0]
        status = session.select(watched, readonly=True)
        with self.db.read() as conn:
            folder = st.find_folder(conn, self.account_id, watched)
            present = st.present_count(conn, folder.id) if folder else -1
        if folder is None or status.uidnext != folder.uidnext or status.exists != present:
            return  # mail arrived between the sync and this SELECT: IDLE would not report it
        session.idle_start()
        idling, settle_at = True, time.monotonic() + IDLE_SETTLE_SECONDS
        try:
            while not (stop.is_set() or wake.is_set()) and time.monotonic() < deadline:
                wait = min(1.0, max(0.05, deadline - time.monotonic()))
                if settle_at:
                    wait = min(wait, max(0.05, settle_at - time.monotonic()))
                if session.idle_check(timeout=wait):
                    return
                if settle_at and time.monotonic() >= settle_at:
                    settle_at = 0.0
                    idling = False
                    if session.idle_done():
                        return  # mail that was in flight when IDLE began
                    session.idle_start()
                    idling = True
        finally:
            if idling:
                session.idle_done()


def sync_error_exit(report: SyncReport) -> int:
    """CLI exit status: 0 when online, 2 for every failure (one clear line already printed)."""
    return 0 if report.ok else 2


__all__ = ["AccountSync", "OfflineError", "SyncReport", "sync_error_exit"]
