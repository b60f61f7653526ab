"""Team events: HLC, encode/decode as mail, idempotent order-independent apply, compaction."""

from __future__ import annotations

import itertools
import json
import random
from datetime import timedelta
from email import message_from_bytes, policy
from pathlib import Path
from typing import Any

import pytest
from ticketkit import AGENT, T0, Desk, days, mail

from tui_desk.storage.db import cursor
from tui_desk.tickets import events, ids, state, workflow
from tui_desk.tickets.model import Event, Hlc
from tui_desk.tickets.state import fold

BOB = "bob@desk.example"
REF = ids.ref_for("orig@stranka.si")


def _hlc(ms: int, agent: str, counter: int = 0) -> str:
    return str(Hlc(1_790_000_000_000 + ms, counter, agent))


def _state(d: Desk, ref: str) -> dict[str, Any]:
    """What every machine must agree on (unread is this agent's own view; row ids are local)."""
    t = d.detail(ref)
    t.pop("unread")
    t["messages"] = [m["message_id"] for m in t["messages"]]
    # how local threading got there (which half it saw first) is this machine's own history
    t["audit"] = [a for a in t["audit"] if a["field"] not in ("joined", "rerooted")]
    return t


def _events_of(d: Desk) -> list[Event]:
    with d.db.read() as conn:
        return events.pending(conn, 10_000)


def _push(src: Desk, dst: Desk) -> None:
    """What the IMAP transport does: pending -> one message -> the other side applies it."""
    batch = _events_of(src)
    raw = events.encode(batch)
    with src.db.write() as conn:
        events.mark_pushed(conn, [e.event_id for e in batch])
    with dst.db.write() as conn:
        events.apply_remote(conn, events.decode(raw))


# --- the clock --------------------------------------------------------------------------------


def test_hlc_never_goes_backwards_and_ties_break_by_agent() -> None:
    a = Hlc.tick(None, AGENT, now_ms=1000)
    b = Hlc.tick(str(a), AGENT, now_ms=900)  # the wall clock stepped back
    c = Hlc.tick(str(Hlc(5000, 3, BOB)), AGENT, now_ms=1000)  # a colleague's clock is ahead
    assert (a.wall_ms, a.counter) == (1000, 0) and (b.wall_ms, b.counter) == (1000, 1)
    assert (c.wall_ms, c.counter) == (5000, 4)
    assert str(a) < str(b) < str(c) and Hlc.parse(str(c)) == c
    assert str(Hlc(1, 0, AGENT)) < str(Hlc(1, 0, BOB))


# --- the mail form ----------------------------------------------------------------------------


def test_encode_makes_an_auto_submitted_message_and_decode_reads_it_back() -> None:
    batch = [
        Event(REF, "status", "set", "solved", _hlc(1, AGENT), AGENT, "e1"),
        Event(REF, "note", "add", "Klical ob 10h — račun poslan. " + "x" * 2000, _hlc(2, AGENT), AGENT, "e2"),
        Event(REF, "tag", "add", "билинг", _hlc(3, AGENT), AGENT, "e3"),
    ]
    raw = events.encode(batch, sender=AGENT)
    msg = message_from_bytes(raw, policy=policy.default)
    assert msg["X-TuiDesk-Events"] == "1" and msg["Auto-Submitted"] == "auto-generated"
    assert msg["Subject"] == f"[tui-desk events] {AGENT} {batch[-1].hlc}"
    assert all(len(line) <= 998 for line in raw.split(b"\r\n")) and max(raw) < 128
    assert events.decode(raw) == batch


@pytest.mark.parametrize(
    "raw",
    [
        b"", b"\x00\xff garbage", b"Subject: hi\r\n\r\nhello",
        b"X-TuiDesk-Events: 1\r\n\r\n{not json", b"X-TuiDesk-Events: 1\r\n\r\n[1, 2]",
        b'X-TuiDesk-Events: 1\r\n\r\n{"format": "tui-desk-events", "version": 99, "events": []}',
        b"X-TuiDesk-Events: 1\r\nContent-Transfer-Encoding: base64\r\n\r\n!!!!",
        b"X-TuiDesk-Events: 1\r\nContent-Type: multipart/mixed; boundary=x\r\n\r\n--x\r\n",
    ],
)  # fmt: skip
def test_malformed_event_messages_are_reported_never_raised(raw: bytes) -> None:
    result = events.decode_report(raw)
    assert result.events == [] and result.problems
    assert events.decode(raw) == []


