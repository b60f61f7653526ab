"""Team state through the mailbox: two agents with separate databases on one Dovecot account,
both offline, change the same tickets; after they come online and sync, both hold the same
state and both audit trails show both sides."""

from __future__ import annotations

import socket
from dataclasses import replace
from pathlib import Path

from support.accounts import account_for

from tui_desk.storage.db import Database
from tui_desk.tickets import desk, workflow
from tui_desk.tickets.sync import AccountSync

ANA, BOR = "ana@example.test", "bor@example.test"


def _customer_mail(n: int, lang_subject: str) -> bytes:
    return (
        f"From: Kupec {n} <kupec{n}@stranka.si>\r\nTo: support@example.test\r\nSubject: {lang_subject}\r\n"
        f"Message-ID: <team{n}@stranka.si>\r\nDate: Mon, 2 Nov 2026 10:0{n}:00 +0100\r\n"
        "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n"
        "Pozdravljeni, račun je napačen.\r\n"
    ).encode()


def _sync(db: Database, account, password: str, agent: str):  # type: ignore[no-untyped-def]
    syncer = AccountSync(db, account, password, agent=agent)
    try:
        return syncer.run_once()
    finally:
        syncer.close()


def _state(db: Database, ref: str) -> dict:
    with db.read() as conn:
        d = desk.detail(conn, ref)
    return {
        "status": d["status"], "priority": d["priority"], "assignee": d["assignee"],
        "tags": sorted(d["tags"]), "notes": sorted(n["body"] for n in d["notes"]),
    }  # fmt: skip


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_two_offline_agents_converge(mailhost, mail_user, tmp_path: Path) -> None:
    for n, subject in enumerate(["Račun je napačen", "Не могу войти", "Delivery delayed"], start=1):
        mailhost.dovecot.deliver(mail_user.name, _customer_mail(n, subject), sender=f"kupec{n}@stranka.si")
    account = account_for(mailhost, mail_user)
    a, b = Database.in_dir(tmp_path / "a"), Database.in_dir(tmp_path / "b")
    assert _sync(a, account, mail_user.password, ANA).ok
    assert _sync(b, account, mail_user.password, BOR).ok
    with a.read() as conn:
        refs_a = sorted(t["ref"] for t in _tickets(conn))
    with b.read() as conn:
        refs_b = sorted(t["ref"] for t in _tickets(conn))
    assert refs_a == refs_b and len(refs_a) == 3, "ticket ids are the same on every machine"
    t1, t2, _t3 = refs_a

    # Both go offline and keep working.
    offline = replace(account, imap=replace(account.imap, port=_closed_port()))
    assert _sync(a, offline, mail_user.password, ANA).state == "offline"
    with a.write() as conn:
        workflow.set_status(conn, t1, "solved", ANA)
        workflow.add_tag(conn, t1, "billing", ANA)
        workflow.assign_to(conn, t2, ANA, ANA)
        workflow.add_note(conn, t1, "Refund issued (Ana).", ANA)
    with b.write() as conn:
        workflow.set_status(conn, t1, "pending", BOR)
        workflow.add_tag(conn, t1, "vip", BOR)
        workflow.assign_to(conn, t2, BOR, BOR)
        workflow.set_priority(conn, t2, "urgent", BOR)
        workflow.add_note(conn, t1, "Called the customer (Bor).", BOR)
    assert _sync(b, offline, mail_user.password, BOR).state == "offline"

    # Back online: each syncs, then A once more to see what B pushed after A's first run.
    for db, agent in ((a, ANA), (b, BOR), (a, ANA)):
        report = _sync(db, account, mail_user.password, agent)
        assert report.ok, report.line()
    assert report.team is not None and report.team.applied > 0

    for ref in (t1, t2):
        assert _state(a, ref) == _state(b, ref), ref
    s1 = _state(a, t1)
    assert s1["tags"] == ["billing", "vip"]
    assert s1["notes"] == ["Called the customer (Bor).", "Refund issued (Ana)."]
    assert s1["status"] in {"solved", "pending"}
    s2 = _state(a, t2)
    assert s2["priority"] == "urgent" and s2["assignee"] in {ANA, BOR}
    for db in (a, b):
        with db.read() as conn:
            audit = desk.detail(conn, t1)["audit"]
        who = {entry["agent"] for entry in audit}
        assert {ANA, BOR} <= who, audit
        fields = [(e["agent"], e["field"]) for e in audit]
        assert (ANA, "status") in fields and (BOR, "status") in fields, "the losing change is kept in the trail"


def _tickets(conn) -> list[dict]:  # type: ignore[no-untyped-def]
    from tui_desk.tickets import query

    return [{"ref": row["id"]} for row in query.page(conn, "", limit=100).rows]


def test_status_is_mirrored_as_an_imap_keyword(mailhost, mail_user, tmp_path: Path) -> None:
    mailhost.dovecot.deliver(mail_user.name, _customer_mail(1, "Račun"), sender="kupec1@stranka.si")
    account = account_for(mailhost, mail_user)
    db = Database.in_dir(tmp_path / "a")
    assert _sync(db, account, mail_user.password, ANA).ok
    with db.read() as conn:
        (ref,) = [t["ref"] for t in _tickets(conn)]
    for status in ("pending", "solved"):
        with db.write() as conn:
            workflow.set_status(conn, ref, status, ANA)
        assert _sync(db, account, mail_user.password, ANA).ok
        with mailhost.dovecot.imap_client(mail_user.name) as c:
            c.select_folder("INBOX", readonly=True)
            flags = {f.decode() for f in next(iter(c.get_flags(c.search(["ALL"])).values()))}
        assert {f for f in flags if f.startswith("$TuiDesk-")} == {f"$TuiDesk-{status}"}, flags
