"""IMAP sync against a real Dovecot: first and incremental sync, flags both ways, expunge,
UIDVALIDITY change, a server without CONDSTORE, failures, quarantine."""

from __future__ import annotations

import email.utils
import logging
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from mailhost import NO_CONDSTORE_CAPABILITIES, SeedMessage
from support.accounts import account_for

from tui_desk.demo.mailgen import generate
from tui_desk.storage import sync_state as st
from tui_desk.storage.db import Database
from tui_desk.storage.messages import list_messages
from tui_desk.tickets.sync import AccountSync
from tui_desk.tickets.sync_folder import FolderSync


def _mail(n: int, subject: str = "Pomoč", body: str = "Račun je napačen.") -> bytes:
    return (
        f"From: Ana Novak <ana{n}@example.si>\r\nTo: support@example.test\r\n"
        f"Subject: {subject} {n}\r\nMessage-ID: <m{n}.{id(subject)}@example.si>\r\n"
        f"Date: {email.utils.format_datetime(datetime(2026, 11, 1, 10, tzinfo=UTC) + timedelta(minutes=n))}\r\n"
        "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n"
        f"{body}\r\n"
    ).encode()


@pytest.fixture
def db(tmp_path: Path) -> Database:
    return Database.in_dir(tmp_path)


def _sync(db: Database, account, password: str) -> object:  # type: ignore[no-untyped-def]
    syncer = AccountSync(db, account, password)
    try:
        return syncer.run_once()
    finally:
        syncer.close()


def _inbox_rows(db: Database) -> list[dict]:
    with db.read() as conn:
        return [r for r in list_messages(conn) if r["folder"] == "INBOX"]


def test_first_sync_gets_everything_without_touching_seen(mailhost, mail_user, db) -> None:
    dovecot = mailhost.dovecot
    for n in range(5):
        dovecot.deliver(mail_user.name, _mail(n))
    # Another client has already read two of them: they must still be synced.
    with dovecot.imap_client(mail_user.name) as c:
        c.select_folder("INBOX")
        c.add_flags(c.search(["ALL"])[:2], [b"\\Seen"])
    report = _sync(db, account_for(mailhost, mail_user), mail_user.password)
    assert report.ok, report.line()
    rows = _inbox_rows(db)
    assert sorted(r["subject"] for r in rows) == [f"Pomoč {n}" for n in range(5)]
    assert sum("\\Seen" in r["flags"] for r in rows) == 2
    with dovecot.imap_client(mail_user.name) as c:
        c.select_folder("INBOX", readonly=True)
        flags = c.get_flags(c.search(["ALL"]))
        assert sum(b"\\Seen" in f for f in flags.values()) == 2, "sync must never set \\Seen on the server"
    assert "2 new" not in report.line() and "5 new" in report.line()


def test_incremental_and_unchanged_resync(mailhost, mail_user, db) -> None:
    account = account_for(mailhost, mail_user)
    for n in range(3):
        mailhost.dovecot.deliver(mail_user.name, _mail(n))
    assert _sync(db, account, mail_user.password).new == 3
    again = _sync(db, account, mail_user.password)
    inbox = next(f for f in again.folders if f.name == "INBOX")
    assert (inbox.mode, again.new) == ("unchanged", 0)
    for n in range(3, 5):
        mailhost.dovecot.deliver(mail_user.name, _mail(n))
    more = _sync(db, account, mail_user.password)
    inbox = next(f for f in more.folders if f.name == "INBOX")
    assert (inbox.mode, inbox.new) == ("incremental", 2)
    assert len(_inbox_rows(db)) == 5