def test_bad_events_are_dropped_and_good_ones_kept() -> None:
    good = {"ticket": REF, "field": "priority", "op": "set", "value": "high", "hlc": _hlc(1, AGENT),
            "agent": AGENT, "event_id": "ok"}  # fmt: skip
    bad = [
        {**good, "field": "status", "value": "done", "event_id": "x1"},
        {**good, "ticket": "DROP TABLE", "event_id": "x2"},
        {**good, "hlc": "yesterday", "event_id": "x3"},
        {**good, "field": "snapshot", "op": "snapshot", "value": json.dumps({"fields": 3}), "event_id": "x4"},
        {**good, "field": "merge", "op": "into", "value": "'; DROP TABLE events; --", "event_id": "x5"},
        {k: v for k, v in good.items() if k != "agent"},
        "not an object",
    ]
    body = json.dumps({"format": "tui-desk-events", "version": 1, "events": [good, *bad]})
    result = events.decode_report(b"X-TuiDesk-Events: 1\r\nContent-Type: text/plain\r\n\r\n" + body.encode())
    assert [e.event_id for e in result.events] == ["ok"] and len(result.problems) == len(bad)
    assert all(p.startswith("event ") for p in result.problems)


# --- applying ---------------------------------------------------------------------------------


def _conflicting() -> list[Event]:
    """Ana and Bob change the same ticket at nearly the same time, offline from each other."""
    return [
        Event(REF, "status", "set", "pending", _hlc(10, AGENT), AGENT, "a1"),
        Event(REF, "assignee", "set", AGENT, _hlc(11, AGENT), AGENT, "a2"),
        Event(REF, "tag", "add", "billing", _hlc(12, AGENT), AGENT, "a3"),
        Event(REF, "note", "add", "Ana: poslala račun", _hlc(13, AGENT), AGENT, "a4"),
        Event(REF, "status", "set", "solved", _hlc(10, BOB), BOB, "b1"),  # same ms: agent breaks the tie
        Event(REF, "assignee", "set", BOB, _hlc(9, BOB), BOB, "b2"),
        Event(REF, "tag", "remove", "billing", _hlc(14, BOB), BOB, "b3"),
        Event(REF, "tag", "add", "vip", _hlc(15, BOB), BOB, "b4"),
        Event(REF, "note", "add", "Bob: potrdil", _hlc(13, BOB), BOB, "b5"),
        Event(REF, "priority", "set", "urgent", _hlc(16, BOB), BOB, "b6"),
    ]


def test_two_machines_applying_conflicting_events_in_any_order_end_identical(tmp_path: Path) -> None:
    desks = [Desk(tmp_path / str(i)) for i in range(4)]
    raw = mail(msgid="orig@stranka.si")
    all_events = _conflicting()
    orders = [all_events, list(reversed(all_events)), random.Random(1).sample(all_events, len(all_events))]
    for d, order in zip(desks, orders, strict=False):
        d.add(raw)
        for e in order:  # one at a time, as separate sync rounds
            with d.db.write() as conn:
                events.apply_remote(conn, [e])
    last = desks[3]  # events first, the mail afterwards
    with last.db.write() as conn:
        events.apply_remote(conn, all_events)
    assert last.refs() == []
    last.add(raw)
    states = [_state(d, REF) for d in desks]
    assert all(s == states[0] for s in states[1:])
    s = states[0]
    assert (s["status"], s["assignee"], s["priority"], s["tags"]) == ("solved", AGENT, "urgent", ["vip"])
    assert [n["body"] for n in s["notes"]] == ["Ana: poslala račun", "Bob: potrdil"]
    status_trail = [(a["agent"], a["from"], a["to"]) for a in s["audit"] if a["field"] == "status"]
    assert status_trail == [(AGENT, "new", "pending"), (BOB, "pending", "solved")]
    assignee_trail = [(a["agent"], a["to"]) for a in s["audit"] if a["field"] == "assignee"]
    assert assignee_trail == [(BOB, BOB), (AGENT, AGENT)]
    for d in desks:
        d.close()


