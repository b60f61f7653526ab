"""The outbox: every reply goes through a queue in SQLite and leaves exactly once (as far as
SMTP allows: see below).

States: queued -> sending -> sent, or failed (with the server's reason: login refused,
recipient refused, too large, rejected). Offline, replies stay queued and `drain` (called by
the sync loop / app worker, or `tui-desk outbox --send`) sends them when the server answers.

Exactly once, step by step:
1. `enqueue` stores the finished raw message, with its Message-ID fixed, before any attempt.
2. `drain` commits state `sending` (stage "") before the SMTP transaction starts.
3. `SmtpSender.send` sends everything but the final "." of DATA, then calls back and we commit
   stage "dot", then it sends the "." and reads the verdict. An SMTP server may deliver only
   after that "." (RFC 5321 4.1.1.4), so a crash at stage "" means *certainly not sent*.
4. On 250 we commit `sent` at once, in the same transaction as the ticket's changes (status,
   first response, the message stored into the conversation). Then the copy is filed in Sent
   (APPEND \\Seen, skipped if already there) and `filed` is committed.
5. A row found in `sending` by a later run (the sender was killed) is first looked for: in the
   local messages (sync may have fetched it), in the Sent folder (IMAP SEARCH HEADER
   Message-ID), and in INBOX for the delivery-check copy (below). Found: it is `sent`, never
   sent again. Not found at stage "": sent again at once. Not found at stage "dot": sent
   again once `uncertain_wait` has passed (time for a slow server to deliver the check copy).

The remaining window is the one SMTP itself has (RFC 1047): between sending the "." and
committing the server's 250, only the server knows whether it took the message. Filing in
Sent *before* SMTP would not help: the copy would be there whether or not SMTP happened, so
it cannot tell the two apart (it would turn a rare duplicate into a possibly lost reply
that looks sent). Instead, when the server does not file Sent itself, we add our own address
as an extra envelope recipient (never a header): a server that takes the message delivers
that copy to our INBOX, which is the evidence step 5 needs; once the reply is filed in Sent
the check copy is deleted. With `server_saves_sent` the server's own Sent copy is the
evidence. What is left: a server that accepted but delivers our check copy later than
`uncertain_wait`, or a crash inside that window on an account where the check copy cannot be
delivered; then a reply can go out twice, never zero times.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import Connection

from tui_desk.config import Account, Config
from tui_desk.mail import compose
from tui_desk.mail.parse import parse_message
from tui_desk.storage import outbox as store
from tui_desk.storage import sync_state
from tui_desk.storage import tickets as rows
from tui_desk.storage.db import Database
from tui_desk.storage.drafts import delete as delete_draft
from tui_desk.storage.drafts import insert as insert_draft
from tui_desk.tickets import composing, threading, workflow
from tui_desk.tickets.composer import Draft
from tui_desk.tickets.ingest import store as store_message
from tui_desk.tickets.model import check_value
from tui_desk.tickets.placeholders import leftover

UNCERTAIN_WAIT = 120.0
BACKOFF_FIRST = 30.0
BACKOFF_MAX = 1800.0


class ReplyProblems(ValueError):
    """The draft cannot be sent as it is; `problems` lists why, in plain words."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


class AutoReplyRefused(ValueError):
    """An automatic reply to automatic mail (RFC 3834): never sent."""


def problems(draft: Draft, *, placeholders: bool = True) -> list[str]:
    """What stops this draft from being sent (empty when it can go); `placeholders=False`
    leaves out unfilled `{{ }}` (for a deliberate "send anyway")."""
    found: list[str] = []
    if not draft.to and not draft.cc:
        found.append("no recipient")
    text = draft.full_text()
    if placeholders:
        found.extend(p.line(text) for p in leftover(text))
    found.extend(compose.check_attachments(draft.attachments))
    try:
        if draft.status:
            check_value("status", "set", draft.status)
    except ValueError as exc:
        found.append(str(exc))
    return found


def outgoing(draft: Draft, config: Config, account: Account, *, automatic: bool = False) -> compose.OutgoingMail:
    name = account.display_name or config.agent.name
    return compose.OutgoingMail(
        from_addr=(name, account.email), to=draft.to, cc=draft.cc, subject=draft.subject, text=draft.full_text(),
        message_id=draft.message_id, reply_to=[(name, account.email)], in_reply_to=draft.in_reply_to,
        references=draft.references, attachments=draft.attachments, date=datetime.now(UTC),
        auto_submitted="auto-replied" if automatic else "",
    )  # fmt: skip


def _refuse_automatic(db: Database, draft: Draft) -> None:
    with db.read() as conn:
        pk = rows.pk_for_ref(conn, draft.ticket_ref) if draft.ticket_ref else None
        ticket = rows.get_ticket(conn, rows.survivor(conn, pk)) if pk is not None else None
        copies = rows.messages_with_id(conn, draft.in_reply_to) if draft.in_reply_to else []
        marks = [r["auto_submitted"] for r in rows.messages_for_threading(conn, [c[0] for c in copies])]
    if (ticket and ticket["automatic"]) or any(not compose.may_auto_answer(m) for m in marks):
        raise AutoReplyRefused(f"{draft.ticket_ref}: the mail is automatic itself; an automatic reply could loop")


