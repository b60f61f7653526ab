"""One pass over an account's outbox: recover interrupted sends, send, file copies in Sent.

The rules (and why each commit happens where it does) are in `outbox.py`'s docstring; this
module is the loop that follows them, holding one SMTP and one IMAP connection per pass.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, datetime

from tui_desk.config import Account, ConfigError
from tui_desk.mail.errors import AuthError, MailError, OfflineError, TlsError
from tui_desk.mail.imap import ImapSession
from tui_desk.mail.smtp import (
    DeliveryUnknown,
    SmtpSender,
    TemporaryFailure,
    file_copy,
    find_message_id,
    remove_copies,
    sent_folder,
)
from tui_desk.storage import outbox as store
from tui_desk.storage.db import Database
from tui_desk.tickets import outbox


class Drainer:
    def __init__(self, db: Database, account: Account, password: str, *, uncertain_wait: float) -> None:
        if account.smtp is None:
            raise ConfigError(f"account {account.name!r} has no SMTP server configured (smtp.host, smtp.port)")
        self.db = db
        self.account = account
        self.password = password
        self.uncertain_wait = uncertain_wait
        self.report = outbox.DrainReport()
        self.account_id = outbox.account_row(db, account)
        self._imap: ImapSession | None = None
        self._imap_failed = False
        self._sent_folder = ""
        self._smtp: SmtpSender | None = None

    # -- connections --------------------------------------------------------------------------
    def imap(self) -> ImapSession | None:
        """The IMAP session, or None when IMAP cannot be reached this pass (then nothing that
        needs it is decided: rows wait for the next pass)."""
        if self._imap is None and not self._imap_failed:
            try:
                self._imap = ImapSession(self.account.imap, self.account.username, self.password)
                self._sent_folder = sent_folder(self._imap, self.account.sent_folder)
            except MailError as exc:
                self._imap_failed = True
                self._imap = None
                self.report.reason = self.report.reason or f"cannot file or check sent mail: {exc}"
        return self._imap

    def smtp(self) -> SmtpSender:
        if self._smtp is None:
            assert self.account.smtp is not None
            self._smtp = SmtpSender(self.account.smtp, self.account.username, self.password)
        return self._smtp

    def drop_smtp(self) -> None:
        if self._smtp is not None:
            self._smtp.client.close()
        self._smtp = None

    def close(self) -> None:
        if self._smtp is not None:
            self._smtp.close()
        if self._imap is not None:
            self._imap.logout()
        self._smtp = self._imap = None

    # -- the pass -----------------------------------------------------------------------------
    def _rows(self, **kw: object) -> list[store.OutboxItem]:
        with self.db.read() as conn:
            return store.items(conn, account=self.account.name, **kw)  # type: ignore[arg-type]

    def run(self, limit: int | None = None) -> outbox.DrainReport:
        for item in self._rows(states=("sending",)):
            self.recover(item)
        for item in self._rows(states=("sent",), unfiled=True):
            self.file(item)
        due = self._rows(states=("queued",), due=datetime.now(UTC))
        for item in due if limit is None else due[:limit]:
            if not self.send(item):
                break
        return self.report

    def _evidence(self, item: store.OutboxItem) -> bool | None:
        """Is there a copy proving the server took it? None = cannot tell (IMAP down)."""
        with self.db.read() as conn:
            if store.local_copies(conn, item.message_id):
                return True
        session = self.imap()
        if session is None:
            return None
        if find_message_id(session, self._sent_folder, item.message_id):
            return True
        return bool(item.self_copy and find_message_id(session, "INBOX", item.message_id))

    def recover(self, item: store.OutboxItem) -> None:
        try:
            found = self._evidence(item)
        except MailError as exc:
            self.report.reason = str(exc)
            found = None
        if found is None:
            self.report.waiting.append(item.id)
            return
        if found:
            with self.db.write() as conn:
                outbox.record_sent(conn, item, self.account_id, filed=self.account.server_saves_sent)
            self.report.recovered.append(item.id)
            fresh = self._reload(item.id)
            if fresh is not None:
                self.file(fresh)
            return
        age = (datetime.now(UTC) - item.updated_at).total_seconds()
        if item.stage == "dot" and age < self.uncertain_wait:
            self.report.waiting.append(item.id)
            return
        with self.db.write() as conn:
            store.update(conn, item.id, state="queued", stage="")

    def _reload(self, item_id: int) -> store.OutboxItem | None:
        with self.db.read() as conn:
            return store.get(conn, item_id)

    def file(self, item: store.OutboxItem) -> None:
        """The copy in Sent (unless the server files it) and the check copy out of INBOX."""
        if not self.account.server_saves_sent:
            session = self.imap()
            if session is None:
                return
            try:
                file_copy(session, self._sent_folder, item.raw, item.message_id)
                if item.self_copy:
                    remove_copies(session, "INBOX", item.message_id)
            except MailError as exc:
                self.report.reason = f"could not file the copy in {self._sent_folder}: {exc}"
                return
        with self.db.write() as conn:
            store.update(conn, item.id, filed=True)

    def _fail(self, item: store.OutboxItem, exc: MailError) -> None:
        with self.db.write() as conn:
            store.update(conn, item.id, state="failed", stage="", error_kind=exc.kind, error=str(exc))
        self.report.failed.append((item.id, exc.kind, str(exc)))

    def send(self, item: store.OutboxItem) -> bool:
        """Send one queued reply; False when the pass should stop (connection or login gone)."""
        try:
            sender = self.smtp()
        except (AuthError, TlsError) as exc:
            self._fail(item, exc)
            self.report.state, self.report.reason = exc.kind, str(exc)
            return False
        except MailError as exc:  # offline: the row stays queued, untouched
            self.report.state, self.report.reason = exc.kind, str(exc)
            return False
        with self.db.write() as conn:
            current = store.get(conn, item.id)
            if current is None or current.state != "queued":
                return True  # changed under us (reopened for editing, deleted): skip
            store.update(conn, item.id, state="sending", stage="", attempts=item.attempts + 1)

        def before_dot() -> None:
            with self.db.write() as conn:
                store.update(conn, item.id, stage="dot")

        try:
            sender.send(item.raw, item.mail_from, item.rcpts, before_dot=before_dot)
        except DeliveryUnknown as exc:
            self.drop_smtp()
            self.report.waiting.append(item.id)
            self.report.state, self.report.reason = exc.kind, str(exc)
            return False
        except TemporaryFailure as exc:
            with self.db.write() as conn:
                store.update(conn, item.id, state="queued", stage="", error_kind=exc.kind, error=str(exc),
                             next_attempt_at=outbox.next_attempt(item.attempts + 1, datetime.now(UTC)))  # fmt: skip
            return True
        except OfflineError as exc:
            self.drop_smtp()
            with self.db.write() as conn:
                store.update(conn, item.id, state="queued", stage="", error_kind=exc.kind, error=str(exc))
            self.report.state, self.report.reason = exc.kind, str(exc)
            return False
        except MailError as exc:  # recipient refused, too large, rejected, protocol
            self._fail(item, exc)
            return True
        with self.db.write() as conn:
            outbox.record_sent(conn, item, self.account_id, filed=self.account.server_saves_sent)
        self.report.sent.append(item.id)
        fresh = self._reload(item.id)
        if fresh is not None and not fresh.filed:
            self.file(fresh)
        return True


def keep_draining(db: Database, account: Account, password: str, stop: threading.Event,
                  on_report: Callable[[outbox.DrainReport], None] | None = None, *,
                  poll_seconds: float = 30.0, max_backoff: float = 300.0) -> None:  # fmt: skip
    """The app worker's loop: drain, then wait `poll_seconds` (or until `stop`); while the
    server cannot be reached, wait 2 s doubling up to `max_backoff` instead, so replies go out
    soon after the connection is back without hammering a dead server."""
    backoff = 2.0
    while not stop.is_set():
        report = outbox.drain(db, account, password)
        if on_report is not None:
            on_report(report)
        if report.state in ("online", "busy"):
            backoff = 2.0
            stop.wait(poll_seconds)
        else:
            stop.wait(backoff)
            backoff = min(backoff * 2, max_backoff)
