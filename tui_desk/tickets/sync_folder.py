"""Syncing one IMAP folder into the database: the algorithm that makes the replica faithful.

Crash safety rests on one rule: the folder's UIDNEXT / HIGHESTMODSEQ are saved only after every
message they cover is committed. Messages are committed batch by batch (newest first, so the
first tickets are usable within seconds); a run killed at any instant leaves committed batches
plus the old state, and the next run diffs the server's UIDs against the stored ones, fetching
only what is missing. The unique (folder, uid) index makes a duplicate impossible.
"""

from __future__ import annotations

import logging
import queue
import threading as _threads
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import Connection

from tui_desk.mail.envelope import parse_envelope
from tui_desk.mail.errors import MailError, OfflineError, ProtocolError
from tui_desk.mail.fastfetch import FastFetcher, Fetched
from tui_desk.mail.imap import FolderStatus, ImapSession
from tui_desk.mail.parse import parse_message
from tui_desk.storage import sync_state as st
from tui_desk.storage.db import Database
from tui_desk.storage.messages import compress, index_messages
from tui_desk.tickets import apply, gcpause, threading
from tui_desk.tickets.envelope_worker import EnvelopeWorker, Parsed
from tui_desk.tickets.ingest import store

log = logging.getLogger(__name__)
_Downloaded = tuple[list[int], "list[Fetched | _Failed] | BaseException", "Future[list[Parsed]] | None"]

BATCH_MESSAGES = 1000  # threading pays a fixed cost per batch; the first 1,000 tickets still show within ~1 s
BATCH_BYTES = 16 * 1024 * 1024
MAX_MESSAGE_BYTES = 64 * 1024 * 1024
DEFER_BODIES_ABOVE = 200
WORKER_ABOVE = 3000
"""Starting the envelope worker costs ~0.5 s of the other core; below this it does not pay."""

ProgressFn = Callable[[str, int, int], None]
"""(folder, done, total)"""
StoredFn = Callable[[Connection, list[int]], None]
"""Called inside the batch's transaction with the new message row ids (threading hooks here)."""


@dataclass(slots=True)
class FolderReport:
    name: str
    new: int = 0
    flags_changed: int = 0
    removed: int = 0
    quarantined: list[tuple[int, str]] = field(default_factory=list)
    remapped: bool = False
    mode: str = ""
    """"first", "incremental", "unchanged" or "remap": which path the sync took."""