def test_applying_the_same_events_twice_changes_nothing(tmp_path: Path) -> None:
    d = Desk(tmp_path)
    d.add(mail(msgid="orig@stranka.si"))
    with d.db.write() as conn:
        assert len(events.apply_remote(conn, _conflicting())) == 10
    before = _state(d, REF)
    with d.db.write() as conn:
        assert events.apply_remote(conn, _conflicting()) == []
    assert _state(d, REF) == before
    d.close()


def test_the_api_round_trip_between_two_agents(tmp_path: Path) -> None:
    ana, bob = Desk(tmp_path / "ana"), Desk(tmp_path / "bob")
    for d in (ana, bob):
        d.add(mail(msgid="orig@stranka.si"))
    with ana.db.write() as conn:
        workflow.change(conn, REF, AGENT, [workflow.Change("status", "set", "open"),
                                           workflow.Change("note", "add", "ana")])  # fmt: skip
    with bob.db.write() as conn:
        workflow.change(conn, REF, BOB, [workflow.Change("tag", "add", "vip"), workflow.Change("note", "add", "bob")])
    _push(ana, bob)
    _push(bob, ana)
    assert _state(ana, REF) == _state(bob, REF)
    assert _events_of(ana) == [] and _events_of(bob) == []
    assert sorted(n["body"] for n in _state(ana, REF)["notes"]) == ["ana", "bob"]
    ana.close()
    bob.close()


@pytest.mark.parametrize("order", list(itertools.permutations(range(3))))
def test_events_for_an_id_another_machine_derived_still_find_the_ticket(tmp_path: Path, order: tuple[int, ...]) -> None:
    """Ana saw only the Outlook reply (so her ticket was named after its parent) and assigned
    it; Bob has the whole conversation. Once everything is everywhere, both agree."""
    raws = [
        mail(msgid="a@s.si", subject="Zahtevek", date=T0),
        mail(msgid="b@desk.example", frm=AGENT, to="marko@stranka.si", subject="Odgovor", in_reply_to="a@s.si",
             date=T0 + days(1)),
        mail(msgid="c@s.si", subject="Tretje", in_reply_to="b@desk.example", date=T0 + days(2)),
    ]  # fmt: skip
    ana, bob = Desk(tmp_path / "ana"), Desk(tmp_path / "bob")
    early = ana.add(raws[2])
    assert early == ids.ref_for("b@desk.example")
    with ana.db.write() as conn:
        workflow.assign_to(conn, early, "me", AGENT)
    for i in order:
        bob.add(raws[i])
    _push(ana, bob)
    for raw in raws[:2]:
        ana.add(raw)
    final = ids.ref_for("a@s.si")
    assert ana.refs() == bob.refs() == [final]
    assert _state(ana, final) == _state(bob, final)
    assert _state(bob, final)["assignee"] == AGENT
    ana.close()
    bob.close()


def test_merge_and_split_travel_as_events(tmp_path: Path) -> None:
    ana, bob = Desk(tmp_path / "ana"), Desk(tmp_path / "bob")
    raws = [
        mail(msgid="orig@stranka.si"),
        mail(msgid="two@stranka.si", subject="Drugo", date=T0 + days(40)),
        mail(msgid="r@stranka.si", subject="Re: Drugo", in_reply_to="two@stranka.si", date=T0 + days(41)),
    ]
    for raw in raws:
        ana.add(raw)
    bob.add(raws[0])  # bob has not seen the rest yet
    two = ids.ref_for("two@stranka.si")
    with ana.db.write() as conn:
        workflow.merge(conn, two, REF, AGENT)
    with ana.db.write() as conn:
        row = next(m["row_id"] for m in ana.detail(REF)["messages"] if m["message_id"] == "r@stranka.si")
        split = workflow.split(conn, REF, row, AGENT)
    _push(ana, bob)
    for raw in raws[1:]:
        bob.add(raw)
    assert sorted(ana.refs()) == sorted(bob.refs()) == sorted([REF, split])
    for ref in (REF, split):
        assert _state(ana, ref) == _state(bob, ref)
    assert _state(bob, split)["messages"] == ["r@stranka.si"]
    ana.close()
    bob.close()