def test_unchanged_folders_are_checked_with_status_not_opened(mailhost, mail_user, db, monkeypatch) -> None:
    """A no-change resync asks STATUS and opens no folder (SELECT of a big mailbox makes the
    server read its whole index); a flag-only change, which leaves UIDNEXT and the count as
    they were, still shows through HIGHESTMODSEQ and is synced."""
    from tui_desk.mail.imap import ImapSession

    account = account_for(mailhost, mail_user)
    for n in range(3):
        mailhost.dovecot.deliver(mail_user.name, _mail(n))
    syncer = AccountSync(db, account, mail_user.password)
    try:
        assert syncer.run_once().new == 3
        opened: list[str] = []
        real_select = ImapSession.select

        def counting_select(self, name, *, readonly=True):  # type: ignore[no-untyped-def]
            opened.append(name)
            return real_select(self, name, readonly=readonly)

        monkeypatch.setattr(ImapSession, "select", counting_select)
        syncer.close()  # a new connection, as the next poll of the app would have: nothing selected
        again = syncer.run_once()
        assert again.ok and all(f.mode == "unchanged" for f in again.folders), [f.mode for f in again.folders]
        assert opened == [], f"an unchanged resync opened {opened}"
        with mailhost.dovecot.imap_client(mail_user.name) as c:
            c.select_folder("INBOX")
            first = sorted(c.search(["ALL"]))[0]
            c.add_flags([first], [b"\\Flagged"])
        changed = syncer.run_once()
        inbox = next(f for f in changed.folders if f.name == "INBOX")
        assert (inbox.mode, inbox.flags_changed) == ("incremental", 1)
        assert "INBOX" in opened
        assert "\\Flagged" in next(r for r in _inbox_rows(db) if r["uid"] == first)["flags"]
    finally:
        syncer.close()


def test_a_server_that_refuses_status_is_synced_by_opening_folders(mailhost, mail_user, db, monkeypatch) -> None:
    """RFC 7162 servers must answer STATUS HIGHESTMODSEQ; one that says NO (here: imapclient
    made to fail the call, the server itself is real) costs the shortcut, never the sync."""
    import imapclient
    from imapclient.exceptions import IMAPClientError

    account = account_for(mailhost, mail_user)
    mailhost.dovecot.deliver(mail_user.name, _mail(1))
    syncer = AccountSync(db, account, mail_user.password)
    try:
        assert syncer.run_once().new == 1
        asked: list[str] = []

        def refuse(self, folder, what=None):  # type: ignore[no-untyped-def]
            asked.append(folder)
            raise IMAPClientError("STATUS command error: BAD [b'Unknown STATUS item']")

        monkeypatch.setattr(imapclient.IMAPClient, "folder_status", refuse)
        syncer.close()
        mailhost.dovecot.deliver(mail_user.name, _mail(2))
        report = syncer.run_once()
        assert report.ok, report.line()
        assert report.new == 1 and len(_inbox_rows(db)) == 2
        assert len(asked) == 1, f"asked again after a refusal: {asked}"
        again = syncer.run_once()
        assert again.ok and next(f for f in again.folders if f.name == "INBOX").mode == "unchanged"
    finally:
        syncer.close()


def test_flags_both_ways_and_expunge(mailhost, mail_user, db) -> None:
    account = account_for(mailhost, mail_user)
    for n in range(4):
        mailhost.dovecot.deliver(mail_user.name, _mail(n))
    _sync(db, account, mail_user.password)
    with mailhost.dovecot.imap_client(mail_user.name) as c:
        c.select_folder("INBOX")
        uids = sorted(c.search(["ALL"]))
        c.add_flags([uids[0]], [b"\\Seen", b"\\Answered"])
        c.delete_messages([uids[3]])
        c.expunge()
    report = _sync(db, account, mail_user.password)
    inbox = next(f for f in report.folders if f.name == "INBOX")
    assert inbox.flags_changed == 1 and inbox.removed == 1
    rows = {r["uid"]: r for r in _inbox_rows(db)}
    assert set(rows[uids[0]]["flags"]) == {"\\Seen", "\\Answered"}
    assert rows[uids[3]]["removed"] is True, "expunged mail stays, marked removed"
    # Local change -> server.
    with db.write() as conn:
        st.queue_flag_change(conn, rows[uids[1]]["id"], add=["\\Flagged", "\\Seen"])
    _sync(db, account, mail_user.password)
    with mailhost.dovecot.imap_client(mail_user.name) as c:
        c.select_folder("INBOX", readonly=True)
        assert set(c.get_flags([uids[1]])[uids[1]]) >= {b"\\Flagged", b"\\Seen"}
    with db.read() as conn:
        folder = st.ensure_folder(conn, 1, "INBOX")
        assert st.pending_flag_ops(conn, folder.id) == []