def enqueue(db: Database, draft: Draft, config: Config, account: Account, *, force: bool = False,
            automatic: bool = False) -> int:  # fmt: skip
    """Turn a draft into a queued message (the draft is gone, the outbox row holds it).

    Raises ReplyProblems (unfilled placeholders, no recipient, bad attachment; `force`
    skips only the placeholder check), HeaderInjection, AutoReplyRefused."""
    found = problems(draft, placeholders=not force)
    if found:
        raise ReplyProblems(found)
    if automatic:
        _refuse_automatic(db, draft)
    mail = outgoing(draft, config, account, automatic=automatic)
    raw = compose.to_bytes(mail)
    rcpts = compose.envelope_recipients(mail)
    self_copy = not account.server_saves_sent and account.email.lower() not in {r.lower() for r in rcpts}
    with db.write() as conn:
        if store.by_message_id(conn, draft.message_id) is not None:
            raise ReplyProblems([f"this reply ({draft.message_id}) is in the outbox already"])
        item_id = store.insert(
            conn, account=account.name, ticket_ref=draft.ticket_ref, agent=draft.agent, draft=draft.values(),
            message_id=draft.message_id, mail_from=account.email,
            rcpts=[*rcpts, account.email] if self_copy else rcpts, self_copy=self_copy, raw=raw,
            set_status=draft.status,
        )  # fmt: skip
        if draft.id:
            delete_draft(conn, draft.id)
        if draft.ticket_ref:
            composing.withdraw(conn, draft.ticket_ref, draft.agent)
    return item_id


def reopen_failed(db: Database, item_id: int) -> Draft:
    """A failed reply back into a draft (same Message-ID: nothing of it was sent) to edit and
    enqueue again."""
    with db.write() as conn:
        item = store.get(conn, item_id)
        if item is None or item.state != "failed":
            raise LookupError(f"outbox item {item_id} is not a failed reply")
        draft = Draft.from_values(item.draft)
        draft.id = insert_draft(conn, draft.values(), datetime.now(UTC))
        store.delete(conn, item_id)
    return draft


def retry(db: Database, item_id: int) -> None:
    """Queue a failed (or waiting) reply again as it is, for the next drain."""
    with db.write() as conn:
        item = store.get(conn, item_id)
        if item is None or item.state not in ("failed", "queued"):
            raise LookupError(f"outbox item {item_id} is not failed or queued")
        store.update(conn, item_id, state="queued", error_kind="", error="", next_attempt_at=None)


@dataclass(slots=True)
class DrainReport:
    sent: list[int] = field(default_factory=list)
    failed: list[tuple[int, str, str]] = field(default_factory=list)
    """(outbox id, kind, reason)"""
    waiting: list[int] = field(default_factory=list)
    """Left in `sending` because we could not yet tell whether the server has them."""
    recovered: list[int] = field(default_factory=list)
    """Found already sent after an interrupted run."""
    state: str = "online"
    reason: str = ""

    def line(self) -> str:
        parts = [f"{len(self.sent)} sent"]
        if self.recovered:
            parts.append(f"{len(self.recovered)} found already sent")
        if self.failed:
            parts.append(f"{len(self.failed)} failed")
        if self.waiting:
            parts.append(f"{len(self.waiting)} waiting for confirmation")
        text = ", ".join(parts)
        return text if self.state == "online" else f"{text}; {self.state}: {self.reason}"


@contextlib.contextmanager
def _drain_lock(db: Database) -> Iterator[bool]:
    """One drain per database at a time (the app worker and a CLI run must not both recover the
    same `sending` row). A killed process releases its lock with it."""
    try:
        import fcntl
    except ImportError:  # no flock: one process per data dir is the user's job
        yield True
        return
    path = Path(f"{db.path}.outbox.lock")
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        yield True
    finally:
        os.close(fd)


def drain(db: Database, account: Account, password: str, *, uncertain_wait: float = UNCERTAIN_WAIT,
          limit: int | None = None) -> DrainReport:  # fmt: skip
    """Resolve interrupted sends, send what is due, file copies in Sent. Never raises for mail
    failures: they end up in the report and in the rows."""
    from tui_desk.tickets.outbox_run import Drainer

    with _drain_lock(db) as mine:
        if not mine:
            return DrainReport(state="busy", reason="another tui-desk is sending this outbox")
        drainer = Drainer(db, account, password, uncertain_wait=uncertain_wait)
        try:
            return drainer.run(limit)
        finally:
            drainer.close()


def next_attempt(attempts: int, now: datetime) -> datetime:
    return now + timedelta(seconds=min(BACKOFF_FIRST * 2 ** max(attempts - 1, 0), BACKOFF_MAX))


def record_sent(conn: Connection, item: store.OutboxItem, account_id: int | None, *, filed: bool) -> None:
    """Mark sent and make the ticket show it: the message joins the conversation, status set,
    first response recorded (by the summary refresh). Runs in the caller's transaction."""
    store.update(conn, item.id, state="sent", stage="", sent_at=datetime.now(UTC), error_kind="", error="",
                 filed=filed)  # fmt: skip
    copies = rows.messages_with_id(conn, item.message_id)
    if not copies:
        parsed = parse_message(item.raw)
        mid = store_message(conn, parsed, item.raw, account_id=account_id, source="outbox")
        placed = threading.assign(conn, [mid])
        ref = placed.get(mid, item.ticket_ref)
    else:
        threading.assign(conn, [c[0] for c in copies])
        ticket_pk = next((c[1] for c in copies if c[1] is not None), None)
        ref = workflow.ref_of(conn, rows.survivor(conn, ticket_pk)) if ticket_pk else item.ticket_ref
    if item.set_status and ref:
        with contextlib.suppress(workflow.TicketNotFound):
            workflow.set_status(conn, ref, item.set_status, item.agent)


def account_row(db: Database, account: Account) -> int:
    with db.write() as conn:
        return sync_state.ensure_account(conn, account.name, account.email)


__all__ = [
    "AutoReplyRefused",
    "DrainReport",
    "ReplyProblems",
    "drain",
    "enqueue",
    "problems",
    "reopen_failed",
    "retry",
]
