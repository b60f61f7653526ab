"""Replies end to end against the real test mail host (Dovecot + SMTP): compose, queue, send,
file in Sent, thread the answer back; and every way sending can fail, in the server's words."""

from __future__ import annotations

import smtplib
import ssl
import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from email import message_from_bytes, policy
from pathlib import Path
from typing import Any

import pytest
from mailhost import free_ports
from support.replies import Desk, customer_mail, fetch_all, make_desk, message_ids

from tui_desk.config import Server
from tui_desk.storage import outbox as outbox_rows
from tui_desk.storage.db import Database
from tui_desk.tickets import collisions, composer, outbox


@pytest.fixture
def world(mailhost: Any, make_mail_user: Any, smtp_server: Any, tmp_path: Path) -> tuple[Desk, Any, Any]:
    """A desk for a fresh support user, a customer who wrote once, synced into a ticket."""
    support, customer = make_mail_user(), make_mail_user()
    desk = make_desk(mailhost, support, tmp_path / "desk")
    raw, _mid = customer_mail(f"Janez Kranjc <{customer.address}>", support.address, msgid="<c1@customer.example>")
    mailhost.dovecot.deliver(support.name, raw, sender=customer.address)  # no sender = a bounce
    desk.sync()
    return desk, support, customer


def _item(desk: Desk, item_id: int) -> outbox_rows.OutboxItem:
    with desk.db.read() as conn:
        item = outbox_rows.get(conn, item_id)
    assert item is not None
    return item


def test_reply_with_template_reaches_customer_and_their_answer_reopens(world: Any, mailhost: Any,
                                                                     smtp_server: Any) -> None:  # fmt: skip
    desk, support, customer = world
    ref = desk.ticket_of("c1@customer.example")
    draft = composer.open_reply(desk.db, desk.config, desk.account, ref)
    draft, result = composer.apply_template(desk.db, draft, "Thanks, looking into it", desk.config, desk.account)
    assert result.ok and draft.body.startswith("Hello Janez,")
    item_id = outbox.enqueue(desk.db, draft, desk.config, desk.account)
    report = outbox.drain(desk.db, desk.account, desk.password)
    assert report.sent == [item_id] and report.state == "online", report

    # The customer got exactly this mail, threaded and tagged.
    got = [message_from_bytes(r, policy=policy.default) for r in fetch_all(mailhost, customer.name)]
    assert len(got) == 1 and len(smtp_server.sent) == 1
    reply = got[0]
    assert reply["Message-ID"] == f"<{draft.message_id}>"
    assert reply["In-Reply-To"] == "<c1@customer.example>" and reply["References"] == "<c1@customer.example>"
    assert str(reply["Subject"]) == f"Re: [#{ref}] Printer broken"
    assert "Auto-Submitted" not in reply
    text = reply.get_content()
    assert "-- \nAna Novak" in text.replace("\r\n", "\n") and "> It does not print." in text
    # Filed in Sent once; the delivery-check copy is gone from INBOX.
    assert message_ids(mailhost, support.name, "Sent") == {draft.message_id: 1}
    assert draft.message_id not in message_ids(mailhost, support.name)
    # The ticket shows it at once: pending, first response recorded, two messages.
    detail = desk.detail(ref)
    assert detail["status"] == "pending" and detail["first_response"]
    assert [m["ours"] for m in detail["messages"]] == [False, True]

    # The customer answers (through the SMTP server): same ticket, reopened.
    # (Reopening compares the answer's INTERNALDATE, whole seconds, with our status change: a
    # real customer does not answer within the same second, this test must wait for the next.)
    time.sleep(1.05 - time.time() % 1)
    answer, answer_id = customer_mail(customer.address, support.address, subject=f"Re: {reply['Subject']}",
                                      body="Still broken.", in_reply_to=reply["Message-ID"],
                                      references=f"<c1@customer.example> {reply['Message-ID']}")  # fmt: skip
    ctx = ssl.create_default_context(cafile=str(mailhost.ca_file))
    with smtplib.SMTP(mailhost.host, mailhost.smtp_port, timeout=10) as client:
        client.starttls(context=ctx)
        client.login(customer.name, customer.password)
        client.sendmail(customer.address, [support.address], answer)
    desk.sync()
    assert desk.ticket_of(answer_id) == ref
    detail = desk.detail(ref)
    assert detail["status"] == "open" and len(detail["messages"]) == 3


