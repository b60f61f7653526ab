"""The terminal UI against the real test mail host (Dovecot + SMTP): setting up an account with
a wrong and then the right password, replying with a template, and new mail arriving through
the background sync while the agent looks at the list."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from rich.text import Text
from support.replies import AGENT, customer_mail, fetch_all, make_desk
from textual.widgets import Input, Select, Static, TextArea

from tui_desk.app import TuiDeskApp, make_app
from tui_desk.config import Config, Paths, load_config
from tui_desk.credentials import SERVICE, set_password
from tui_desk.screens.composer import ComposerScreen
from tui_desk.screens.main import MainScreen
from tui_desk.screens.setup import SetupScreen
from tui_desk.screens.template_picker import TemplatePicker
from tui_desk.screens.ticket import TicketScreen
from tui_desk.screens.ticket_list import TicketList
from tui_desk.storage import outbox as outbox_rows
from tui_desk.tickets.service import DeskService

SIZE = (120, 36)


async def wait_until(pilot: Any, condition: Callable[[], bool], timeout: float = 15.0, what: str = "") -> None:
    """Let the app run (workers, messages) until `condition` holds."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what or condition}")
        await pilot.pause(0.05)


def _plain(widget: Any) -> str:
    content = widget.content
    return content.plain if isinstance(content, Text) else str(content)


async def _type(pilot: Any, selector: str, text: str) -> None:
    await pilot.click(selector)
    await pilot.press(*text)


async def test_setup_with_a_wrong_then_the_right_password(mailhost: Any, mail_user: Any, smtp_server: Any,
                                                          tmp_path: Path, memory_keyring: Any) -> None:  # fmt: skip
    paths = Paths(tmp_path / "data", tmp_path / "config.toml")
    service = DeskService(paths, Config(), background_sync=False)
    app = make_app(paths, Config(), service=service)
    async with app.run_test(size=SIZE) as pilot:
        assert isinstance(app.screen, SetupScreen)
        screen = app.screen
        await _type(pilot, "#email", mail_user.address)
        await _type(pilot, "#password", "not-the-password")
        # the rest as a paste would fill it (typing each key of a host name adds nothing to the test)
        screen.query_one("#username", Input).value = mail_user.name
        screen.query_one("#imap-host", Input).value = mailhost.host
        screen.query_one("#smtp-host", Input).value = mailhost.host
        screen.query_one("#imap-security", Select).value = "starttls"
        await pilot.pause()
        assert screen.query_one("#imap-port", Input).value == "143", "the usual port follows the security mode"
        screen.query_one("#imap-port", Input).value = str(mailhost.imap_port)
        screen.query_one("#smtp-port", Input).value = str(mailhost.smtp_port)
        screen.query_one("#ca-file", Input).value = str(mailhost.ca_file)
        screen.query_one("#agent-name", Input).value = "Ana Novak"

        await pilot.press("ctrl+t")
        results = screen.query_one("#results", Static)
        await wait_until(pilot, lambda: "did not work" in _plain(results), what="the failed test")
        text = _plain(results)
        assert f"✗ IMAP {mailhost.host}:{mailhost.imap_port}: the server refused the user name or password" in text
        assert f"✗ SMTP {mailhost.host}:{mailhost.smtp_port}: the server refused the user name or password" in text

        await pilot.click("#password")
        await pilot.press("end", *["backspace"] * len("not-the-password"), *mail_user.password)
        await pilot.press("ctrl+t")
        await wait_until(pilot, lambda: "Everything works" in _plain(results), what="the good test")
        text = _plain(results)
        assert f"✓ IMAP {mailhost.host}:{mailhost.imap_port}: logged in as {mail_user.name}" in text
        assert f"✓ SMTP {mailhost.host}:{mailhost.smtp_port}" in text

        await pilot.press("ctrl+s")
        await wait_until(pilot, lambda: isinstance(app.screen, MainScreen), what="the main screen")
    saved = load_config(paths.config_file)
    account = saved.account("support")
    assert (account.email, account.username, account.imap.port, account.imap.security) == (
        mail_user.address, mail_user.name, mailhost.imap_port, "starttls")
    assert saved.agent.name == "Ana Novak" and saved.agent.email == mail_user.address
    assert memory_keyring.get_password(SERVICE, "support") == mail_user.password
    assert mail_user.password not in paths.config_file.read_text(), "the password stays out of the file"


