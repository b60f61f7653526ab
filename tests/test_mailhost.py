"""The test mail host works for real: TLS trust, delivery paths, SMTP policy replies, special instances.

Why these tests: every IMAP-sync and SMTP-send test builds on these fixtures; if the host misbehaves, those
failures would be misread as app bugs.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import smtplib
import ssl
import subprocess
import time
from collections.abc import Callable

import pytest
from imapclient import IMAPClient
from mailhost import NO_CONDSTORE_CAPABILITIES, DovecotServer, MailHost, MailUser, SeedMessage, SmtpServer

pytestmark = pytest.mark.timeout(60)


def _message(subject: str, to: str = "someone@example.test", sender: str = "sender@example.test") -> bytes:
    return (
        f"From: {sender}\r\nTo: {to}\r\nSubject: {subject}\r\n"
        f"Message-ID: <{subject.replace(' ', '-')}@example.test>\r\n"
        f"Date: {email.utils.formatdate()}\r\n\r\nHello {subject}\r\n"
    ).encode()


def _subjects(client: IMAPClient, folder: str = "INBOX") -> list[str]:
    client.select_folder(folder, readonly=True)
    data = client.fetch(client.search("ALL"), ["BODY.PEEK[HEADER.FIELDS (SUBJECT)]"])
    return sorted(
        v[b"BODY[HEADER.FIELDS (SUBJECT)]"].decode().split(":", 1)[1].strip() for v in data.values()
    )


def _smtp_login(mailhost: MailHost, user: MailUser) -> smtplib.SMTP:
    smtp = smtplib.SMTP(mailhost.host, mailhost.smtp_port, local_hostname="client.test", timeout=10)
    smtp.starttls(context=ssl.create_default_context(cafile=str(mailhost.ca_file)))
    smtp.login(user.name, user.password)
    return smtp


# ------------------------------------------------------------------------------------------------- IMAP + TLS
def test_imap_plain_login(mailhost: MailHost, mail_user: MailUser) -> None:
    with IMAPClient(mailhost.host, port=mailhost.imap_port, ssl=False, timeout=10) as client:
        assert b"STARTTLS" in client.capabilities()
        client.login(mail_user.name, mail_user.password)
        assert client.select_folder("INBOX")[b"EXISTS"] == 0


def test_starttls_and_imaps_verify_against_test_ca(mailhost: MailHost, mail_user: MailUser) -> None:
    ctx = ssl.create_default_context(cafile=str(mailhost.ca_file))
    with IMAPClient("localhost", port=mailhost.imap_port, ssl=False, timeout=10) as client:
        client.starttls(ctx)
        client.login(mail_user.name, mail_user.password)
    with IMAPClient(mailhost.host, port=mailhost.imaps_port, ssl=True, ssl_context=ctx, timeout=10) as client:
        client.login(mail_user.name, mail_user.password)


def test_tls_fails_against_default_trust(mailhost: MailHost) -> None:
    with pytest.raises(ssl.SSLCertVerificationError):
        IMAPClient(
            mailhost.host, port=mailhost.imaps_port, ssl=True, ssl_context=ssl.create_default_context()
        )
    with (
        IMAPClient(mailhost.host, port=mailhost.imap_port, ssl=False, timeout=10) as client,
        pytest.raises(ssl.SSLCertVerificationError),
    ):
        client.starttls(ssl.create_default_context())


def test_untrusted_instance_is_rejected_by_test_ca(
    mailhost: MailHost, make_dovecot: Callable[..., DovecotServer]
) -> None:
    server = make_dovecot(untrusted_tls=True)
    trusting_test_ca = ssl.create_default_context(cafile=str(mailhost.ca_file))
    with pytest.raises(ssl.SSLCertVerificationError):
        IMAPClient(server.host, port=server.imaps_port, ssl=True, ssl_context=trusting_test_ca, timeout=10)
    with server.imap_client("support", tls="ssl", ssl_context=mailhost.untrusted.client_context()) as client:
        assert client.select_folder("INBOX")[b"EXISTS"] == 0


def test_special_use_folders(mailhost: MailHost, mail_user: MailUser) -> None:
    with mailhost.dovecot.imap_client(mail_user.name) as client:
        special = {name: flags for flags, _, name in client.list_folders()}
        assert rb"\Sent" in special["Sent"]
        for name, flag in [("Drafts", rb"\Drafts"), ("Trash", rb"\Trash"), ("Junk", rb"\Junk")]:
            assert flag in special[name]
        assert rb"\Archive" in special["Archive"]
        subscribed = {name for _, _, name in client.list_sub_folders()}
        assert {"Sent", "Drafts", "Trash", "Junk", "Archive"} <= subscribed
        assert b"CONDSTORE" in client.capabilities()
        assert b"QRESYNC" in client.capabilities()


def test_no_condstore_instance(make_dovecot: Callable[..., DovecotServer]) -> None:
    server = make_dovecot(capabilities=NO_CONDSTORE_CAPABILITIES, shared=True)
    with server.imap_client("support") as client:
        caps = client.capabilities()
        assert b"CONDSTORE" not in caps
        assert b"QRESYNC" not in caps
        assert {b"IDLE", b"UIDPLUS", b"SPECIAL-USE", b"MOVE"} <= set(caps)


# ------------------------------------------------------------------------------------------------- delivery
def test_lmtp_and_lda_delivery_visible_over_imap(mailhost: MailHost, mail_user: MailUser) -> None:
    mailhost.dovecot.deliver(mail_user.name, _message("via lmtp"))
    mailhost.dovecot.deliver(mail_user.name, _message("via lda"), folder="Tickets/Open")
    with mailhost.dovecot.imap_client(mail_user.name) as client:
        assert _subjects(client) == ["via lmtp"]
        assert _subjects(client, "Tickets/Open") == ["via lda"]


def test_append_returns_uid_with_flags_and_date(mailhost: MailHost, mail_user: MailUser) -> None:
    when = dt.datetime(2024, 3, 1, 9, 12, 47, tzinfo=dt.timezone(dt.timedelta(hours=1)))
    uid = mailhost.dovecot.append(mail_user.name, "Sent", _message("appended"), flags=[r"\Seen"], date=when)
    assert uid == 1
    with mailhost.dovecot.imap_client(mail_user.name) as client:
        client.normalise_times = False
        client.select_folder("Sent", readonly=True)
        data = client.fetch([uid], ["FLAGS", "INTERNALDATE"])[uid]
        assert rb"\Seen" in data[b"FLAGS"]
        assert data[b"INTERNALDATE"] == when  # same moment; the zone may differ (note 14)


def test_seed_maildir_100_messages_with_internaldate(mailhost: MailHost, mail_user: MailUser) -> None:
    base = dt.datetime(2023, 5, 1, 12, 0, tzinfo=dt.timezone(dt.timedelta(hours=2)))
    messages = [
        SeedMessage(_message(f"seed {i:03d}"), date=base + dt.timedelta(hours=i), flags="S" if i % 2 else "")
        for i in range(100)
    ]
    mailhost.dovecot.seed_maildir(mail_user.name, "INBOX", messages)
    mailhost.dovecot.seed_maildir(mail_user.name, "Archive/2023", messages[:3])
    with mailhost.dovecot.imap_client(mail_user.name) as client:
        client.normalise_times = False
        client.select_folder("INBOX", readonly=True)
        uids = client.search("ALL")
        assert len(uids) == 100
        assert len(client.search("SEEN")) == 50
        data = client.fetch(uids, ["INTERNALDATE", "RFC822.SIZE", "BODY.PEEK[HEADER.FIELDS (SUBJECT)]"])
        by_subject = {
            v[b"BODY[HEADER.FIELDS (SUBJECT)]"].decode().split(":", 1)[1].strip(): v for v in data.values()
        }
        for i, msg in enumerate(messages):
            got = by_subject[f"seed {i:03d}"]
            assert got[b"INTERNALDATE"] == msg.date  # compare moments, not strings
            assert got[b"RFC822.SIZE"] == len(msg.raw)  # CRLF size, from the W= in the file name
        assert _subjects(client, "Archive/2023") == ["seed 000", "seed 001", "seed 002"]
        # Seeding a child first must not turn the special-use parent into a \Noselect directory.
        archive_flags = {name: flags for flags, _, name in client.list_folders()}["Archive"]
        assert rb"\Noselect" not in archive_flags


# ------------------------------------------------------------------------------------------------- SMTP
def test_smtp_starttls_auth_delivers_to_inbox(
    mailhost: MailHost, smtp_server: SmtpServer, make_mail_user: Callable[..., MailUser]
) -> None:
    agent, customer = make_mail_user(), make_mail_user()
    raw = _message("smtp reply", to=customer.address, sender=agent.address)
    with _smtp_login(mailhost, agent) as smtp:
        assert smtp.sendmail(agent.address, [customer.address, "outside@elsewhere.test"], raw) == {}
    [sent] = smtp_server.sent
    assert sent.mail_from == agent.address
    assert sent.rcpt_tos == (customer.address, "outside@elsewhere.test")
    assert sent.auth_user == agent.name
    assert sent.data == raw
    with mailhost.dovecot.imap_client(customer.name) as client:
        assert _subjects(client) == ["smtp reply"]


def test_smtp_auth_only_after_starttls(mailhost: MailHost, mail_user: MailUser) -> None:
    with smtplib.SMTP(mailhost.host, mailhost.smtp_port, local_hostname="client.test", timeout=10) as smtp:
        smtp.ehlo()
        assert smtp.has_extn("starttls")
        assert not smtp.has_extn("auth")
        code, _ = smtp.docmd("MAIL FROM:<x@example.test>")
        assert code == 530


def test_smtps_implicit_tls(mailhost: MailHost, smtp_server: SmtpServer, mail_user: MailUser) -> None:
    assert mailhost.smtps_port is not None
    ctx = ssl.create_default_context(cafile=str(mailhost.ca_file))
    with smtplib.SMTP_SSL("localhost", mailhost.smtps_port, context=ctx, timeout=10) as smtp:
        smtp.login(mail_user.address, mail_user.password)  # full address works as login too
        smtp.sendmail(mail_user.address, [mail_user.address], _message("over smtps"))
    with mailhost.dovecot.imap_client(mail_user.name) as client:
        assert _subjects(client) == ["over smtps"]


def test_smtp_wrong_password_gives_535(mailhost: MailHost, mail_user: MailUser) -> None:
    _smtp_login(mailhost, mail_user).quit()  # the right password works
    with pytest.raises(smtplib.SMTPAuthenticationError) as excinfo:
        _smtp_login(mailhost, mail_user._replace(password="wrong"))
    assert excinfo.value.smtp_code == 535


def test_smtp_refusals(mailhost: MailHost, smtp_server: SmtpServer, mail_user: MailUser) -> None:
    smtp_server.refuse_recipients.add("blocked@elsewhere.test")
    with _smtp_login(mailhost, mail_user) as smtp:
        for rcpt in ("Blocked@elsewhere.test", f"nobody@{mailhost.domain}"):
            with pytest.raises(smtplib.SMTPRecipientsRefused) as refused:
                smtp.sendmail(mail_user.address, [rcpt], _message("refused"))
            assert refused.value.recipients[rcpt][0] == 550
        smtp_server.fail_next = 1
        with pytest.raises(smtplib.SMTPDataError) as failed:
            smtp.sendmail(mail_user.address, [mail_user.address], _message("temporary"))
        assert failed.value.smtp_code == 451
        retry = _message("second try")
        smtp.sendmail(mail_user.address, [mail_user.address], retry)
    smtp_server.max_size = 100
    with _smtp_login(mailhost, mail_user) as smtp:
        with pytest.raises(smtplib.SMTPSenderRefused) as too_big:
            smtp.sendmail(mail_user.address, [mail_user.address], _message("x" * 200))
        assert too_big.value.smtp_code == 552
    assert [s.data for s in smtp_server.sent] == [retry]


# ------------------------------------------------------------------------------------------------- lifecycle
def test_stop_restart_same_port_and_no_leftovers(make_dovecot: Callable[..., DovecotServer]) -> None:
    server = make_dovecot()
    port = server.imap_port
    client = server.imap_client("support")
    client.select_folder("INBOX")
    server.stop()
    assert server.leftover_pids() == []
    assert subprocess.run(["pgrep", "-f", server.instance_name], check=False).returncode == 1
    with pytest.raises((OSError, IMAPClient.Error, IMAPClient.AbortError)):
        client.noop()
    with pytest.raises(ConnectionRefusedError):
        IMAPClient(server.host, port=port, timeout=2)
    started = time.monotonic()
    server.restart()
    assert time.monotonic() - started < 5
    assert server.imap_port == port
    server.deliver("support", _message("after outage"))
    with server.imap_client("support") as again:
        assert _subjects(again) == ["after outage"]
    server.add_user("late", "pw")  # passwd-file is re-read: no restart needed
    with server.imap_client("late"):
        pass