# --- compaction -------------------------------------------------------------------------------


def test_compaction_keeps_state_and_history_and_a_new_machine_catches_up(tmp_path: Path) -> None:
    old, fresh = Desk(tmp_path / "old"), Desk(tmp_path / "fresh")
    for d in (old, fresh):
        d.add(mail(msgid="orig@stranka.si"))
    history = _conflicting()
    with old.db.write() as conn:
        events.apply_remote(conn, history)
    before = _state(old, REF)
    now = Hlc.parse(history[0].hlc)
    with old.db.write() as conn:
        snaps = events.compact(conn, older_than=timedelta(days=1),
                               now=T0.fromtimestamp(now.wall_ms / 1000 + 86400 * 2, tz=T0.tzinfo))  # fmt: skip
        left = cursor(conn).execute("SELECT COUNT(*) FROM events WHERE field != 'snapshot'").fetchone()[0]
        assert events.compacted(conn, history)
    assert len(snaps) == 1 and left == 0
    assert _state(old, REF) == before
    later = Event(REF, "status", "set", "open", _hlc(100, AGENT), AGENT, "later")
    late_but_old = Event(REF, "priority", "set", "low", _hlc(1, BOB), BOB, "stale")
    with old.db.write() as conn:
        events.apply_remote(conn, [later, late_but_old])
    with fresh.db.write() as conn:  # the folder now holds only the snapshot and what came after
        events.apply_remote(conn, [late_but_old, later, *snaps])
    assert _state(fresh, REF) == _state(old, REF)
    assert _state(fresh, REF)["priority"] == "urgent" and _state(fresh, REF)["status"] == "open"
    old.close()
    fresh.close()


def _compact_at(d: Desk, hlc: str, min_events: int = 1) -> list[Event]:
    """Compact as if it were two days after the clock reading `hlc` (horizon one day)."""
    when = T0.fromtimestamp(Hlc.parse(hlc).wall_ms / 1000 + 86400 * 2, tz=T0.tzinfo)
    with d.db.write() as conn:
        return events.compact(conn, older_than=timedelta(days=1), now=when, min_events=min_events)


def test_what_a_snapshot_covers_is_not_snapshotted_again(tmp_path: Path) -> None:
    """Merges and splits stay in the local log for ever; they must not make a new snapshot
    (nor a snapshot that forgets the previous one) on every daily run."""
    d = Desk(tmp_path)
    d.add(mail(msgid="orig@stranka.si"))
    d.add(mail(msgid="two@stranka.si", subject="Drugo", date=T0 + days(1)))
    two = ids.ref_for("two@stranka.si")
    with d.db.write() as conn:
        events.apply_remote(conn, _conflicting())
        workflow.merge(conn, two, REF, AGENT)
    before = _state(d, REF)
    last = max(e.hlc for e in _events_of(d))
    first = _compact_at(d, last)
    assert {e.ticket for e in first} == {REF, two}
    assert _compact_at(d, last) == [] and _compact_at(d, last, min_events=2) == []
    assert _state(d, REF) == before
    d.close()


def test_a_message_may_go_only_once_its_snapshot_is_on_the_server(tmp_path: Path) -> None:
    d = Desk(tmp_path)
    d.add(mail(msgid="orig@stranka.si"))
    history = _conflicting()
    with d.db.write() as conn:
        events.apply_remote(conn, history)
    (snap,) = _compact_at(d, max(e.hlc for e in history))
    merge = Event(REF, "merge", "into", ids.ref_for("x@y"), history[0].hlc, AGENT, "m1")
    with d.db.read() as conn:
        assert events.compacted(conn, history) and not events.compacted(conn, history, on_server=True)
    with d.db.write() as conn:
        events.mark_pushed(conn, [snap.event_id])
    with d.db.read() as conn:
        assert events.compacted(conn, history, on_server=True)
        assert not events.compacted(conn, [snap], on_server=True), "the snapshot in use stays"
        assert not events.compacted(conn, [*history[:2], merge], on_server=True), "merges stay"
        later = Event(REF, "status", "set", "open", _hlc(100, AGENT), AGENT, "later")
        assert not events.compacted(conn, [later], on_server=True)
    d.close()


