"""Threading does not depend on the order mail arrives in.

Two agents sync the same mailbox in different orders (a first sync newest first in batches, an
incremental sync oldest first, `tui-desk import` in file order), so each conversation must end
as the same set of messages under the same ticket id on both machines. Every test here stores
one set of mail once, then threads copies of it in several arrival orders and batchings and
asserts one result: ticket id -> the Message-IDs in it. The small cases also assert what that
result is. (`test_threading_batch` checks the other half: a batch threads as its messages would
one by one.)
"""

from __future__ import annotations

import random
from datetime import UTC, datetime
from email import message_from_bytes, policy
from email.utils import format_datetime
from pathlib import Path

import pytest
from orderkit import Mailbox, Piece, Result, chunks, differences, result_of, same_in_every_order
from ticketkit import AGENT, T0, days, mail

from tui_desk.demo.mailgen import generate
from tui_desk.storage.db import Database
from tui_desk.tickets import apply, threading
from tui_desk.tickets.ids import ref_for, subject_key
from tui_desk.tickets.model import Event, Hlc

CUSTOMER = "Marko Novak <marko@stranka.si>"
OURS = f"Ana <{AGENT}>"
AUTO = {"Auto-Submitted": "auto-replied"}


def _box(tmp_path: Path, *pieces: Piece) -> Mailbox:
    return Mailbox(tmp_path, pieces)


def _customer(msgid: str, at: float, subject: str = "Ne deluje tiskalnik", **kw: object) -> Piece:
    return Piece(mail(frm=CUSTOMER, msgid=msgid, subject=subject, date=T0 + days(at), **kw))  # type: ignore[arg-type]


def _ours(msgid: str, at: float, subject: str, **kw: object) -> Piece:
    return Piece(mail(frm=OURS, to=CUSTOMER, msgid=msgid, subject=subject, date=T0 + days(at), **kw), "Sent")  # type: ignore[arg-type]


def _tag(root: str) -> str:
    return f"[#{ref_for(root)}]"


# --- the cases that diverged -------------------------------------------------------------------


@pytest.mark.parametrize("with_reply_to", [True, False], ids=["in-reply-to", "no-headers"])
def test_auto_reply_before_its_original(tmp_path: Path, with_reply_to: bool) -> None:
    """An out-of-office answer to our reply joins that ticket once the reply is there; without
    In-Reply-To it refers to nothing and stands apart, marked automatic, in every order."""
    headers = {"in_reply_to": "r@desk.example"} if with_reply_to else {}
    box = _box(
        tmp_path,
        _customer("o@stranka.si", 0),
        _ours("r@desk.example", 1, f"Re: {_tag('o@stranka.si')} Ne deluje tiskalnik", in_reply_to="o@stranka.si",
              references=["o@stranka.si"]),
        _customer("ooo@stranka.si", 1.1, "Samodejni odgovor: Ne deluje tiskalnik", headers=AUTO, **headers),
    )  # fmt: skip
    got = same_in_every_order(box)
    conversation = {"o@stranka.si", "r@desk.example"}
    if with_reply_to:
        assert got == {ref_for("o@stranka.si"): frozenset(conversation | {"ooo@stranka.si"})}
    else:
        assert got == {ref_for("o@stranka.si"): frozenset(conversation), ref_for("ooo@stranka.si"): {"ooo@stranka.si"}}


def test_auto_reply_chain_and_a_reply_to_an_auto_reply(tmp_path: Path) -> None:
    """An auto-reply to an auto-reply, and our answer to the first one (In-Reply-To only): all
    follow the auto-reply into the conversation it answers."""
    box = _box(
        tmp_path,
        _customer("o@stranka.si", 0),
        _ours("r@desk.example", 1, "Re: Ne deluje tiskalnik", in_reply_to="o@stranka.si", references=["o@stranka.si"]),
        _customer("ooo@stranka.si", 1.1, "Samodejni odgovor: Re: Ne deluje tiskalnik", headers=AUTO,
                  in_reply_to="r@desk.example"),
        Piece(mail(frm="robot@stranka.si", msgid="ooo2@stranka.si", subject="Auto: Samodejni odgovor", headers=AUTO,
                   in_reply_to="ooo@stranka.si", date=T0 + days(1.2))),
        _ours("q@desk.example", 2, "Re: Samodejni odgovor", in_reply_to="ooo@stranka.si"),
    )  # fmt: skip
    got = same_in_every_order(box, sizes=(1, 3))
    assert got == {ref_for("o@stranka.si"): frozenset(
        {"o@stranka.si", "r@desk.example", "ooo@stranka.si", "ooo2@stranka.si", "q@desk.example"})}  # fmt: skip