def test_changed_uidvalidity_remaps_without_duplicates(mailhost, mail_user, db) -> None:
    account = account_for(mailhost, mail_user, folders=("Work",))
    raws = [_mail(n, subject="Work") for n in range(4)]
    for raw in raws:
        mailhost.dovecot.append(mail_user.name, "Work", raw)
    _sync(db, account, mail_user.password)
    before = {r["message_id"]: r["id"] for r in _all(db) if r["folder"] == "Work"}
    assert len(before) == 4
    with mailhost.dovecot.imap_client(mail_user.name) as c:
        old = c.select_folder("Work")[b"UIDVALIDITY"]
        c.close_folder()
        c.delete_folder("Work")
        import time

        time.sleep(1.1)  # Dovecot derives UIDVALIDITY from the clock
        c.create_folder("Work")
        for raw in raws[1:]:
            c.append("Work", raw)
        c.append("Work", _mail(99, subject="Work"))
        assert c.select_folder("Work")[b"UIDVALIDITY"] != old
    report = _sync(db, account, mail_user.password)
    work = next(f for f in report.folders if f.name == "Work")
    assert work.remapped and work.new == 1
    after = [r for r in _all(db) if r["folder"] == "Work"]
    assert len(after) == 5, "no message may be stored twice"
    by_id = {r["message_id"]: r for r in after}
    for mid, row_id in before.items():
        assert by_id[mid]["id"] == row_id, "re-mapped messages keep their rows (and so their tickets)"
    assert sum(r["removed"] for r in after) == 1


def _all(db: Database) -> list[dict]:
    with db.read() as conn:
        return list_messages(conn)


def test_server_without_condstore_uses_the_fallback(make_dovecot, db, caplog) -> None:
    dovecot = make_dovecot(capabilities=NO_CONDSTORE_CAPABILITIES, shared=True)
    user = dovecot.add_user()
    account = account_for(dovecot, user)
    for n in range(3):
        dovecot.deliver(user.name, _mail(n))
    caplog.set_level(logging.DEBUG, logger="imapclient")
    assert _sync(db, account, user.password).new == 3
    with dovecot.imap_client(user.name) as c:
        c.select_folder("INBOX")
        c.add_flags(c.search(["ALL"])[:1], [b"\\Flagged"])
    report = _sync(db, account, user.password)
    assert next(f for f in report.folders if f.name == "INBOX").flags_changed == 1
    # imaplib logs each command the client sends as "> b'TAG COMMAND ...'".
    sent = "\n".join(m for r in caplog.records if (m := r.getMessage()).startswith("> b'"))
    assert "SELECT" in sent and "FLAGS" in sent, "the client's commands must be visible to this test"
    assert "ENABLE" not in sent and "MODSEQ" not in sent and "CHANGEDSINCE" not in sent


def test_wrong_password_is_one_clear_failure(mailhost, mail_user, db) -> None:
    report = _sync(db, account_for(mailhost, mail_user), "not-the-password")
    assert report.state == "auth"
    assert "refused the login" in report.reason and mail_user.name in report.reason


def test_untrusted_certificate_names_host_and_cause(mailhost, make_dovecot, db) -> None:
    from dataclasses import replace

    dovecot = make_dovecot(untrusted_tls=True, shared=True)
    user = dovecot.add_user()
    account = account_for(dovecot, user, security="tls")
    # We trust the test CA, not the one that signed this server's certificate.
    account = replace(account, imap=replace(account.imap, ca_file=str(mailhost.ca_file)))
    report = _sync(db, account, user.password)
    assert report.state == "tls"
    assert "127.0.0.1" in report.reason and "not trusted" in report.reason


def test_unreachable_server_is_offline_and_keeps_local_data(mailhost, mail_user, db) -> None:
    account = account_for(mailhost, mail_user)
    mailhost.dovecot.deliver(mail_user.name, _mail(1))
    _sync(db, account, mail_user.password)
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        closed_port = s.getsockname()[1]
    report = _sync(db, account_for(mailhost, mail_user, imap_port=closed_port), mail_user.password)
    assert report.state == "offline" and "refused" in report.reason
    assert len(_inbox_rows(db)) == 1
    with db.read() as conn:
        assert st.account_status(conn, 1) == ("offline", report.reason)


