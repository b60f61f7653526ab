"""The embedded demo: its in-process mail server, the prepared desk, and `tui-desk demo`.

The desk is prepared once for the module (about 4 s) and the later tests add mail to it, so
they run in file order: checks of the prepared state come first.
"""

from __future__ import annotations

import os
import smtplib
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import make_msgid
from pathlib import Path

import imapclient
import keyring
import pytest
from support.keyrings import MemoryKeyring

from tui_desk.config import Config, Paths
from tui_desk.credentials import CredentialError, get_password, passwords_in_memory
from tui_desk.demo.prepare import DEMO_ACCOUNT, DemoError, PrepareReport, claim_dir, prepare_demo
from tui_desk.demo.server import DemoMailServer
from tui_desk.demo.state import AGENT_EMAIL, COLLEAGUES, NOTES, view_counts
from tui_desk.storage.db import Database
from tui_desk.tickets import composer, desk, outbox, query
from tui_desk.tickets.sync import AccountSync

ROOT = Path(__file__).resolve().parents[1]


def _threads() -> set[threading.Thread]:
    return set(threading.enumerate())


def test_server_starts_serves_and_stops_without_leftover_threads() -> None:
    before = _threads()
    server = DemoMailServer()
    endpoints = server.start()
    try:
        assert endpoints.host == "127.0.0.1" and endpoints.imap_port != endpoints.smtp_port
        client = imapclient.IMAPClient(endpoints.host, endpoints.imap_port, ssl=False, timeout=5)
        client.login(endpoints.username, endpoints.password)
        assert {"INBOX", "Sent"} <= {name for _flags, _sep, name in client.list_folders()}
        client.logout()
        with pytest.raises(imapclient.exceptions.LoginError):
            imapclient.IMAPClient(endpoints.host, endpoints.imap_port, ssl=False, timeout=5).login(
                endpoints.username, "wrong")  # fmt: skip
        with smtplib.SMTP(endpoints.host, endpoints.smtp_port, timeout=5) as smtp:
            code, _ = smtp.ehlo()
            assert code == 250
            with pytest.raises(smtplib.SMTPSenderRefused):  # no AUTH, no mail
                smtp.sendmail("x@example.org", [endpoints.address], b"Subject: x\r\n\r\nx\r\n")
    finally:
        server.stop()
    deadline = time.monotonic() + 5
    while _threads() - before and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not (_threads() - before), _threads() - before


def test_claim_dir_refuses_a_directory_that_is_not_a_demo(tmp_path: Path) -> None:
    (tmp_path / "tui-desk.db").write_bytes(b"a real desk")
    with pytest.raises(DemoError, match="not empty"):
        claim_dir(tmp_path)
    assert (tmp_path / "tui-desk.db").read_bytes() == b"a real desk"


def test_passwords_in_memory_come_first_and_go_away(demo: tuple[Paths, Config, DemoMailServer]) -> None:
    _paths, config, server = demo
    account = config.account(DEMO_ACCOUNT)
    previous = keyring.get_keyring()
    keyring.set_keyring(MemoryKeyring())  # never the developer's real keyring
    try:
        with passwords_in_memory({DEMO_ACCOUNT: server.password}):
            assert get_password(account) == server.password
        with pytest.raises(CredentialError, match="no password stored"):
            get_password(account)
    finally:
        keyring.set_keyring(previous)


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Paths, Config, DemoMailServer]]:
    server = DemoMailServer(followup_rate=1.0, followup_delay=1.2)  # > 1 s: INTERNALDATE has whole seconds
    report = PrepareReport()
    started = time.perf_counter()
    paths, config, server = prepare_demo(tmp_path_factory.mktemp("demo"), server=server, report=report)
    elapsed = time.perf_counter() - started
    assert elapsed < 30, report.timings  # a few seconds here; generous for slow CI
    yield paths, config, server
    server.stop()


@pytest.fixture(scope="module")
def db(demo: tuple[Paths, Config, DemoMailServer]) -> Iterator[Database]:
    database = Database.in_dir(demo[0].data_dir)
    yield database
    database.close()