def test_reply_all_excludes_our_addresses(world: Any, mailhost: Any) -> None:
    desk, support, customer = world
    raw, mid = customer_mail(customer.address, f"Support <{support.address}>", subject="Re: Printer broken",
                             cc=f"Boss <boss@customer.example>, {desk.config.agent.email}, {support.address}",
                             in_reply_to="<c1@customer.example>", references="<c1@customer.example>")  # fmt: skip
    mailhost.dovecot.deliver(support.name, raw, sender=customer.address)
    desk.sync()
    ref = desk.ticket_of(mid)
    draft = composer.open_reply(desk.db, desk.config, desk.account, ref, "reply_all")
    assert draft.to == [("", customer.address)]
    assert draft.cc == [("Boss", "boss@customer.example")]
    assert draft.in_reply_to == mid and draft.references == ["c1@customer.example", mid]
    assert draft.subject == f"Re: [#{ref}] Printer broken"


def test_drafts_survive_reopening_the_database(world: Any, tmp_path: Path) -> None:
    desk, _support, _customer = world
    ref = desk.ticket_of("c1@customer.example")
    draft = composer.open_reply(desk.db, desk.config, desk.account, ref)
    for i in range(50):  # saved on every keystroke batch
        draft = composer.save_draft(desk.db, draft, body="Hello Janez, " + "x" * i)
    draft = composer.save_draft(desk.db, draft, quote=False, attachments=["/tmp/a.pdf"], status="on-hold")
    desk.db.close()
    db = Database.open(desk.db.path)
    [back] = composer.drafts_for(db, ref)
    assert back.body == "Hello Janez, " + "x" * 49 and back.quote is False
    assert back.attachments == ["/tmp/a.pdf"] and back.status == "on-hold" and back.message_id == draft.message_id
    assert back.to == draft.to and back.quoted == draft.quoted
    composer.discard(db, back)
    assert composer.drafts_for(db, ref) == []


def test_unfilled_placeholders_block_sending(world: Any) -> None:
    desk, _support, _customer = world
    ref = desk.ticket_of("c1@customer.example")
    draft = composer.open_reply(desk.db, replace(desk.config, agent=replace(desk.config.agent, name="")),
                                desk.account, ref)  # fmt: skip
    config = replace(desk.config, agent=replace(desk.config.agent, name=""))
    draft, result = composer.apply_template(desk.db, draft, "Thanks, looking into it", config, desk.account)
    assert [p.placeholder for p in result.problems] == ["{{agent.name}}"]
    with pytest.raises(outbox.ReplyProblems, match=r"agent\.name"):
        outbox.enqueue(desk.db, draft, config, desk.account)


def test_auth_failure_is_reported_in_the_servers_words(world: Any, smtp_server: Any) -> None:
    desk, _support, _customer = world
    draft = composer.open_reply(desk.db, desk.config, desk.account, desk.ticket_of("c1@customer.example"))
    item_id = outbox.enqueue(desk.db, composer.save_draft(desk.db, draft, body="Hi"), desk.config, desk.account)
    report = outbox.drain(desk.db, desk.account, "wrong password")
    assert report.state == "auth" and report.failed[0][:2] == (item_id, "auth")
    item = _item(desk, item_id)
    assert item.state == "failed" and "535" in item.error and "refused the login" in item.error
    assert smtp_server.sent == []


def test_recipient_refused_then_edited_and_retried(world: Any, smtp_server: Any, mailhost: Any) -> None:
    desk, _support, customer = world
    draft = composer.open_reply(desk.db, desk.config, desk.account, desk.ticket_of("c1@customer.example"))
    draft = composer.save_draft(desk.db, draft, body="Hi", cc=[("Gone", "gone@elsewhere.example")])
    smtp_server.refuse_recipients = {"gone@elsewhere.example"}
    item_id = outbox.enqueue(desk.db, draft, desk.config, desk.account)
    report = outbox.drain(desk.db, desk.account, desk.password)
    assert report.failed[0][1] == "recipient" and report.state == "online"
    item = _item(desk, item_id)
    assert item.state == "failed" and "gone@elsewhere.example: 550 5.1.1" in item.error
    assert "Recipient address rejected" in item.error and "nothing was sent" in item.error
    assert smtp_server.sent == [] and message_ids(mailhost, customer.name) == {}
    fixed = composer.save_draft(desk.db, outbox.reopen_failed(desk.db, item_id), cc=[])
    outbox.enqueue(desk.db, fixed, desk.config, desk.account)
    assert len(outbox.drain(desk.db, desk.account, desk.password).sent) == 1
    assert message_ids(mailhost, customer.name) == {draft.message_id: 1}