def test_sent_folder_found_by_special_use(mailhost, mail_user, db) -> None:
    mailhost.dovecot.append(mail_user.name, "Sent", _mail(7, subject="Our reply"), flags=[b"\\Seen"])
    report = _sync(db, account_for(mailhost, mail_user), mail_user.password)
    assert "Sent" in [f.name for f in report.folders]
    assert [r["subject"] for r in _all(db) if r["folder"] == "Sent"] == ["Our reply 7"]


def test_too_big_and_since(mailhost, mail_user, db) -> None:
    account = account_for(mailhost, mail_user)
    old = datetime(2020, 1, 1, tzinfo=UTC)
    mailhost.dovecot.seed_maildir(mail_user.name, "INBOX", [SeedMessage(_mail(1, subject="Old"), old)])
    mailhost.dovecot.deliver(mail_user.name, _mail(2, subject="Big", body="x" * 50_000))
    mailhost.dovecot.deliver(mail_user.name, _mail(3, subject="Fine"))
    syncer = AccountSync(db, account, mail_user.password, since=datetime(2025, 1, 1, tzinfo=UTC))
    session = syncer._session()
    folder = FolderSync(db=db, session=session, fetcher_factory=syncer._fetcher_factory,
                        account_id=syncer.account_id, name="INBOX", since=syncer.since, max_message_bytes=20_000)
    report = folder.run()
    syncer.close()
    assert [r["subject"] for r in _inbox_rows(db)] == ["Fine 3"], "old mail skipped by --since, big one set aside"
    assert len(report.quarantined) == 1 and "too large" in report.quarantined[0][1]
    with db.read() as conn:
        held = st.quarantined(conn)
    assert held[0]["reason"].startswith("too large")


def test_generated_mailbox_round_trip(mailhost, mail_user, db) -> None:
    mails = list(generate(120, seed=3))
    mailhost.dovecot.seed_maildir(mail_user.name, "INBOX", [SeedMessage(m.raw, m.date) for m in mails])
    report = _sync(db, account_for(mailhost, mail_user), mail_user.password)
    assert report.new == 120
    rows = _inbox_rows(db)
    assert {r["message_id"] for r in rows} == {m.message_id for m in mails}
    assert any("Račun" in r["subject"] for r in rows) and any("счёт" in r["subject"].lower() for r in rows)


def test_big_first_sync_stores_envelopes_then_bodies(mailhost, mail_user, db) -> None:
    from tui_desk.mail.parse import parse_message
    from tui_desk.storage.messages import raw_bytes
    from tui_desk.tickets.bodies import index_bodies

    mails = list(generate(260, seed=5))
    mailhost.dovecot.seed_maildir(mail_user.name, "INBOX", [SeedMessage(m.raw, m.date) for m in mails])
    assert _sync(db, account_for(mailhost, mail_user), mail_user.password).new == 260
    with db.read() as conn:
        pending = conn.exec_driver_sql("SELECT COUNT(*) FROM messages WHERE body_parsed = 0").scalar_one()
    assert pending == 260, "a big first sync stores envelopes first"
    rows = {r["message_id"]: r for r in _inbox_rows(db)}
    assert all(r["subject"] for r in rows.values()), "envelopes carry what the ticket list needs"
    assert index_bodies(db, workers=2) == 260
    with db.read() as conn:
        assert conn.exec_driver_sql("SELECT COUNT(*) FROM messages WHERE body_parsed = 0").scalar_one() == 0
        sample = conn.exec_driver_sql("SELECT id, text, snippet, has_attachments FROM messages LIMIT 40").all()
        for row_id, text, snippet, has_att in sample:
            full = parse_message(raw_bytes(conn, row_id) or b"")
            assert (text, snippet, has_att) == (full.text, full.snippet, bool(full.attachments))
    from tui_desk.storage.messages import search_message_ids

    with db.read() as conn:
        assert search_message_ids(conn, "tracking") or search_message_ids(conn, "отпуске"), "bodies are searchable"