@pytest.mark.parametrize("reply_at", [0.5, 3, 29])
def test_outlook_reply_without_references_before_or_after_the_original(tmp_path: Path, reply_at: float) -> None:
    """Joined by subject; the ticket id comes from the original whichever came first."""
    box = _box(
        tmp_path,
        _customer("o@stranka.si", 0),
        _customer("outlook@stranka.si", reply_at, "RE: Ne deluje tiskalnik"),
        _ours("r@desk.example", reply_at + 0.5, "Re: Ne deluje tiskalnik", in_reply_to="outlook@stranka.si",
              references=["outlook@stranka.si"]),
    )  # fmt: skip
    got = same_in_every_order(box)
    assert got == {ref_for("o@stranka.si"): frozenset({"o@stranka.si", "outlook@stranka.si", "r@desk.example"})}


def test_subject_matches_20_and_45_days_after_the_first_mail_chain_into_one_ticket(tmp_path: Path) -> None:
    """Day 0, day 20 and day 45: each within 30 days of the one before, so one conversation,
    however the three arrive (the day-45 mail first used to start a ticket day 0 could not join)."""
    box = _box(
        tmp_path,
        _customer("a@stranka.si", 0),
        _customer("b@stranka.si", 20, "Re: Ne deluje tiskalnik"),
        _customer("c@stranka.si", 45, "Odg: Ne deluje tiskalnik"),
    )
    got = same_in_every_order(box)
    assert got == {ref_for("a@stranka.si"): frozenset({"a@stranka.si", "b@stranka.si", "c@stranka.si"})}


def test_subject_match_counts_any_message_of_the_ticket_not_only_the_last(tmp_path: Path) -> None:
    """A ticket with mail on day 0 and day 60 (a reply by headers): a subject-only mail on day 10
    belongs to it, whether or not the day-60 reply was there when it arrived."""
    box = _box(
        tmp_path,
        _customer("a@stranka.si", 0),
        _customer("late@stranka.si", 60, "Re: Ne deluje tiskalnik", in_reply_to="a@stranka.si"),
        _customer("s@stranka.si", 10, "RE: Ne deluje tiskalnik"),
    )
    got = same_in_every_order(box)
    assert got == {ref_for("a@stranka.si"): frozenset({"a@stranka.si", "late@stranka.si", "s@stranka.si"})}


def test_same_subject_more_than_30_days_apart_is_two_conversations(tmp_path: Path) -> None:
    """Two conversations of one customer with one subject, 40 days apart; an Outlook reply 3
    days into the second belongs to the second only."""
    box = _box(
        tmp_path,
        _customer("a@stranka.si", 0, "Račun"),
        _ours("ra@desk.example", 2, "Re: Račun", in_reply_to="a@stranka.si", references=["a@stranka.si"]),
        _customer("b@stranka.si", 40, "Račun"),
        _customer("rb@stranka.si", 43, "RE: Račun"),
    )
    got = same_in_every_order(box)
    assert got == {
        ref_for("a@stranka.si"): frozenset({"a@stranka.si", "ra@desk.example"}),
        ref_for("b@stranka.si"): frozenset({"b@stranka.si", "rb@stranka.si"}),
    }


@pytest.mark.parametrize("headers", [True, False], ids=["with-references", "tag-only"])
def test_our_tagged_reply_from_sent_before_the_customers_first_mail(tmp_path: Path, headers: bool) -> None:
    """Our reply (Sent) arrives first; the customer's mail and the customer's answer to the tag
    (a new subject, no headers, weeks later) all end in the ticket named after the first mail."""
    refs = {"in_reply_to": "o@stranka.si", "references": ["o@stranka.si"]} if headers else {}
    box = _box(
        tmp_path,
        _customer("o@stranka.si", 0),
        _ours("r@desk.example", 1, f"Re: {_tag('o@stranka.si')} Ne deluje tiskalnik", **refs),
        _customer("x@stranka.si", 40, f"Še vedno ne dela {_tag('o@stranka.si')}"),
    )
    got = same_in_every_order(box)
    assert got == {ref_for("o@stranka.si"): frozenset({"o@stranka.si", "r@desk.example", "x@stranka.si"})}


def test_a_stranger_using_the_tag_stays_apart_in_every_order(tmp_path: Path) -> None:
    box = _box(
        tmp_path,
        _customer("o@stranka.si", 0),
        _ours("r@desk.example", 1, f"Re: {_tag('o@stranka.si')} x", in_reply_to="o@stranka.si"),
        Piece(mail(frm="mallory@napad.com", msgid="evil@napad.com", subject=f"Re: {_tag('o@stranka.si')} x",
                   date=T0 + days(2))),
    )  # fmt: skip
    got = same_in_every_order(box)
    assert got == {ref_for("o@stranka.si"): frozenset({"o@stranka.si", "r@desk.example"}),
                   ref_for("evil@napad.com"): frozenset({"evil@napad.com"})}  # fmt: skip


