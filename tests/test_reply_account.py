"""Several accounts: a reply goes out through the account the ticket's mail came in on, not
through the first account in the settings (service level, two accounts in the config)."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from email import message_from_bytes
from pathlib import Path

from support.ui_desk import CONFIG, T0, raw_mail, ui_service

from tui_desk.config import Account, Config, Server
from tui_desk.mail.parse import parse_message
from tui_desk.storage import outbox as outbox_rows
from tui_desk.storage.db import Database, cursor
from tui_desk.tickets import templates as tpl
from tui_desk.tickets import threading
from tui_desk.tickets.ingest import store

Desk = tuple[Path, dict[str, str]]
SALES = Account(name="sales", email="sales@desk.example", username="sales",
                imap=Server("mail.invalid", 993, "tls", timeout=2.0),
                smtp=Server("mail.invalid", 587, "starttls", timeout=2.0), display_name="Example Sales")  # fmt: skip
TWO = replace(CONFIG, accounts=(*CONFIG.accounts, SALES))
"""`work` (the desk's mail came in on it) first, then `sales`."""


def _store(data: Path, raw: bytes, account: str | None) -> str:
    """Store and thread one message as `account`'s sync would (None: imported from a file)."""
    db = Database.in_dir(data)
    try:
        with db.write() as conn:
            cur = cursor(conn)
            where: dict[str, object] = {"internaldate": None}
            if account is not None:
                hit = cur.execute("SELECT id FROM accounts WHERE name = ?", (account,)).fetchone()
                if hit is None:
                    cur.execute("INSERT INTO accounts (name, email, created_at) VALUES (?, ?, ?)",
                                (account, f"{account}@desk.example", str(T0)))  # fmt: skip
                    acc = int(cur.lastrowid or 0)
                    cur.execute("INSERT INTO folders (account_id, name, special_use) VALUES (?, 'INBOX', '')", (acc,))
                else:
                    acc = int(hit[0])
                folder = cur.execute("SELECT id FROM folders WHERE account_id = ? AND name = 'INBOX'", (acc,)).fetchone()
                uid = cur.execute("SELECT COALESCE(MAX(uid), 0) + 1 FROM messages").fetchone()[0]
                where.update(account_id=acc, folder_id=folder[0], uid=uid)
            mid = store(conn, parse_message(raw), raw, **where)  # type: ignore[arg-type]
            return threading.assign(conn, [mid]).get(mid, "")
    finally:
        db.close()


def test_a_reply_goes_out_through_the_account_the_mail_came_in_on(ui_desk: Desk) -> None:
    data, refs = ui_desk
    sales_ref = _store(data, raw_mail("Zoe King <zoe@client.example>", "Quote for 40 seats", "Price please.",
                                      T0 + timedelta(days=1), "zoe1@client.example",
                                      to="Sales <sales@desk.example>"), "sales")  # fmt: skip
    service = ui_service(data, TWO)
    assert service.reply_account(sales_ref).name == "sales"
    assert service.reply_account(refs["emma@acme.com"]).name == "work"
    draft = service.open_reply(sales_ref)
    assert draft.account == "sales"
    item = service.send(draft)
    with service.db.read() as conn:
        queued = next(i for i in outbox_rows.items(conn) if i.id == item)
    assert queued.account == "sales" and queued.mail_from == "sales@desk.example"
    assert "sales@desk.example" in message_from_bytes(queued.raw)["From"]
    # and a reply to the other ticket still goes through the first account
    other = service.open_reply(refs["marko@stranka.si"], "reply")
    assert other.account == "work"


def test_templates_fill_in_the_replying_account(ui_desk: Desk) -> None:
    data, _refs = ui_desk
    ref = _store(data, raw_mail("Zoe King <zoe@client.example>", "Quote", "Price please.", T0 + timedelta(days=1),
                                "zoe2@client.example", to="sales@desk.example"), "sales")  # fmt: skip
    service = ui_service(data, TWO)
    with service.db.write() as conn:
        tpl.save(conn, "Signed", "Regards from {{account.email}}")
    draft = service.open_reply(ref)
    assert service.preview_template(draft, "Signed").text == "Regards from sales@desk.example"


def test_imported_mail_replies_from_the_address_the_customer_wrote_to(ui_desk: Desk) -> None:
    data, _refs = ui_desk
    ref = _store(data, raw_mail("Zoe King <zoe@client.example>", "Old quote", "From the archive.",
                                T0 + timedelta(days=1), "zoe3@client.example",
                                to="Example Sales <SALES@desk.example>"), None)  # fmt: skip
    service = ui_service(data, TWO)
    assert service.reply_account(ref).name == "sales"
    only_work = ui_service(data, Config(agent=CONFIG.agent, accounts=CONFIG.accounts))
    assert only_work.reply_account(ref).name == "work", "no such account configured: the first one"


async def test_the_composer_says_which_address_the_reply_comes_from(ui_desk: Desk) -> None:
    from support.pilot import SIZE, app_for, plain

    from tui_desk.screens.composer import ComposerScreen
    from tui_desk.screens.ticket_list import TicketList

    data, _refs = ui_desk
    ref = _store(data, raw_mail("Zoe King <zoe@client.example>", "Quote", "Price please.", T0 + timedelta(days=9),
                                "zoe4@client.example", to="sales@desk.example"), "sales")  # fmt: skip
    app = app_for(data, ui_service(data, TWO))
    async with app.run_test(size=SIZE) as pilot:
        app.screen.query_one(TicketList).select_ref(ref)
        await pilot.press("r")
        assert isinstance(app.screen, ComposerScreen) and app.screen.draft.account == "sales"
        assert "from sales@desk.example" in plain(app.screen.query_one("#composer-title"))
