"""Helpers for the ticket tests: build raw mail with `email.message.EmailMessage`, store it the
way sync and import do (parse -> store -> commit -> thread), and read tickets back."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path
from typing import Any

from tui_desk.mail.parse import parse_message
from tui_desk.storage.db import Database, cursor
from tui_desk.storage.tickets import add_agent
from tui_desk.tickets import desk, query, threading
from tui_desk.tickets.ingest import store

T0 = datetime(2026, 10, 1, 9, 0, tzinfo=UTC)
AGENT = "ana@desk.example"


def mail(
    *,
    frm: str = "Marko Novak <marko@stranka.si>",
    to: str = "Podpora <support@desk.example>",
    subject: str = "Težava z računom",
    body: str = "Pozdravljeni, račun ni pravilen.",
    msgid: str | None = None,
    in_reply_to: str | None = None,
    references: list[str] | None = None,
    date: datetime = T0,
    cc: str | None = None,
    charset: str = "utf-8",
    headers: dict[str, str] | None = None,
) -> bytes:
    msg = EmailMessage()
    msg["From"] = frm
    msg["To"] = to
    if cc:
        msg["Cc"] = cc
    msg["Subject"] = subject
    msg["Date"] = format_datetime(date)
    if msgid is not None:
        msg["Message-ID"] = f"<{msgid}>"
    if in_reply_to:
        msg["In-Reply-To"] = f"<{in_reply_to}>"
    if references:
        msg["References"] = " ".join(f"<{r}>" for r in references)
    for name, value in (headers or {}).items():
        msg[name] = value
    msg.set_content(body, charset=charset)
    return msg.as_bytes()


class Desk:
    """One database with the helpers the ticket tests need."""

    def __init__(self, path: Path) -> None:
        self.db = Database.in_dir(path)
        with self.db.write() as conn:
            cur = cursor(conn)
            cur.execute("INSERT INTO accounts (name, email, created_at) VALUES ('work', 'support@desk.example', ?)",
                        (str(T0),))  # fmt: skip
            self.account = int(cur.lastrowid or 0)
            self.folders: dict[str, int] = {}
            for name, special in (("INBOX", ""), ("Sent", "\\Sent"), ("TuiDesk/Events", ""), ("Archive", "")):
                cur.execute("INSERT INTO folders (account_id, name, special_use) VALUES (?, ?, ?)",
                            (self.account, name, special))  # fmt: skip
                self.folders[name] = int(cur.lastrowid or 0)
            add_agent(conn, AGENT, "Ana")

    def store(self, raw: bytes, folder: str | None = "INBOX", uid: int | None = None,
              internaldate: datetime | None = None) -> int:  # fmt: skip
        """Store without threading (a sync batch before its `assign` call)."""
        parsed = parse_message(raw, internaldate=internaldate)
        with self.db.write() as conn:
            where: dict[str, Any] = {"internaldate": internaldate}
            if folder is not None:
                where.update(account_id=self.account, folder_id=self.folders[folder], uid=uid or self._uid(conn))
            return store(conn, parsed, raw, **where)

    def _uid(self, conn: Any) -> int:
        return int(cursor(conn).execute("SELECT COALESCE(MAX(uid), 0) + 1 FROM messages").fetchone()[0])

    def add(self, raw: bytes, folder: str | None = "INBOX", internaldate: datetime | None = None) -> str:
        """Store and thread one message; returns its ticket id ("" if it is not a ticket's)."""
        mid = self.store(raw, folder, internaldate=internaldate)
        with self.db.write() as conn:
            return threading.assign(conn, [mid]).get(mid, "")

    def ticket_of(self, mid: int) -> str:
        with self.db.read() as conn:
            hit = cursor(conn).execute("SELECT ticket_id FROM messages WHERE id = ?", (mid,)).fetchone()
            if hit is None or hit[0] is None:
                return ""
            return str(desk.detail(conn, int(hit[0]))["id"])

    def detail(self, ref: str) -> dict[str, Any]:
        with self.db.read() as conn:
            return desk.detail(conn, ref)

    def refs(self, q: str = "", agent: str = AGENT) -> list[str]:
        with self.db.read() as conn:
            return [r["id"] for r in query.page(conn, q, limit=1000, agent=agent).rows]

    def close(self) -> None:
        self.db.close()


def days(n: float) -> timedelta:
    return timedelta(days=n)