def test_message_too_large(world: Any, smtp_server: Any, tmp_path: Path) -> None:
    desk, _support, _customer = world
    big = tmp_path / "scan.pdf"
    big.write_bytes(b"x" * 20_000)
    smtp_server.max_size = 10_000
    ref = desk.ticket_of("c1@customer.example")
    draft = composer.save_draft(desk.db, composer.open_reply(desk.db, desk.config, desk.account, ref),
                                body="See attached", attachments=[str(big)])  # fmt: skip
    item_id = outbox.enqueue(desk.db, draft, desk.config, desk.account)
    report = outbox.drain(desk.db, desk.account, desk.password)
    assert report.failed and report.failed[0][1] == "too-large"
    assert "accepts at most 10.0 kB" in _item(desk, item_id).error
    # A server that only says so after DATA: its own words come through.
    smtp_server.max_size = None
    smtp_server.data_hook = lambda _m: "552 5.3.4 Message size exceeds fixed limit"
    outbox.retry(desk.db, item_id)
    report = outbox.drain(desk.db, desk.account, desk.password)
    assert report.failed[0][1] == "too-large" and "552 5.3.4 Message size exceeds fixed limit" in report.failed[0][2]
    assert smtp_server.sent == []


def test_temporary_failure_backs_off_then_sends(world: Any, smtp_server: Any) -> None:
    desk, _support, _customer = world
    draft = composer.open_reply(desk.db, desk.config, desk.account, desk.ticket_of("c1@customer.example"))
    item_id = outbox.enqueue(desk.db, composer.save_draft(desk.db, draft, body="Hi"), desk.config, desk.account)
    smtp_server.fail_next = 1
    assert outbox.drain(desk.db, desk.account, desk.password).sent == []
    item = _item(desk, item_id)
    assert item.state == "queued" and item.error_kind == "temporary" and "451 4.3.0" in item.error
    assert item.next_attempt_at and item.next_attempt_at > datetime.now(UTC)
    with desk.db.write() as conn:
        outbox_rows.update(conn, item_id, next_attempt_at=datetime.now(UTC) - timedelta(seconds=1))
    assert outbox.drain(desk.db, desk.account, desk.password).sent == [item_id]


def test_offline_queue_drains_when_the_server_is_back(world: Any, mailhost: Any, smtp_server: Any) -> None:
    desk, _support, customer = world
    [closed] = free_ports(1, mailhost.host)
    assert desk.account.smtp is not None
    offline = replace(desk.account, smtp=replace(desk.account.smtp, port=closed),
                      imap=Server(mailhost.host, closed, "starttls", ca_file=str(mailhost.ca_file), timeout=5))  # fmt: skip
    ids = []
    for i in range(3):
        draft = composer.open_reply(desk.db, desk.config, desk.account, desk.ticket_of("c1@customer.example"))
        ids.append(outbox.enqueue(desk.db, composer.save_draft(desk.db, draft, body=f"Reply {i}"), desk.config,
                                  desk.account))  # fmt: skip
    report = outbox.drain(desk.db, offline, desk.password)
    assert report.state == "offline" and "refused the connection" in report.reason and report.sent == []
    assert {_item(desk, i).state for i in ids} == {"queued"}
    report = outbox.drain(desk.db, desk.account, desk.password)
    assert report.sent == ids and len(smtp_server.sent) == 3
    assert sum(message_ids(mailhost, customer.name).values()) == 3


def test_no_automatic_reply_to_automatic_mail(world: Any, mailhost: Any) -> None:
    desk, support, customer = world
    ooo, ooo_id = customer_mail(customer.address, support.address, subject="Automatic reply: Printer broken",
                                body="I am away.", in_reply_to="<c1@customer.example>",
                                headers={"Auto-Submitted": "auto-replied"})  # fmt: skip
    mailhost.dovecot.deliver(support.name, ooo, sender=customer.address)
    desk.sync()
    ref = desk.ticket_of("c1@customer.example")
    draft = composer.open_reply(desk.db, desk.config, desk.account, ref)
    assert draft.in_reply_to == "c1@customer.example"  # the human mail is what we answer
    auto_to_ooo = composer.save_draft(desk.db, draft, body="Got it", in_reply_to=ooo_id)
    with pytest.raises(outbox.AutoReplyRefused):
        outbox.enqueue(desk.db, auto_to_ooo, desk.config, desk.account, automatic=True)
    item_id = outbox.enqueue(desk.db, composer.save_draft(desk.db, auto_to_ooo, body="Hi"), desk.config,
                             desk.account)  # fmt: skip
    assert b"Auto-Submitted" not in _item(desk, item_id).raw  # a person's reply is not automatic
    with desk.db.read() as conn:
        assert outbox_rows.counts(conn) == {"queued": 1}