def test_the_fold_uses_the_snapshot_that_covers_most() -> None:
    """Two snapshots from one clock reading: the one covering more wins, whatever the ids say,
    because the events it covers may already be gone from the server."""
    h = _hlc(50, AGENT)

    def snap(upto_id: str, status: str, event_id: str) -> Event:
        value = json.dumps({"upto": [h, upto_id], "fields": {"status": [status, h, AGENT]}})
        return Event(REF, "snapshot", "snapshot", value, h, "system", event_id)

    wide, narrow = snap("e9", "solved", "snap-aaa"), snap("e1", "pending", "snap-zzz")
    for order in ([wide, narrow], [narrow, wide]):
        assert fold(order).values["status"] == "solved"


def test_late_events_older_than_a_snapshot_are_folded_in_and_kept_until_a_snapshot_names_them(
    tmp_path: Path,
) -> None:
    """Bob was offline past the horizon: Ana's snapshot is newer than his changes but does not
    name them. The result is the same as if nothing had been compacted (the audit has the same
    lines; a line the snapshot recorded keeps the "from" Ana saw then), and his events count
    as compacted only once a snapshot on the server names them."""

    def same(a: dict[str, Any], b: dict[str, Any]) -> bool:
        def lines(t: dict[str, Any]) -> list[tuple[str, ...]]:
            return [(x["at"], x["agent"], x["field"], x["to"]) for x in t["audit"]]

        return {**a, "audit": lines(a)} == {**b, "audit": lines(b)}

    whole, d = Desk(tmp_path / "whole"), Desk(tmp_path / "compacted")
    history = _conflicting()
    ana, bob = [e for e in history if e.agent == AGENT], [e for e in history if e.agent == BOB]
    for desk_ in (whole, d):
        desk_.add(mail(msgid="orig@stranka.si"))
    with whole.db.write() as conn:
        events.apply_remote(conn, history)
    with d.db.write() as conn:
        events.apply_remote(conn, ana)
    (snap,) = _compact_at(d, max(e.hlc for e in history))
    with d.db.write() as conn:
        events.mark_pushed(conn, [snap.event_id])
        events.apply_remote(conn, bob)  # older than the snapshot's clock, and not named by it
    assert same(_state(d, REF), _state(whole, REF))
    late = [e for e in bob if e.order <= state.snapshot_upto(snap)]
    assert late, "the test needs events older than the snapshot"
    with d.db.read() as conn:
        assert not events.compacted(conn, late, on_server=True), "no snapshot names them yet"
    (again,) = _compact_at(d, max(e.hlc for e in history))
    with d.db.write() as conn:
        events.mark_pushed(conn, [again.event_id])
    with d.db.read() as conn:
        assert events.compacted(conn, late, on_server=True)
        assert events.compacted(conn, [snap], on_server=True), "the new snapshot holds all the old one did"
    assert same(_state(d, REF), _state(whole, REF))
    whole.close()
    d.close()


def test_two_snapshots_that_each_miss_what_the_other_holds_are_both_folded_and_both_kept() -> None:
    h = _hlc(50, AGENT)

    def snap(event_id: str, ids: list[str], tags: dict[str, list[Any]]) -> Event:
        value = json.dumps({"upto": [h, "z"], "base": ["", ""], "ids": ids, "tags": tags})
        return Event(REF, "snapshot", "snapshot", value, h, "system", event_id)

    one = snap("snap-1", ["x"], {"vip": [True, _hlc(20, AGENT), AGENT]})
    two = snap("snap-2", ["y"], {"billing": [True, _hlc(30, BOB), BOB]})
    for order in ([one, two], [two, one]):
        assert fold(order).tag_set == ["billing", "vip"]
    assert not state.coverage(one).includes(state.coverage(two))
    assert not state.coverage(two).includes(state.coverage(one))
