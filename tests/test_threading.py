"""Threading: which ticket each message joins, whatever order and however broken the headers."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from pathlib import Path

import pytest
from ticketkit import AGENT, T0, Desk, days, mail

from tui_desk.storage.db import cursor
from tui_desk.tickets import ids, threading, workflow
from tui_desk.tickets.events import encode
from tui_desk.tickets.importer import import_paths
from tui_desk.tickets.model import Event


@pytest.fixture
def desk(tmp_path: Path) -> Iterator[Desk]:
    d = Desk(tmp_path)
    yield d
    d.close()


def _reply(**kw: object) -> bytes:
    base: dict[str, object] = {"frm": "Ana <ana@desk.example>", "to": "marko@stranka.si"}
    base.update(kw)
    return mail(**base)  # type: ignore[arg-type]


# --- ids and subjects -----------------------------------------------------------------------


def test_ticket_id_is_derived_from_the_root_and_long_enough() -> None:
    ref = ids.ref_for("orig@stranka.si")
    assert ref == ids.ref_for("orig@stranka.si") and ref.startswith("T-") and len(ref) == 10
    assert set(ref[2:]) <= set(ids.CROCKFORD)
    refs = {ids.ref_for(f"m{i}@x") for i in range(20000)}
    assert len(refs) == 20000
    assert ids.normalise_ref("t-4hc0") == "T-4HC0" and ids.normalise_ref("4hco") == "T-4HC0"


@pytest.mark.parametrize(
    "subject",
    [
        "Re: Račun 42", "RE: RE: Račun 42", "Fwd: Račun 42", "AW: Račun 42", "SV: Račun 42",
        "Odg: Račun 42", "Отв: Račun 42", "Ответ: Račun 42", "Re[2]: Račun 42", "Re: [#T-4F7K2AB9] Račun 42",
        "FW: Račun 42", "TR: Račun 42", "VS: Račun 42", "Antw: Račun 42", "Re : Račun 42",
        "RE: Odg: Fwd: [#T-4F7K2AB9]  Račun   42", "re(3): račun 42", "回复：Račun 42",
    ],
)  # fmt: skip
def test_subject_normalisation_strips_every_prefix(subject: str) -> None:
    assert ids.subject_key(subject) == "račun 42"


def test_subject_normalisation_keeps_words_that_only_look_like_prefixes() -> None:
    assert ids.subject_key("Renewal: 2027") == "renewal: 2027"
    assert ids.subject_key("Re:") == ""
    assert ids.tags_in_subject("Re: [#t-4f7k2ab9] x") == ["T-4F7K2AB9"]


# --- header threading -----------------------------------------------------------------------


def test_reply_with_references_joins_and_id_comes_from_the_root(desk: Desk) -> None:
    a = desk.add(mail(msgid="orig@stranka.si"))
    b = desk.add(mail(msgid="r2@stranka.si", subject="Re: x", in_reply_to="orig@stranka.si",
                      references=["orig@stranka.si"], date=T0 + days(1)))  # fmt: skip
    assert a == b == ids.ref_for("orig@stranka.si")
    assert desk.detail(a)["messages"][1]["threaded_by"] == "refs"


def test_outlook_reply_without_references_joins_by_subject_for_same_customer(desk: Desk) -> None:
    a = desk.add(mail(msgid="orig@stranka.si", subject="Ne deluje tiskalnik"))
    b = desk.add(mail(msgid="ol@stranka.si", subject="RE: Ne deluje tiskalnik", date=T0 + days(3)))
    assert a == b
    assert [m["threaded_by"] for m in desk.detail(a)["messages"]] == ["new", "subject"]


def test_same_subject_from_another_customer_does_not_join(desk: Desk) -> None:
    a = desk.add(mail(msgid="orig@stranka.si", subject="Ne deluje tiskalnik"))
    b = desk.add(mail(msgid="x@drugi.si", frm="Janez <janez@drugi.si>", subject="RE: Ne deluje tiskalnik",
                      date=T0 + days(1)))  # fmt: skip
    assert a != b


def test_subject_match_older_than_30_days_does_not_join(desk: Desk) -> None:
    a = desk.add(mail(msgid="orig@stranka.si", subject="Ne deluje tiskalnik"))
    b = desk.add(mail(msgid="late@stranka.si", subject="Re: Ne deluje tiskalnik", date=T0 + days(31)))
    c = desk.add(mail(msgid="ok@stranka.si", subject="Re: Ne deluje tiskalnik", date=T0 + days(29)))
    assert a != b
    assert c in (a, b)


@pytest.mark.parametrize(("prefix", "frm"), [("Odg:", "Maja <maja@podjetje.si>"), ("Отв:", "Иван <ivan@firma.ru>")])
def test_slovenian_and_russian_reply_prefixes(desk: Desk, prefix: str, frm: str) -> None:
    subject = "Vprašanje o dostavi" if prefix == "Odg:" else "Вопрос о доставке"
    a = desk.add(mail(msgid="o@x", frm=frm, subject=subject, charset="koi8-r" if "ivan" in frm else "utf-8",
                      body="Когда доставка?" if "ivan" in frm else "Kdaj bo dostava?"))  # fmt: skip
    b = desk.add(mail(msgid="r@x", frm=frm, subject=f"{prefix} {prefix} {subject}", date=T0 + days(1)))
    assert a == b
    assert desk.detail(a)["subject"] == subject


def test_reply_before_original_joins_when_the_original_arrives(desk: Desk) -> None:
    reply = desk.add(mail(msgid="r@stranka.si", subject="Re: Paket", in_reply_to="o@stranka.si",
                          references=["o@stranka.si"], date=T0 + days(1)))  # fmt: skip
    original = desk.add(mail(msgid="o@stranka.si", subject="Paket"))
    assert reply == original == ids.ref_for("o@stranka.si")
    assert len(desk.detail(reply)["messages"]) == 1 + 1


def _conversation() -> list[bytes]:
    """A, an Outlook chain B (In-Reply-To A only) and C (In-Reply-To B only), and D that
    references A and C: any subset links only through headers, never through the subject."""
    return [
        mail(msgid="a@s.si", subject="Zahtevek 1", date=T0),
        mail(msgid="b@desk.example", frm=f"Ana <{AGENT}>", to="marko@stranka.si", subject="Odgovor 2",
             in_reply_to="a@s.si", date=T0 + days(1)),
        mail(msgid="c@s.si", subject="Nekaj tretjega", in_reply_to="b@desk.example", date=T0 + days(2)),
        mail(msgid="d@s.si", subject="Četrto", references=["a@s.si", "c@s.si"], date=T0 + days(3)),
    ]  # fmt: skip


@pytest.mark.parametrize("order", list(itertools.permutations(range(4))))
def test_any_arrival_order_gives_one_ticket_with_the_same_id(tmp_path: Path, order: tuple[int, ...]) -> None:
    d = Desk(tmp_path)
    raws = _conversation()
    for i in order:
        d.add(raws[i])
    assert d.refs() == [ids.ref_for("a@s.si")]
    assert len(d.detail(ids.ref_for("a@s.si"))["messages"]) == 4
    d.close()


def test_two_tickets_that_turn_out_to_be_one_are_joined_and_old_id_still_resolves(desk: Desk) -> None:
    raws = _conversation()
    c = desk.add(raws[2])  # knows only b as its parent: its own ticket, named after b
    a = desk.add(raws[0])
    assert c == ids.ref_for("b@desk.example") and a != c
    joined = desk.add(raws[1])
    assert joined == a
    assert desk.refs() == [a]
    with desk.db.read() as conn:
        assert workflow.resolve(conn, c) == workflow.resolve(conn, a)
    assert any(x["field"] in ("joined", "rerooted") and x["from"] == c for x in desk.detail(a)["audit"])


def test_batch_assign_threads_a_whole_sync_batch(desk: Desk) -> None:
    ids_ = [desk.store(r) for r in reversed(_conversation())]
    with desk.db.write() as conn:
        placed = threading.assign(conn, ids_)
        again = threading.assign(conn, ids_)
    assert set(placed.values()) == {ids.ref_for("a@s.si")}
    assert again == {}


# --- our replies, tags and strangers --------------------------------------------------------


def test_our_reply_with_the_tag_joins_and_counts_as_first_response(desk: Desk) -> None:
    a = desk.add(mail(msgid="orig@stranka.si"))
    b = desk.add(_reply(msgid="ours@desk.example", subject=f"Re: [#{a}] Težava z računom", date=T0 + days(1)),
                 folder="Sent")  # fmt: skip
    assert a == b
    t = desk.detail(a)
    assert t["messages"][1]["ours"] and t["first_response"] == (T0 + days(1)).isoformat()


def test_customer_reply_with_only_the_tag_joins(desk: Desk) -> None:
    a = desk.add(mail(msgid="orig@stranka.si", subject="Prvo"))
    b = desk.add(mail(msgid="x@stranka.si", subject=f"Drugo [#{a}]", date=T0 + days(40)))
    assert a == b
    assert desk.detail(a)["messages"][1]["threaded_by"] == "tag"


def test_cc_participant_may_use_the_tag(desk: Desk) -> None:
    a = desk.add(mail(msgid="orig@stranka.si", cc="Šef <sef@stranka.si>"))
    b = desk.add(mail(msgid="x@stranka.si", frm="sef@stranka.si", subject=f"Re: [#{a}] x", date=T0 + days(1)))
    assert a == b


def test_stranger_using_the_tag_gets_a_new_ticket_that_records_the_claim(desk: Desk) -> None:
    a = desk.add(mail(msgid="orig@stranka.si"))
    b = desk.add(mail(msgid="evil@napad.com", frm="Mallory <mallory@napad.com>",
                      subject=f"Re: [#{a}] Težava z računom", date=T0 + days(1)))  # fmt: skip
    assert b != a
    t = desk.detail(b)
    assert t["claimed_tag"] == a
    assert any(x["field"] == "claimed_tag" and x["to"] == a for x in t["audit"])
    assert len(desk.detail(a)["messages"]) == 1


def test_stranger_with_tag_and_a_real_reference_joins(desk: Desk) -> None:
    a = desk.add(mail(msgid="orig@stranka.si"))
    b = desk.add(mail(msgid="fwd@drugi.si", frm="kolega@drugi.si", subject=f"Re: [#{a}] x",
                      references=["orig@stranka.si"], date=T0 + days(1)))  # fmt: skip
    assert a == b


# --- robots ----------------------------------------------------------------------------------


def test_auto_reply_referencing_a_ticket_joins_marked_automatic_and_does_not_reopen(desk: Desk) -> None:
    a = desk.add(mail(msgid="orig@stranka.si"))
    with desk.db.write() as conn:
        workflow.set_status(conn, a, "pending", AGENT)
    ours = _reply(msgid="ours@desk.example", subject=f"Re: [#{a}] x", references=["orig@stranka.si"],
                  date=T0 + days(1))  # fmt: skip
    desk.add(ours, folder="Sent")
    ooo = mail(msgid="ooo@stranka.si", subject="Samodejni odgovor: x", in_reply_to="ours@desk.example",
               headers={"Auto-Submitted": "auto-replied"}, date=T0 + days(1, ))  # fmt: skip
    assert desk.add(ooo) == a
    t = desk.detail(a)
    assert t["messages"][-1]["automatic"] and t["messages"][-1]["threaded_by"] == "auto"
    assert t["status"] == "pending"


def test_auto_reply_with_a_matching_subject_stands_apart(desk: Desk) -> None:
    a = desk.add(mail(msgid="orig@stranka.si", subject="Ne deluje tiskalnik"))
    b = desk.add(mail(msgid="ooo@stranka.si", subject="Re: Ne deluje tiskalnik", date=T0 + days(1),
                      headers={"Auto-Submitted": "auto-replied"}))  # fmt: skip
    assert a != b
    assert desk.detail(b)["automatic"] is True
    assert desk.detail(a)["automatic"] is False


def test_auto_reply_never_joins_two_customer_tickets(desk: Desk) -> None:
    a = desk.add(mail(msgid="a@stranka.si", subject="Ena"))
    b = desk.add(mail(msgid="b@drugi.si", frm="janez@drugi.si", subject="Dve"))
    bounce = desk.add(mail(msgid="bounce@mx", frm="MAILER-DAEMON@mx.example", subject="Undelivered",
                           references=["a@stranka.si", "b@drugi.si"], headers={"Auto-Submitted": "auto-replied"}))  # fmt: skip
    assert bounce in (a, b)
    assert sorted(desk.refs()) == sorted([a, b])


def test_event_messages_never_become_tickets(desk: Desk) -> None:
    raw = encode([Event("T-4HC0KA9J", "status", "set", "open", "0001790000000-00000-ana@desk.example", AGENT, "e1")],
                 sender=AGENT)  # fmt: skip
    assert desk.add(raw, folder="TuiDesk/Events") == ""
    assert desk.refs() == []


def test_stranger_mail_pretending_to_be_an_event_message_is_still_a_ticket(desk: Desk) -> None:
    raw = mail(msgid="trick@napad.com", frm="mallory@napad.com", headers={"X-TuiDesk-Events": "1"})
    assert desk.add(raw) != ""


# --- copies, closed tickets, import ---------------------------------------------------------


def test_the_same_mail_in_two_folders_shows_once(desk: Desk) -> None:
    raw = mail(msgid="orig@stranka.si")
    a = desk.add(raw, folder="INBOX")
    b = desk.add(raw, folder="Archive")
    assert a == b
    assert len(desk.detail(a)["messages"]) == 1


def test_customer_reply_to_a_closed_ticket_starts_a_linked_follow_up(desk: Desk) -> None:
    a = desk.add(mail(msgid="orig@stranka.si"))
    with desk.db.write() as conn:
        workflow.set_status(conn, a, "closed", AGENT)
    # written after the agent closed it (which happens "now"); mail written before joins it
    # (test_threading_order), so that arrival order does not decide
    b = desk.add(mail(msgid="later@stranka.si", subject="Re: Težava z računom", in_reply_to="orig@stranka.si",
                      date=T0 + days(405)))  # fmt: skip
    assert b != a
    assert desk.detail(b)["follow_up_of"] == a
    c = desk.add(mail(msgid="later2@stranka.si", subject="Re: Re: x", in_reply_to="later@stranka.si",
                      references=["orig@stranka.si", "later@stranka.si"], date=T0 + days(406)))  # fmt: skip
    assert c == b


def test_new_customer_message_reopens_pending_and_solved(desk: Desk) -> None:
    a = desk.add(mail(msgid="orig@stranka.si"))
    for n, status in enumerate(("pending", "solved"), start=1):
        with desk.db.write() as conn:
            workflow.set_status(conn, a, status, AGENT)
        arrival = T0 + days(400 + n)  # after the agent's change (which happens "now")
        desk.add(mail(msgid=f"more{n}@stranka.si", subject="Re: x", in_reply_to="orig@stranka.si", date=arrival),
                 internaldate=arrival)  # fmt: skip
        t = desk.detail(a)
        assert t["status"] == "open"
        assert t["audit"][-1]["from"] == status and t["audit"][-1]["agent"] == "system"


def test_import_threads_like_sync(tmp_path: Path) -> None:
    d = Desk(tmp_path / "db")
    folder = tmp_path / "eml"
    folder.mkdir()
    for i, raw in enumerate(_conversation()):
        (folder / f"{i}.eml").write_bytes(raw)
    summary = import_paths(d.db, [folder])
    assert summary.imported == 4
    assert d.refs() == [ids.ref_for("a@s.si")]
    d.close()


def test_messages_from_before_tickets_are_threaded_on_open(desk: Desk) -> None:
    mid = desk.store(mail(msgid="old@stranka.si"))
    with desk.db.write() as conn:
        cursor(conn).execute("UPDATE messages SET thread_kind = '', ticket_id = NULL WHERE id = ?", (mid,))
    from tui_desk.tickets.desk import open_desk

    assert open_desk(desk.db) == 1
    assert desk.ticket_of(mid) == ids.ref_for("old@stranka.si")
    assert open_desk(desk.db) == 0