def test_prepared_desk_has_every_status_tag_and_language(db: Database) -> None:
    with db.read() as conn:
        assert query.count(conn, "") >= 300
        for status in ("new", "open", "pending", "on-hold", "solved", "closed"):
            assert query.count(conn, f"status:{status}") > 0, status
        for tag in ("billing", "login", "shipping", "refund", "vip", "spam"):
            assert query.count(conn, f"tag:{tag}") > 0, tag
        for who in (AGENT_EMAIL, *COLLEAGUES):
            assert query.count(conn, f"assignee:{who}") > 0, who
        assert query.count(conn, "priority:urgent") > 0 and query.count(conn, "priority:low") > 0
        page = query.page(conn, "", limit=1000).rows
        subjects = [r["subject"] for r in page]
        updated = [datetime.fromisoformat(r["updated"]) for r in page]
        attachments = conn.exec_driver_sql("SELECT COUNT(*) FROM attachments").scalar_one()
    assert attachments > 0
    assert any(s.startswith("Račun št.") for s in subjects)  # Slovenian (also sent as windows-1250)
    assert any(s.startswith("Račun br.") for s in subjects)  # Croatian
    assert any("Возврат денег" in s or "Не могу войти" in s for s in subjects)  # Russian (KOI8-R too)
    assert any("Refund for order" in s for s in subjects)
    assert not any("\ufffd" in s or "=?" in s for s in subjects)  # every subject decoded
    # The agents' history is dated after the mail, not at preparation time: "updated" varies.
    assert len({u.replace(second=0, microsecond=0) for u in updated}) > len(updated) // 2
    assert max(updated) <= datetime.now(UTC)


def test_prepared_desk_has_notes_in_four_languages_and_views_with_counts(db: Database) -> None:
    with db.read() as conn:
        refs = [r["id"] for r in query.page(conn, "-status:new", limit=1000).rows]
        notes = [n["body"] for ref in refs for n in desk.detail(conn, ref)["notes"]]
    assert len(notes) > 50
    for lang in ("en", "sl", "hr", "ru"):
        assert set(NOTES[lang].values()) & set(notes), lang
    counts = view_counts(db)
    assert {"New", "My open", "Unassigned", "Pending", "Refunds", "VIP"} <= set(counts)
    assert all(n > 0 for n in counts.values()), counts


def test_mail_to_the_support_address_lands_in_inbox_and_the_next_sync_gets_it(
        demo: tuple[Paths, Config, DemoMailServer], db: Database) -> None:  # fmt: skip
    _paths, config, server = demo
    account = config.account(DEMO_ACCOUNT)
    msg = EmailMessage()
    msg["From"] = "Nina Kralj <nina.kralj@podjetje.si>"
    msg["To"] = account.email
    msg["Subject"] = "Paket ni prispel, številka 4711"
    msg["Message-ID"] = make_msgid(domain="podjetje.si")
    msg.set_content("Pozdravljeni,\n\npaket še ni prispel.\n\nNina", charset="utf-8")
    with smtplib.SMTP(account.smtp.host, account.smtp.port, timeout=5) as smtp:  # type: ignore[union-attr]
        smtp.login(account.username, server.password)
        smtp.send_message(msg)
    sync = AccountSync(db, account, server.password)
    try:
        report = sync.run_once()
    finally:
        sync.close()
    assert report.ok and report.new == 1, report.line()
    with db.read() as conn:
        found = query.page(conn, '"številka 4711"').rows
    assert [r["subject"] for r in found] == ["Paket ni prispel, številka 4711"]
    assert found[0]["status"] == "new"


def test_a_reply_is_sent_filed_and_the_customer_answers(
        demo: tuple[Paths, Config, DemoMailServer], db: Database) -> None:  # fmt: skip
    _paths, config, server = demo
    account = config.account(DEMO_ACCOUNT)
    with db.read() as conn:
        ticket = query.page(conn, 'status:open "Не могу войти"', limit=1).rows[0]
    draft = composer.open_reply(db, config, account, ticket["id"], agent=AGENT_EMAIL)
    draft = composer.save_draft(db, draft, body="Здравствуйте,\n\nпароль сброшен, попробуйте ещё раз.")
    outbox.enqueue(db, draft, config, account)
    before = len(server.delivered)
    drained = outbox.drain(db, account, server.password)
    assert drained.state == "online" and len(drained.sent) == 1 and not drained.failed, drained.line()
    assert len(server.delivered) == before + 1
    assert ticket["requester"]["address"] in server.delivered[-1].rcpts
    with db.read() as conn:
        assert desk.detail(conn, ticket["id"])["status"] == "pending"
    sync = AccountSync(db, account, server.password)
    deadline = time.monotonic() + 15
    try:
        while True:  # the customer writes back after followup_delay
            report = sync.run_once()
            assert report.ok, report.line()
            with db.read() as conn:
                detail = desk.detail(conn, ticket["id"])
            if not detail["messages"][-1]["ours"] or time.monotonic() > deadline:
                break
            time.sleep(0.3)
    finally:
        sync.close()
    assert detail["status"] == "open"  # reopened by the customer's answer
    assert detail["messages"][-1]["from"]["address"] == ticket["requester"]["address"]
    assert any(m["ours"] for m in detail["messages"])


