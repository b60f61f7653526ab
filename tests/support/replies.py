"""Helpers for the reply/outbox tests: a support desk on the test mail host, customer mail,
syncing with threading, and counting messages by Message-ID in a real mailbox."""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from pathlib import Path
from typing import Any

from support.accounts import account_for
from tui_desk.config import Account, Agent, Config
from tui_desk.storage import tickets as rows
from tui_desk.storage.db import Database
from tui_desk.tickets import desk, threading
from tui_desk.tickets.sync import AccountSync

AGENT = Agent("Ana Novak", "ana@example.test", "Ana Novak\nExample Support")


def customer_mail(frm: str, to: str, *, subject: str = "Printer broken", body: str = "It does not print.",
                  msgid: str | None = None, in_reply_to: str = "", references: str = "", cc: str = "",
                  headers: dict[str, str] | None = None) -> tuple[bytes, str]:  # fmt: skip
    msg = EmailMessage()
    msg["From"] = frm
    msg["To"] = to
    if cc:
        msg["Cc"] = cc
    msg["Subject"] = subject
    msg["Date"] = format_datetime(datetime.now(UTC))
    msg_id = msgid or make_msgid(domain="customer.example")
    msg["Message-ID"] = msg_id
    if in_reply_to:
        msg["In-Reply-To"] = in_reply_to
    if references:
        msg["References"] = references
    for name, value in (headers or {}).items():
        msg[name] = value
    msg.set_content(body)
    return msg.as_bytes(), msg_id.strip("<>")


@dataclass
class Desk:
    """One agent's tui-desk: database, settings and the support account on the mail host."""

    db: Database
    account: Account
    config: Config
    password: str

    def sync(self) -> None:
        syncer = AccountSync(self.db, self.account, self.password, on_stored=threading.assign)
        try:
            report = syncer.run_once()
        finally:
            syncer.close()
        assert report.ok, report.line()

    def ticket_of(self, message_id: str) -> str:
        with self.db.read() as conn:
            pk = rows.tickets_for_keys(conn, [message_id])[message_id][0]
            return str(rows.get_ticket(conn, rows.survivor(conn, pk))["ref"])  # type: ignore[index]

    def detail(self, ref: str) -> dict[str, Any]:
        with self.db.read() as conn:
            return desk.detail(conn, ref)


def make_desk(mailhost: Any, user: Any, path: Path, **account: Any) -> Desk:
    acc = account_for(mailhost, user, **account)
    return Desk(Database.in_dir(path), acc, Config(agent=AGENT, accounts=(acc,)), user.password)


def message_ids(mailhost: Any, user: str, folder: str = "INBOX") -> Counter[str]:
    """How many messages in the folder carry each Message-ID (read over IMAP)."""
    found: Counter[str] = Counter()
    with mailhost.dovecot.imap_client(user) as client:
        client.select_folder(folder, readonly=True)
        uids = client.search()
        if not uids:
            return found
        for data in client.fetch(uids, ["BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)]"]).values():
            raw = data[b"BODY[HEADER.FIELDS (MESSAGE-ID)]"].decode()
            hit = re.search(r"<([^>]+)>", raw)
            found[hit.group(1) if hit else ""] += 1
    return found


def fetch_all(mailhost: Any, user: str, folder: str = "INBOX") -> list[bytes]:
    with mailhost.dovecot.imap_client(user) as client:
        client.select_folder(folder, readonly=True)
        uids = client.search()
        return [d[b"BODY[]"] for d in client.fetch(uids, ["BODY.PEEK[]"]).values()] if uids else []