def _ticket_view(db: Database) -> list[tuple]:
    with db.read() as conn:
        return sorted(conn.exec_driver_sql(
            "SELECT m.message_id, m.subject, m.from_addr, m.date, m.auto_submitted, t.ref FROM messages m "
            "JOIN tickets t ON t.id = m.ticket_id").all())  # fmt: skip


def test_envelope_worker_process_gives_the_same_result(mailhost, mail_user, tmp_path: Path, monkeypatch) -> None:
    """A big first sync parses envelopes in a second process; the stored result is identical."""
    from tui_desk.tickets import sync_folder

    mails = list(generate(300, seed=9))
    mailhost.dovecot.seed_maildir(mail_user.name, "INBOX", [SeedMessage(m.raw, m.date) for m in mails])
    account = account_for(mailhost, mail_user)
    monkeypatch.setattr(sync_folder, "BATCH_MESSAGES", 60)  # several batches: the first is always parsed here
    here = Database.in_dir(tmp_path / "here")
    assert _sync(here, account, mail_user.password).new == 300
    monkeypatch.setattr(sync_folder, "WORKER_ABOVE", 1)
    there = Database.in_dir(tmp_path / "there")
    assert _sync(there, account, mail_user.password).new == 300
    assert _ticket_view(here) == _ticket_view(there)
    with there.read() as conn:
        from tui_desk.storage.messages import raw_bytes

        ids = [r[0] for r in conn.exec_driver_sql("SELECT id FROM messages").all()]
        stored = sorted((raw_bytes(conn, i) or b"").replace(b"\r\n", b"\n") for i in ids)
        assert stored == sorted(m.raw.replace(b"\r\n", b"\n") for m in mails), "raw bytes kept (the server writes CRLF)"


def test_a_failing_envelope_worker_costs_speed_not_mail(mailhost, mail_user, db, monkeypatch) -> None:
    from concurrent.futures import Future

    from tui_desk.tickets import envelope_worker, sync_folder

    def broken(self, items):  # type: ignore[no-untyped-def]
        f: Future = Future()
        f.set_exception(RuntimeError("worker died"))
        return f

    monkeypatch.setattr(envelope_worker.EnvelopeWorker, "submit", broken)
    monkeypatch.setattr(sync_folder, "WORKER_ABOVE", 1)
    monkeypatch.setattr(sync_folder, "BATCH_MESSAGES", 50)
    mails = list(generate(220, seed=4))
    mailhost.dovecot.seed_maildir(mail_user.name, "INBOX", [SeedMessage(m.raw, m.date) for m in mails])
    assert _sync(db, account_for(mailhost, mail_user), mail_user.password).new == 220
    assert {r["message_id"] for r in _inbox_rows(db)} == {m.message_id for m in mails}


def test_body_pass_with_workers_pages_ahead_and_misses_nothing(mailhost, mail_user, db, monkeypatch) -> None:
    """Worker processes parse pages ahead of the one being written; every body lands once."""
    from tui_desk.mail.parse import parse_message
    from tui_desk.storage.messages import raw_bytes
    from tui_desk.tickets import bodies

    mails = list(generate(240, seed=6))
    mailhost.dovecot.seed_maildir(mail_user.name, "INBOX", [SeedMessage(m.raw, m.date) for m in mails])
    assert _sync(db, account_for(mailhost, mail_user), mail_user.password).new == 240
    monkeypatch.setattr(bodies, "IN_PROCESS_BELOW", 1)
    monkeypatch.setattr(bodies, "BATCH", 35)
    monkeypatch.setattr(bodies, "CHUNK", 10)
    seen: list[int] = []
    assert bodies.index_bodies(db, workers=2, on_progress=lambda done, total: seen.append(done)) == 240
    assert seen == sorted(seen) and seen[-1] == 240
    with db.read() as conn:
        assert conn.exec_driver_sql("SELECT COUNT(*) FROM messages WHERE body_parsed = 0").scalar_one() == 0
        for row_id, text, snippet in conn.exec_driver_sql("SELECT id, text, snippet FROM messages").all():
            full = parse_message(raw_bytes(conn, row_id) or b"")
            assert (text, snippet) == (full.text, full.snippet)
    assert bodies.index_bodies(db, workers=2) == 0, "nothing is parsed twice"
