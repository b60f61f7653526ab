"""A small, fixed help desk for the UI tests and snapshots: a dozen tickets from handwritten
mail, with quoted text and signatures, an attachment, a note, statuses, tags, and one
ticket whose subject and body carry Rich markup and terminal escape sequences.

Everything is deterministic: fixed dates, a fixed clock for "now", and the team events (which
stamp the wall clock) recorded with a frozen `time.time`, so a snapshot never changes by itself.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path
from unittest import mock

from ticketkit import AGENT, Desk

from tui_desk.config import Account, Agent, Config, Paths, Server
from tui_desk.storage.db import Database
from tui_desk.tickets import workflow
from tui_desk.tickets.service import DeskService

T0 = datetime(2026, 10, 1, 9, 0, tzinfo=UTC)
NOW = datetime(2026, 10, 3, 15, 30, tzinfo=UTC)
HOSTILE_SUBJECT = "[bold red]x[/] [@click=app.quit]q[/] \x1b]0;pwned\x07"
HOSTILE_BODY = ("Hello [bold red]x[/] [@click=app.quit]q[/]\nA title change: \x1b]0;pwned\x07 and "
                "\x1b[31mred\x1b[0m text.\n")  # fmt: skip
CONFIG = Config(
    agent=Agent("Ana Novak", AGENT, "Ana Novak\nExample Support"),
    accounts=(Account(name="work", email="support@desk.example", username="support",
                      imap=Server("mail.invalid", 993, "tls", timeout=2.0),
                      smtp=Server("mail.invalid", 587, "starttls", timeout=2.0), display_name="Example Support"),),
)  # fmt: skip

CUSTOMERS = [
    ("Marko Novak", "marko@stranka.si", "Račun št. 2211 je napačen", "Pozdravljeni, na računu je napačna davčna."),
    ("Emma Clarke", "emma@acme.com", "Refund for order 5531", "I was charged twice for order 5531. Please refund."),
    ("Ivana Babić", "ivana@tvrtka.hr", "Ne mogu se prijaviti", "Od jučer se ne mogu prijaviti u račun."),
    ("Иван Петров", "ivan@mail.ru", "Возврат денег за заказ 77", "С меня дважды списали оплату за заказ 77."),
    ("James Miller", "james@northwind.co.uk", "Delivery delayed", "My parcel was due last week."),
    ("Olivia Brown", "olivia@acme.com", "Question about pricing", "Do you offer a discount for annual plans?"),
    ("Luka Kovačič", "luka@podjetje.si", "Zamuda pri dostavi", "Paket bi moral prispeti prejšnji teden."),
    ("Noah Wilson", "noah@gmail.com", "Cannot log in", "The password reset mail never arrives."),
    ("Maja Horvat", "maja@siol.net", "Vprašanje o ceni", "Ali nudite popust za letno naročnino?"),
    ("Ava Taylor", "ava@outlook.com", "Invoice 8812 is wrong", "The invoice shows the wrong VAT number."),
]
QUOTED_BODY = ("Hello,\n\nthe invoice is still wrong, see the attached scan.\n\n"
               "On 2026-10-01 10:00, Example Support wrote:\n> We have corrected the invoice.\n> Best regards\n"
               "> Example Support\n\n-- \nEmma Clarke\nAcme Ltd., Accounts\n")  # fmt: skip


def raw_mail(frm: str, subject: str, body: str, when: datetime, msgid: str, *, in_reply_to: str = "",
             to: str = "Example Support <support@desk.example>", attachment: bytes | None = None) -> bytes:  # fmt: skip
    msg = EmailMessage()
    msg["From"] = frm
    msg["To"] = to
    msg["Subject"] = subject
    msg["Date"] = format_datetime(when)
    msg["Message-ID"] = f"<{msgid}>"
    if in_reply_to:
        msg["In-Reply-To"] = f"<{in_reply_to}>"
        msg["References"] = f"<{in_reply_to}>"
    msg.set_content(body)
    if attachment is not None:
        msg.add_attachment(attachment, maintype="application", subtype="pdf", filename="scan-2211.pdf")
    return msg.as_bytes()


def _frozen(moment: datetime) -> mock._patch[mock.MagicMock]:
    """Team events stamp the wall clock (HLC): freeze it so notes and audit lines are stable."""
    return mock.patch("tui_desk.tickets.model.time.time", return_value=moment.timestamp())


def build_desk(path: Path) -> dict[str, str]:
    """Fill a desk in `path`; returns name -> ticket ref for the tickets tests refer to."""
    kit = Desk(path)
    refs: dict[str, str] = {}
    for i, (name, addr, subject, body) in enumerate(CUSTOMERS):
        ref = kit.add(raw_mail(f"{name} <{addr}>", subject, body, T0 + timedelta(hours=3 * i), f"c{i}@customers"))
        refs[addr] = ref
    # Emma answers our reply, quoting it, with a signature and an attachment.
    ours = raw_mail("Example Support <support@desk.example>", "Re: Refund for order 5531",
                    "We have corrected the invoice.\nBest regards\nExample Support", T0 + timedelta(hours=30),
                    "r1@desk.example", in_reply_to="c1@customers", to="Emma Clarke <emma@acme.com>")  # fmt: skip
    kit.add(ours, "Sent")
    kit.add(raw_mail("Emma Clarke <emma@acme.com>", "Re: Refund for order 5531", QUOTED_BODY,
                     T0 + timedelta(hours=40), "c1b@customers", in_reply_to="r1@desk.example",
                     attachment=b"%PDF-1.4 scan"))  # fmt: skip
    # Emma's second, separate ticket (the requester's other tickets).
    refs["emma-2"] = kit.add(raw_mail("Emma Clarke <emma@acme.com>", "Password reset for the team",
                                      "Please reset the password of our second user.", T0 + timedelta(hours=20),
                                      "c1c@customers"))  # fmt: skip
    refs["hostile"] = kit.add(raw_mail("Mallory <mallory@evil.example>", HOSTILE_SUBJECT, HOSTILE_BODY,
                                       T0 + timedelta(hours=44), "evil@customers"))  # fmt: skip
    with _frozen(T0 + timedelta(hours=45)), kit.db.write() as conn:
        workflow.set_status(conn, refs["emma@acme.com"], "open", AGENT)
        workflow.assign_to(conn, refs["emma@acme.com"], "me", AGENT)
        workflow.add_tag(conn, refs["emma@acme.com"], "billing", AGENT)
        workflow.set_priority(conn, refs["emma@acme.com"], "high", AGENT)
        workflow.add_note(conn, refs["emma@acme.com"], "Checked with accounting: the second charge is real.", AGENT)
        workflow.set_status(conn, refs["james@northwind.co.uk"], "pending", AGENT)
        workflow.set_status(conn, refs["noah@gmail.com"], "solved", AGENT)
        workflow.set_priority(conn, refs["ivan@mail.ru"], "urgent", AGENT)
        workflow.set_status(conn, refs["ivan@mail.ru"], "open", AGENT)
        workflow.mark_read(conn, refs["marko@stranka.si"])
        workflow.mark_read(conn, refs["noah@gmail.com"])
    kit.close()
    return refs


def store_new_mail(data_dir: Path, raw: bytes) -> str:
    """Store and thread one message into the desk through its own connection, as a sync thread
    does; returns the ticket ref."""
    from tui_desk.mail.parse import parse_message
    from tui_desk.storage.db import cursor
    from tui_desk.tickets import threading
    from tui_desk.tickets.ingest import store

    db = Database.in_dir(data_dir)
    try:
        with db.write() as conn:
            cur = cursor(conn)
            folder = cur.execute("SELECT id, account_id FROM folders WHERE name = 'INBOX'").fetchone()
            uid = cur.execute("SELECT COALESCE(MAX(uid), 0) + 1 FROM messages").fetchone()[0]
            mid = store(conn, parse_message(raw), raw, account_id=folder[1], folder_id=folder[0], uid=uid,
                        internaldate=None)  # fmt: skip
            return threading.assign(conn, [mid]).get(mid, "")
    finally:
        db.close()


def ui_service(data_dir: Path, config: Config = CONFIG) -> DeskService:
    """A service over the desk in `data_dir` with a fixed clock, UTC times and no background sync."""
    paths = Paths(data_dir, data_dir / "config.toml")
    return DeskService(paths, config, db=Database.in_dir(data_dir), clock=lambda: NOW, tz=UTC,
                       background_sync=False)  # fmt: skip