def _bounce(msgid: str, at: float, refers_to: str, *, in_headers: bool) -> Piece:
    """A delivery status notification (multipart/report) for our mail `refers_to`, which it
    names in its In-Reply-To/References or (as Postfix does) only in the returned headers."""
    refs = f"In-Reply-To: <{refers_to}>\nReferences: <{refers_to}>\n" if in_headers else ""
    raw = f"""From: Mail Delivery System <MAILER-DAEMON@mx.stranka.si>
To: {AGENT}
Subject: Undelivered Mail Returned to Sender
Date: {format_datetime(T0 + days(at))}
Message-ID: <{msgid}>
{refs}MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status; boundary="b1"

--b1
Content-Type: text/plain

This is the mail system at host mx.stranka.si. I'm sorry to have to inform you that your
message could not be delivered to one or more recipients.

--b1
Content-Type: message/delivery-status

Reporting-MTA: dns; mx.stranka.si

Final-Recipient: rfc822; marko@stranka.si
Action: failed
Status: 5.1.1

--b1
Content-Type: text/rfc822-headers

From: {OURS}
To: {CUSTOMER}
Subject: Re: Ne deluje tiskalnik
Message-ID: <{refers_to}>

--b1--
"""
    return Piece(raw.replace("\n", "\r\n").encode())


@pytest.mark.parametrize("in_headers", [True, False], ids=["references", "report-part-only"])
def test_bounce_of_our_reply(tmp_path: Path, in_headers: bool) -> None:
    """A bounce naming our reply in its headers joins that ticket, marked automatic; one that
    names it only inside the report stands apart; either way in every order."""
    box = _box(
        tmp_path,
        _customer("o@stranka.si", 0),
        _ours("r@desk.example", 1, "Re: Ne deluje tiskalnik", in_reply_to="o@stranka.si", references=["o@stranka.si"]),
        _bounce("bounce@mx.stranka.si", 1.01, "r@desk.example", in_headers=in_headers),
    )
    got = same_in_every_order(box)
    conversation = frozenset({"o@stranka.si", "r@desk.example"})
    if in_headers:
        assert got == {ref_for("o@stranka.si"): conversation | {"bounce@mx.stranka.si"}}
    else:
        assert got == {ref_for("o@stranka.si"): conversation, ref_for("bounce@mx.stranka.si"): {"bounce@mx.stranka.si"}}


def test_bounce_referring_to_two_conversations_joins_one_and_merges_none(tmp_path: Path) -> None:
    box = _box(
        tmp_path,
        _customer("a@stranka.si", 0, "Ena"),
        Piece(mail(frm="janez@drugi.si", msgid="b@drugi.si", subject="Dve", date=T0)),
        Piece(mail(frm="MAILER-DAEMON@mx.example", msgid="bounce@mx", subject="Undelivered", headers=AUTO,
                   references=["b@drugi.si", "a@stranka.si"], date=T0 + days(1))),
    )  # fmt: skip
    got = same_in_every_order(box)
    assert got == {ref_for("a@stranka.si"): frozenset({"a@stranka.si", "bounce@mx"}),
                   ref_for("b@drugi.si"): frozenset({"b@drugi.si"})}  # fmt: skip


def test_reply_chain_without_the_first_mail_is_named_after_it(tmp_path: Path) -> None:
    """The root is missing (synced with --since): every order names the ticket after it, as a
    machine that has it does."""
    box = _box(
        tmp_path,
        _customer("b@stranka.si", 5, "Re: x", in_reply_to="a@stranka.si", references=["a@stranka.si"]),
        _ours("c@desk.example", 6, "Re: x", in_reply_to="b@stranka.si", references=["a@stranka.si", "b@stranka.si"]),
        _customer("d@stranka.si", 7, "Re: x", in_reply_to="c@desk.example"),
    )  # fmt: skip
    assert same_in_every_order(box) == {
        ref_for("a@stranka.si"): frozenset({"b@stranka.si", "c@desk.example", "d@stranka.si"})
    }


# --- closed tickets: local state, decided by the mail's Date -----------------------------------


def _close(box: Mailbox, run: int, ref: str, at: datetime) -> None:
    """Close ticket `ref` in copy `run` with a clock reading of `at` (an agent did it then)."""
    db = Database.in_dir(box.where / f"run{run}")
    with db.write() as conn:
        hlc = str(Hlc(int(at.timestamp() * 1000), 0, AGENT))
        apply.record(conn, [Event(ref, "status", "set", "closed", hlc, AGENT, f"close-{ref}")], pushed=True)
    db.close()