def _desk_service(mailhost: Any, support: Any, path: Path, *, sync: bool) -> tuple[Any, DeskService]:
    desk = make_desk(mailhost, support, path)
    set_password(desk.account.name, desk.password)
    service = DeskService(Paths(path, path / "config.toml"), desk.config, db=desk.db, background_sync=sync)
    return desk, service


async def test_open_ticket_reply_with_template_and_set_pending(mailhost: Any, make_mail_user: Any,
                                                               smtp_server: Any, tmp_path: Path) -> None:  # fmt: skip
    support, customer = make_mail_user(), make_mail_user()
    desk, service = _desk_service(mailhost, support, tmp_path / "desk", sync=False)
    raw, _mid = customer_mail(f"Janez Kranjc <{customer.address}>", support.address, msgid="<c1@customer.example>")
    mailhost.dovecot.deliver(support.name, raw, sender=customer.address)
    desk.sync()
    app: TuiDeskApp = make_app(service.paths, service.config, service=service)
    async with app.run_test(size=SIZE) as pilot:
        tickets = app.screen.query_one(TicketList)
        assert tickets.total == 1
        ref = tickets.current.ref  # type: ignore[union-attr]
        await pilot.press("enter")
        assert isinstance(app.screen, TicketScreen)
        await pilot.press("r")
        composer = app.screen
        assert isinstance(composer, ComposerScreen)
        assert composer.query_one("#to", Input).value == f"Janez Kranjc <{customer.address}>"
        assert composer.query_one("#subject", Input).value == f"Re: [#{ref}] Printer broken"
        await pilot.press("ctrl+t")
        assert isinstance(app.screen, TemplatePicker)
        await pilot.press(*"thanks look", "enter")
        assert app.screen is composer
        body = composer.query_one("#reply-body", TextArea).text
        assert body.startswith("Hello Janez,") and AGENT.name in body
        assert composer.query_one("#send-status", Select).value == "pending"
        await pilot.press("ctrl+s")
        await wait_until(pilot, lambda: isinstance(app.screen, TicketScreen), what="the composer to close")
        with service.db.read() as conn:
            items = outbox_rows.items(conn)
        await wait_until(pilot, lambda: _states(service) == ["sent"], what="the reply to be sent")
        await wait_until(pilot, lambda: app.screen.detail.status == "pending",  # type: ignore[attr-defined]
                         what="the ticket screen to show pending")  # fmt: skip
        assert len(items) == 1
        assert [m.ours for m in service.detail(ref).messages] == [False, True]
    got = fetch_all(mailhost, customer.name)
    assert len(got) == 1 and b"Hello Janez," in got[0] and len(smtp_server.sent) == 1


def _states(service: DeskService) -> list[str]:
    with service.db.read() as conn:
        return [i.state for i in outbox_rows.items(conn)]


async def test_new_mail_from_background_sync_keeps_the_cursor(mailhost: Any, make_mail_user: Any,
                                                              tmp_path: Path) -> None:  # fmt: skip
    support, customer = make_mail_user(), make_mail_user()
    desk, service = _desk_service(mailhost, support, tmp_path / "desk", sync=True)
    for i in range(3):
        raw, _ = customer_mail(customer.address, support.address, subject=f"Question {i}", msgid=f"<q{i}@c.example>")
        mailhost.dovecot.deliver(support.name, raw, sender=customer.address)
        time.sleep(0.01)
    desk.sync()
    app = make_app(service.paths, service.config, service=service)
    async with app.run_test(size=SIZE) as pilot:
        tickets = app.screen.query_one(TicketList)
        await wait_until(pilot, lambda: service.account_states()[0].state == "online", what="the first sync")
        await pilot.pause(0.3)  # the sync thread is now waiting in IDLE
        await pilot.press("j")
        chosen = tickets.current.ref  # type: ignore[union-attr]
        assert tickets.total == 3 and tickets.cursor == 1

        raw, _ = customer_mail(customer.address, support.address, subject="Brand new problem", msgid="<n1@c.example>")
        mailhost.dovecot.deliver(support.name, raw, sender=customer.address)
        await wait_until(pilot, lambda: tickets.total == 4, what="the new mail to show up")
        assert tickets.current is not None and tickets.current.ref == chosen, "the selected ticket stays selected"
        assert tickets.cursor == 2, "it moved down one row, under the new ticket"
        assert tickets.row(0).subject == "Brand new problem"  # type: ignore[union-attr]
        assert app.screen.query_one(TicketList) is tickets