@dataclass(slots=True)
class FolderSync:
    db: Database
    session: ImapSession
    fetcher_factory: Callable[[], FastFetcher]
    account_id: int
    name: str
    special_use: str = ""
    since: datetime | None = None
    on_progress: ProgressFn | None = None
    on_stored: StoredFn | None = None
    max_message_bytes: int = MAX_MESSAGE_BYTES
    report: FolderReport = field(init=False)
    _defer_bodies: bool = field(init=False, default=False)

    def __post_init__(self) -> None:
        self.report = FolderReport(self.name)

    # -- entry point --------------------------------------------------------------------------
    def run(self) -> FolderReport:
        with self.db.write() as conn:
            folder = st.ensure_folder(conn, self.account_id, self.name, self.special_use)
        self._push_flag_ops(folder.id)
        if self._unchanged_by_status(folder):
            return self.report
        status = self.session.select(self.name, readonly=True)
        if folder.uidvalidity is not None and folder.uidvalidity != status.uidvalidity:
            self._remap(folder.id, status)
            folder.uidnext = None
        if folder.uidnext is None:
            self.report.mode = self.report.mode or "first"
            self._full(folder.id, status)
        else:
            self._incremental(folder, status)
        return self.report

    def _unchanged_by_status(self, folder: st.FolderState) -> bool:
        """Whether STATUS shows the folder exactly as we left it, so it need not be opened: the
        no-change resync of a big mailbox then costs a millisecond of the server's time instead
        of its reading the whole index on SELECT. Only with CONDSTORE (without HIGHESTMODSEQ a
        flag change would not show) and for a folder that is not the one selected."""
        if folder.uidnext is None or folder.highestmodseq is None or not self.session.condstore:
            return False
        if self.session.selected == self.name or not self.session.status_ok:
            return False
        try:
            status = self.session.status(self.name)
        except ProtocolError as exc:  # the server refused STATUS: open the folder, as without it
            log.info("tui-desk sync: STATUS %s refused (%s); opening folders instead", self.name, exc)
            return False
        with self.db.read() as conn:
            present = st.present_count(conn, folder.id)
        if (status.uidvalidity, status.uidnext, status.exists, status.highestmodseq) != (
            folder.uidvalidity, folder.uidnext, present, folder.highestmodseq
        ):  # fmt: skip
            return False
        self._unchanged(folder.id, status)
        return True

    def _unchanged(self, folder_id: int, status: FolderStatus) -> None:
        self.report.mode = "unchanged"
        with self.db.write() as conn:
            st.save_folder_state(conn, folder_id, uidvalidity=status.uidvalidity, uidnext=status.uidnext,
                                 highestmodseq=status.highestmodseq)  # fmt: skip

    # -- the three paths ----------------------------------------------------------------------
    def _full(self, folder_id: int, status: FolderStatus) -> None:
        """First sync (or resumed first sync): everything on the server we do not hold."""
        server = set(self.session.uids_since(self.since) if self.since else self.session.all_uids())
        with self.db.read() as conn:
            local = st.local_uids(conn, folder_id, include_removed=True)
        self._download(folder_id, sorted(server - local, reverse=True))
        with self.db.write() as conn:
            vanished = st.local_uids(conn, folder_id) - server
            if vanished and not self.since:
                self.report.removed += _remove(conn, folder_id, vanished)
            self._refresh_flags(conn, folder_id, sorted(server & local))
            st.save_folder_state(conn, folder_id, uidvalidity=status.uidvalidity, uidnext=status.uidnext,
                                 highestmodseq=status.highestmodseq)  # fmt: skip

    def _incremental(self, folder: st.FolderState, status: FolderStatus) -> None:
        modseq_known = status.highestmodseq is not None and folder.highestmodseq is not None
        with self.db.read() as conn:
            present = st.present_count(conn, folder.id)
        if (
            status.uidnext == folder.uidnext
            and status.exists == present
            and modseq_known
            and status.highestmodseq == folder.highestmodseq
        ):
            self._unchanged(folder.id, status)
            return
        self.report.mode = "incremental"
        new = self.session.uids_from(folder.uidnext or 1) if status.uidnext != folder.uidnext else []
        with self.db.read() as conn:
            local = st.local_uids(conn, folder.id, include_removed=True)
        missing = sorted(set(new) - local, reverse=True)
        self._download(folder.id, missing)
        with self.db.write() as conn:
            present_now = st.present_count(conn, folder.id)
            if status.exists != present_now:
                # Something was expunged (or a UID below UIDNEXT appeared): only now pay for
                # the full UID list, so an unchanged mailbox never does.
                server = set(self.session.all_uids())
                gone = st.local_uids(conn, folder.id) - server
                self.report.removed += _remove(conn, folder.id, gone)
                late = sorted(server - st.local_uids(conn, folder.id, include_removed=True), reverse=True)
            else:
                late = []
            if modseq_known:
                assert folder.highestmodseq is not None
                changed = [u for u in self.session.changed_since(folder.highestmodseq) if u not in set(missing)]
                self._refresh_flags(conn, folder.id, changed)
            else:
                self._refresh_flags(conn, folder.id, sorted(st.local_uids(conn, folder.id)))
        if late:
            self._download(folder.id, late)
        with self.db.write() as conn:
            st.save_folder_state(conn, folder.id, uidvalidity=status.uidvalidity, uidnext=status.uidnext,
                                 highestmodseq=status.highestmodseq)  # fmt: skip

    def _remap(self, folder_id: int, status: FolderStatus) -> None:
        """UIDVALIDITY changed: every UID we hold is void. Re-identify messages by Message-ID and
        size so nothing is fetched twice and no ticket loses its history."""
        self.report.remapped = True
        self.report.mode = "remap"
        server_ids = self.session.fetch_ids(self.session.all_uids())
        by_key: dict[tuple[str, int], list[int]] = {}
        for uid, key in sorted(server_ids.items()):
            by_key.setdefault(key, []).append(uid)
        with self.db.write() as conn:
            mapping: dict[int, int | None] = {}
            for row_id, message_id, size in st.messages_for_remap(conn, folder_id):
                uids = by_key.get((message_id, size)) or by_key.get((message_id, size + 0))
                mapping[row_id] = uids.pop(0) if uids else None
            st.reassign_uids(conn, folder_id, mapping)
            st.save_folder_state(conn, folder_id, uidvalidity=status.uidvalidity, uidnext=None, highestmodseq=None)

    # -- flags --------------------------------------------------------------------------------
    def _refresh_flags(self, conn: Connection, folder_id: int, uids: Sequence[int]) -> None:
        if not uids:
            return
        server = self.session.fetch_flags(uids)
        changes = {uid: tuple(f for f in flags if f != "\\Recent") for uid, flags in server.items()}
        self.report.flags_changed += len(st.update_flags(conn, folder_id, changes))

    def _push_flag_ops(self, folder_id: int) -> None:
        """Local read/answered/flagged changes go to the server before we read its flags back."""
        with self.db.read() as conn:
            ops = st.pending_flag_ops(conn, folder_id)
        if not ops:
            return
        status = self.session.select(self.name, readonly=False)
        keywords_ok = "\\*" in status.permanent_flags
        for _op_id, uid, add, remove in ops:
            if not keywords_ok:  # the server would refuse (or silently drop) new keywords
                add = [f for f in add if f.startswith("\\")]
                remove = [f for f in remove if f.startswith("\\")]
            if add or remove:
                self.session.store_flags([uid], add=add, remove=remove)
        with self.db.write() as conn:
            st.drop_flag_ops(conn, [op[0] for op in ops])

    # -- downloading --------------------------------------------------------------------------
    def _batches(self, fetcher: FastFetcher, uids: list[int], sizes: dict[int, int]) -> Iterator[list[int]]:
        batch: list[int] = []
        size = 0
        for uid in uids:
            batch.append(uid)
            size += sizes.get(uid, 0)
            if len(batch) >= BATCH_MESSAGES or size >= BATCH_BYTES:
                yield batch
                batch, size = [], 0
        if batch:
            yield batch

    def _download(self, folder_id: int, uids: list[int]) -> None:
        if not uids:
            return
        fetcher = self.fetcher_factory()
        fetcher.examine(self.name)
        sizes = fetcher.sizes(uids)
        wanted = [u for u in uids if u in sizes]  # gone since we listed them
        too_big = [u for u in wanted if sizes[u] > self.max_message_bytes]
        if too_big:
            self._quarantine_big(fetcher, folder_id, too_big, sizes)
        wanted = [u for u in wanted if sizes[u] <= self.max_message_bytes]
        total, done = len(wanted), 0
        self._defer_bodies = total > DEFER_BODIES_ABOVE
        results: queue.Queue[_Downloaded] = queue.Queue(maxsize=2)
        # Big first syncs parse envelopes in a second process (tickets.envelope_worker).
        helper = EnvelopeWorker() if total >= WORKER_ABOVE else None

        def produce() -> None:
            # Runs on its own thread: the next batch downloads while this one is parsed and stored.
            for n, batch in enumerate(self._batches(fetcher, wanted, sizes)):
                try:
                    fetched = self._fetch_batch(fetcher, batch)
                    parsed = None
                    if helper is not None and n > 0:  # the first batch is parsed here while the worker starts
                        parsed = helper.submit([(f.uid, f.raw, f.internaldate) for f in fetched
                                                if isinstance(f, Fetched)])  # fmt: skip
                    else:
                        # zlib releases the GIL: compressing here overlaps with storing on the main thread.
                        for item in fetched:
                            if isinstance(item, Fetched):
                                item.compressed = compress(item.raw)
                    results.put((batch, fetched, parsed))
                except BaseException as exc:  # handed to the consumer, which re-raises
                    results.put((batch, exc, None))
                    return
            results.put(([], [], None))

        worker = _threads.Thread(target=produce, name=f"fetch {self.name}", daemon=True)
        worker.start()
        try:
            while True:
                batch, got, parsed = results.get()
                if isinstance(got, BaseException):
                    raise got
                if not batch:
                    break
                with gcpause.paused():
                    self._store_batch(folder_id, batch, got, _worker_result(parsed))
                done += len(batch)
                if self.on_progress:
                    self.on_progress(self.name, done, total)
        finally:
            worker.join(timeout=60)
            if helper is not None:
                helper.close()

    def _fetch_batch(self, fetcher: FastFetcher, batch: list[int]) -> list[Fetched | _Failed]:
        """Fetch a batch; if the server refuses it, split it to find the one bad message."""
        try:
            return fetcher.fetch(batch)
        except ProtocolError as exc:
            if len(batch) == 1:
                return [_Failed(batch[0], str(exc))]
            mid = len(batch) // 2
            return self._fetch_batch(fetcher, batch[:mid]) + self._fetch_batch(fetcher, batch[mid:])

    def _quarantine_big(self, fetcher: FastFetcher, folder_id: int, uids: list[int], sizes: dict[int, int]) -> None:
        heads = {f.uid: f.raw for f in fetcher.fetch(uids, headers_only=True)}
        with self.db.write() as conn:
            for uid in uids:
                reason = f"too large to download ({sizes[uid] / 1e6:.1f} MB; limit {self.max_message_bytes / 1e6:.0f} MB)"
                st.quarantine(conn, folder_id, uid, reason, heads.get(uid), sizes[uid])
                self.report.quarantined.append((uid, reason))

    def _store_batch(self, folder_id: int, batch: list[int], fetched: list[Fetched | _Failed],
                     ready: dict[int, Parsed] | None = None) -> None:  # fmt: skip
        got = {f.uid: f for f in fetched}
        ready = ready or {}
        new_ids: list[int] = []
        # Big first syncs store envelopes now and parse bodies in a second pass (tickets.bodies).
        parse = parse_envelope if self._defer_bodies else parse_message
        with self.db.write() as conn:
            local = st.held_uids(conn, folder_id, batch)
            for uid in batch:
                item = got.get(uid)
                if uid in local:
                    continue  # stored by an earlier, interrupted run
                if isinstance(item, _Failed):
                    st.quarantine(conn, folder_id, uid, f"the server would not send it: {item.reason}", None, 0)
                    self.report.quarantined.append((uid, item.reason))
                    continue
                if item is None:
                    continue  # expunged between listing and fetching
                done = ready.get(uid)
                if done is not None:
                    parsed, item.compressed = done[1], done[2]
                else:
                    parsed = parse(item.raw, internaldate=item.internaldate)
                flags = " ".join(sorted(set(item.flags) - {"\\Recent"}))
                row_id = store(conn, parsed, item.raw, compressed=item.compressed, index=False, flags=flags,
                               internaldate=item.internaldate,
                               account_id=self.account_id, folder_id=folder_id, uid=uid,
                               source=f"imap:{self.name}")  # fmt: skip
                new_ids.append(row_id)
            index_messages(conn, new_ids)
            if new_ids:
                # Threading runs in the same transaction: a message is never visible unthreaded.
                threading.assign(conn, new_ids)
                if self.on_stored:
                    self.on_stored(conn, new_ids)
        self.report.new += len(new_ids)


def _remove(conn: Connection, folder_id: int, uids: set[int]) -> int:
    """Mark mail expunged on the server as removed (it stays in its ticket's history) and
    refresh the tickets' counts and snippets."""
    tickets = st.tickets_of(conn, folder_id, uids)
    n = st.mark_removed(conn, folder_id, uids)
    for pk in tickets:
        apply.refresh(conn, pk)
    return n


def _worker_result(parsed: Future[list[Parsed]] | None) -> dict[int, Parsed]:
    """The worker's records by UID; empty if it failed (the batch is then parsed here: a crashed
    or killed helper process costs speed, never a message)."""
    if parsed is None:
        return {}
    try:
        return {p[0]: p for p in parsed.result()}
    except Exception as exc:  # BrokenProcessPool, a pickling error...
        log.warning("tui-desk sync: envelope worker failed (%s); parsing in-process", exc)
        return {}


@dataclass(slots=True)
class _Failed:
    """A UID the server refused to send: quarantined, so one bad message never blocks the rest."""

    uid: int
    reason: str


__all__ = ["FolderReport", "FolderSync", "MailError", "OfflineError"]