def test_mail_to_a_closed_ticket_is_a_follow_up_only_if_written_after_it_was_closed(tmp_path: Path) -> None:
    """Whether a ticket is closed is this machine's state, so no order can make it disappear;
    but a late-arriving mail written *before* the close joins the ticket (as it would have, had
    it arrived on time) and one written after starts the follow-up, whatever the arrival order."""
    box = _box(
        tmp_path,
        _customer("o@stranka.si", 0),
        _customer("before@stranka.si", 2, "Re: x", in_reply_to="o@stranka.si"),
        _customer("after@stranka.si", 5, "Re: x", in_reply_to="before@stranka.si",
                  references=["o@stranka.si", "before@stranka.si"]),
        _customer("after2@stranka.si", 6, "Re: x", in_reply_to="after@stranka.si",
                  references=["o@stranka.si", "after@stranka.si"]),
    )  # fmt: skip
    o, before, after, after2 = box.ids
    results = []
    for late in ([before, after, after2], [after2, after, before], [after, after2, before], [after2, before, after]):
        box.thread([o])
        _close(box, box.runs, ref_for("o@stranka.si"), T0 + days(3))
        db = Database.in_dir(box.where / f"run{box.runs}")
        for mid in late:
            with db.write() as conn:
                threading.assign(conn, [mid])
        results.append(result_of(db))
        db.close()
    assert all(r == results[0] for r in results), results
    assert results[0] == {ref_for("o@stranka.si"): frozenset({"o@stranka.si", "before@stranka.si"}),
                          ref_for("after@stranka.si"): frozenset({"after@stranka.si", "after2@stranka.si"})}  # fmt: skip


# --- the generated demo mailbox --------------------------------------------------------------


def _demo_pieces(count: int) -> list[Piece]:
    """Generated mail as a desk sees it: our replies come from Sent and carry the ticket tag
    (every third one *only* the tag, as from webmail), auto-replies, Outlook replies without
    References, four languages."""
    out = []
    roots: dict[tuple[str, str], str] = {}  # (customer, subject) -> the conversation's first mail
    for n, m in enumerate(generate(count, seed=41, domain="desk.example", start=datetime(2026, 11, 20, tzinfo=UTC))):
        msg = message_from_bytes(m.raw, policy=policy.default)
        subject = str(msg["Subject"])
        if m.kind == "new":
            roots[(m.from_addr, subject_key(subject))] = m.message_id
        if m.kind != "agent-reply":
            out.append(Piece(m.raw))
            continue
        del msg["Subject"]
        msg["Subject"] = f"Re: {_tag(roots[(m.from_addr, subject_key(subject))])} {subject.removeprefix('Re: ')}"
        if n % 3 == 0:
            del msg["References"]
            del msg["In-Reply-To"]
        out.append(Piece(msg.as_bytes(), "Sent"))
    return out


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Mailbox:
    """~900 generated messages (~600 tickets) stored unthreaded."""
    return Mailbox(tmp_path_factory.mktemp("demo"), _demo_pieces(900))


@pytest.fixture(scope="module")
def demo_oldest_first(demo: Mailbox) -> Result:
    """The reference: an incremental sync, one message at a time, oldest first."""
    got = demo.thread(demo.by_date, 1)
    assert 500 < len(got) < 800
    return got


@pytest.mark.parametrize(
    ("label", "size", "seed"),
    [("newest first (first sync)", 50, None), ("newest first, one at a time", 1, None),
     ("oldest first in batches", 200, None), ("shuffled (import)", 37, 1), ("shuffled, one at a time", 1, 2),
     ("shuffled, big batches", 300, 3)],
)  # fmt: skip
def test_demo_mailbox_threads_the_same_in_any_order(
    demo: Mailbox, demo_oldest_first: Result, label: str, size: int, seed: int | None
) -> None:
    arrival = demo.by_date[::-1] if seed is None and "newest" in label else list(demo.by_date)
    if seed is not None:
        random.Random(seed).shuffle(arrival)
    assert differences(demo.thread(arrival, size), demo_oldest_first) == [], label


def test_demo_mailbox_newest_first_first_sync_then_incremental(demo: Mailbox, demo_oldest_first: Result) -> None:
    """A first sync of the older two thirds newest first, then the rest oldest first."""
    cut = len(demo.by_date) * 2 // 3
    got = demo.thread_batches(chunks(demo.by_date[:cut][::-1], 50) + chunks(demo.by_date[cut:], 1))
    assert differences(got, demo_oldest_first) == []