def test_the_apps_try_the_demo_path_calls_the_handler_with_its_own_namespace(tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    import argparse

    from tui_desk.commands.demo import cmd_demo

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    args = argparse.Namespace(demo_dir=None, keep=False, prepare_only=True)  # as commands/ui.py builds it
    assert cmd_demo(args, Paths(tmp_path / "real", tmp_path / "real.toml")) == 0
    assert list(tmp_path.iterdir()) == []


def _run_cli(*args: str, tmp: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring", "TMPDIR": str(tmp),
           "TUI_DESK_DATA_DIR": str(tmp / "real-desk"), "TUI_DESK_CONFIG": str(tmp / "real-config.toml")}  # fmt: skip
    return subprocess.run([sys.executable, "-m", "tui_desk.cli", *args], capture_output=True, text=True,
                          timeout=120, env=env, cwd=ROOT, check=False)  # fmt: skip


def test_cli_prepare_only_works_with_no_keyring_and_cleans_up(tmp_path: Path) -> None:
    done = _run_cli("demo", "--prepare-only", tmp=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr and "Warning" not in done.stderr, done.stderr
    assert "tickets from 600 messages" in done.stdout
    assert list(tmp_path.iterdir()) == []  # the throwaway directory is gone; the real desk untouched


def test_cli_keep_leaves_a_desk_the_other_commands_can_read(tmp_path: Path) -> None:
    target = tmp_path / "kept"
    done = _run_cli("demo", "--prepare-only", "--keep", "--data-dir", str(target), tmp=tmp_path)
    assert done.returncode == 0, done.stderr
    assert (target / "tui-desk.db").exists() and (target / "config.toml").exists()
    listed = _run_cli("--data-dir", str(target), "--config", str(target / "config.toml"), "tickets",
                      "--view", "Refunds", "--format", "json", tmp=tmp_path)  # fmt: skip
    assert listed.returncode == 0, listed.stderr
    assert '"refund"' in listed.stdout


async def test_the_app_opens_on_the_demo_desk_and_its_background_sync_gets_new_mail(
        demo: tuple[Paths, Config, DemoMailServer], db: Database) -> None:  # fmt: skip
    from tui_desk.app import make_app

    paths, config, server = demo
    account = config.account(DEMO_ACCOUNT)
    msg = EmailMessage()
    msg["From"] = "Marko Jurić <marko.juric@tvrtka.hr>"
    msg["To"] = account.email
    msg["Subject"] = "Hitno: aplikacija se ruši 9931"
    msg["Message-ID"] = make_msgid(domain="tvrtka.hr")
    msg.set_content("Poštovani,\n\naplikacija se ruši pri pokretanju.\n\nMarko", charset="utf-8")
    with passwords_in_memory({DEMO_ACCOUNT: server.password}):  # what `tui-desk demo` does
        app = make_app(paths, config, demo=True)
        async with app.run_test(size=(140, 40)) as pilot:
            await pilot.pause(0.5)
            assert app.screen.id == "main" and app.sub_title == "demo"
            with smtplib.SMTP(account.smtp.host, account.smtp.port, timeout=5) as smtp:  # type: ignore[union-attr]
                smtp.login(account.username, server.password)
                smtp.send_message(msg)
            found: list[dict[str, object]] = []
            deadline = time.monotonic() + 20
            while not found and time.monotonic() < deadline:  # pushed by IDLE to the app's sync worker
                await pilot.pause(0.2)
                with db.read() as conn:
                    found = query.page(conn, '"ruši 9931"').rows
            assert found, "the app's background sync did not fetch the new mail"
            await pilot.press("q")