def test_collisions_new_customer_mail_colleague_reply_and_composing(world: Any, mailhost: Any) -> None:
    desk, support, customer = world
    ref = desk.ticket_of("c1@customer.example")
    draft = composer.open_reply(desk.db, desk.config, desk.account, ref)
    assert collisions.composing_marks(desk.db, ref)[0][0] == desk.config.agent.email
    assert collisions.check_collisions(desk.db, ref, draft.opened_at, draft.agent) == []
    more, _ = customer_mail(customer.address, support.address, subject="Re: Printer broken", body="Also smoke!",
                            in_reply_to="<c1@customer.example>")  # fmt: skip
    mailhost.dovecot.deliver(support.name, more, sender=customer.address)
    colleague, _ = customer_mail(f"Support <{support.address}>", customer.address, subject=f"Re: [#{ref}] x",
                                 body="Try turning it off", in_reply_to="<c1@customer.example>")  # fmt: skip
    mailhost.dovecot.append(support.name, "Sent", colleague)
    collisions.note_composing(desk.db, ref, "bo@example.test")
    found = collisions.check_collisions(
        desk.db, ref, draft.opened_at, draft.agent,
        sync=lambda: collisions.sync_ticket_folders(desk.db, desk.account, desk.password, ref),
    )
    assert sorted(c.kind for c in found) == ["agent", "composing", "customer"]
    assert next(c for c in found if c.kind == "customer").snippet == "Also smoke!"
    outbox.enqueue(desk.db, composer.save_draft(desk.db, draft, body="Hi"), desk.config, desk.account)
    assert [w for w, _ in collisions.composing_marks(desk.db, ref)] == ["bo@example.test"]


def test_cli_reply_outbox_and_templates(world: Any, mailhost: Any, tmp_path: Path, capsys: Any) -> None:
    from tui_desk import cli
    from tui_desk.config import save_config
    from tui_desk.credentials import set_password

    desk, _support, customer = world
    ref = desk.ticket_of("c1@customer.example")
    config_file = tmp_path / "config.toml"
    save_config(config_file, desk.config)
    set_password(desk.account.name, desk.password)  # the in-memory keyring of conftest
    base = ["--data-dir", str(desk.db.path.parent), "--config", str(config_file)]
    body = tmp_path / "body.txt"
    body.write_text("We are on it.")
    assert cli.main([*base, "reply", ref.lower(), "--template", "Thanks, looking into it", "--body-file", str(body),
                     "--status", "on-hold", "--no-send"]) == 0  # fmt: skip
    assert "queued as outbox item" in capsys.readouterr().out
    assert cli.main([*base, "outbox", "--send"]) == 0
    assert "1 sent" in capsys.readouterr().out
    assert cli.main([*base, "outbox", "--format", "json"]) == 0
    assert '"state": "sent"' in capsys.readouterr().out
    [got] = fetch_all(mailhost, customer.name)
    text = message_from_bytes(got, policy=policy.default).get_content()
    assert text.startswith("Hello Janez,") and "We are on it." in text
    assert desk.detail(ref)["status"] == "on-hold"
    assert cli.main([*base, "reply", ref, "--template", "No such template"]) == 2
    assert "no template named" in capsys.readouterr().err
    assert cli.main([*base, "templates", "export", str(tmp_path / "tpl")]) == 0
    assert cli.main([*base, "templates", "import", str(tmp_path / "tpl")]) == 0
    assert "9 templates imported" in capsys.readouterr().out
    assert cli.main([*base, "templates", "show", "Solved, closing"]) == 0
    assert capsys.readouterr().out.split("\n")[1] == "name: Solved, closing"


def test_worker_loop_drains_and_stops(world: Any, smtp_server: Any) -> None:
    import threading

    from tui_desk.tickets.outbox_run import keep_draining

    desk, _support, _customer = world
    draft = composer.open_reply(desk.db, desk.config, desk.account, desk.ticket_of("c1@customer.example"))
    outbox.enqueue(desk.db, composer.save_draft(desk.db, draft, body="Hi"), desk.config, desk.account)
    stop, reports = threading.Event(), []

    def on_report(report: outbox.DrainReport) -> None:
        reports.append(report)
        stop.set()

    keep_draining(desk.db, desk.account, desk.password, stop, on_report)
    assert len(reports) == 1 and len(reports[0].sent) == 1 and len(smtp_server.sent) == 1
