"""Workflow state: status, priority, tags, assignee, notes, times, merge, split, audit trail."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from ticketkit import AGENT, T0, Desk, days, mail

from tui_desk.storage.db import cursor
from tui_desk.tickets import desk as desk_api
from tui_desk.tickets import events, ids, workflow
from tui_desk.tickets.model import InvalidChange
from tui_desk.tickets.workflow import Change, TicketNotFound

BOB = "bob@desk.example"


@pytest.fixture
def desk(tmp_path: Path) -> Iterator[Desk]:
    d = Desk(tmp_path)
    yield d
    d.close()


@pytest.fixture
def ticket(desk: Desk) -> str:
    return desk.add(mail(msgid="orig@stranka.si", cc="Šef <sef@stranka.si>"))


def test_a_new_ticket_has_defaults_and_requester_with_organisation(desk: Desk, ticket: str) -> None:
    t = desk.detail(ticket)
    assert (t["status"], t["priority"], t["assignee"], t["tags"], t["unread"]) == ("new", "normal", None, [], True)
    assert t["requester"] == {"name": "Marko Novak", "address": "marko@stranka.si", "organisation": "stranka.si"}
    assert t["created"] == t["updated"] == T0.isoformat()
    assert t["first_response"] is None and t["solved"] is None


def test_every_change_is_audited_with_who_when_from_and_to(desk: Desk, ticket: str) -> None:
    with desk.db.write() as conn:
        workflow.change(conn, ticket, AGENT, [
            Change("status", "set", "open"), Change("priority", "set", "urgent"), Change("assignee", "set", "me"),
            Change("tag", "add", "Billing"), Change("tag", "add", "spam"), Change("note", "add", "Poklical sem ga."),
        ])  # fmt: skip
        workflow.remove_tag(conn, ticket, "spam", BOB)
        workflow.assign_to(conn, ticket, BOB, BOB)
        workflow.set_status(conn, ticket, "solved", BOB)
    t = desk.detail(ticket)
    assert (t["status"], t["priority"], t["assignee"], t["tags"]) == ("solved", "urgent", BOB, ["billing"])
    assert t["solved"] is not None
    assert [n["body"] for n in t["notes"]] == ["Poklical sem ga."] and t["notes"][0]["author"] == AGENT
    trail = [(a["agent"], a["field"], a["from"], a["to"]) for a in t["audit"]]
    assert trail == [
        (AGENT, "status", "new", "open"), (AGENT, "priority", "normal", "urgent"), (AGENT, "assignee", "", AGENT),
        (AGENT, "tag", "", "billing"), (AGENT, "tag", "", "spam"), (AGENT, "note", "", "Poklical sem ga."),
        (BOB, "tag", "spam", ""), (BOB, "assignee", AGENT, BOB), (BOB, "status", "open", "solved"),
    ]  # fmt: skip
    assert all(a["at"] for a in t["audit"])


def test_every_change_is_an_unpushed_event(desk: Desk, ticket: str) -> None:
    with desk.db.write() as conn:
        made = workflow.set_priority(conn, ticket, "high", AGENT) + workflow.add_tag(conn, ticket, "vip", AGENT)
        queued = events.pending(conn)
    assert [e.event_id for e in queued] == [e.event_id for e in made]
    assert [(e.ticket, e.field, e.op, e.value) for e in queued] == [
        (ticket, "priority", "set", "high"), (ticket, "tag", "add", "vip")
    ]
    assert queued[0].hlc < queued[1].hlc


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (Change("status", "set", "done"), "unknown status"),
        (Change("priority", "set", "asap"), "unknown priority"),
        (Change("assignee", "set", "not an address"), "assignee"),
        (Change("tag", "add", "two words!"), "bad tag"),
        (Change("note", "add", "   "), "needs some text"),
        (Change("colour", "set", "red"), "unknown change"),
    ],
)
def test_bad_changes_are_refused_and_nothing_is_applied(desk: Desk, ticket: str, change: Change, message: str) -> None:
    with desk.db.write() as conn, pytest.raises(InvalidChange, match=message):
        workflow.change(conn, ticket, AGENT, [Change("status", "set", "open"), change])
    assert desk.detail(ticket)["status"] == "new"


def test_parse_assignments_from_the_command_line() -> None:
    got = workflow.parse_assignments(["status=solved", "priority=HIGH", "tag+=billing", "tag-=spam",
                                      "assignee=ana@x.si", "assignee=", "note=Klic ob 10h"])  # fmt: skip
    assert [(c.field, c.op, c.value) for c in got] == [
        ("status", "set", "solved"), ("priority", "set", "high"), ("tag", "add", "billing"),
        ("tag", "remove", "spam"), ("assignee", "set", "ana@x.si"), ("assignee", "set", ""),
        ("note", "add", "Klic ob 10h"),
    ]  # fmt: skip
    for bad in (["colour=red"], ["status"], ["status=later"], ["assignee=bob"]):
        with pytest.raises(InvalidChange):
            workflow.parse_assignments(bad)


def test_ticket_ids_resolve_case_insensitively_and_by_unique_prefix(desk: Desk, ticket: str) -> None:
    other = desk.add(mail(msgid="drugo@drugi.si", frm="janez@drugi.si", subject="Drugo"))
    with desk.db.read() as conn:
        pk = workflow.resolve(conn, ticket)
        assert workflow.resolve(conn, ticket.lower()) == pk
        assert workflow.resolve(conn, ticket[2:7].lower()) == pk
        assert workflow.resolve(conn, other) != pk
        with pytest.raises(TicketNotFound):
            workflow.resolve(conn, "T-")  # both tickets match
        with pytest.raises(TicketNotFound):
            workflow.resolve(conn, "T-ZZZZZZZZ")


def test_reading_clears_unread_and_our_reply_does_not_set_it(desk: Desk, ticket: str) -> None:
    with desk.db.write() as conn:
        workflow.mark_read(conn, ticket)
    assert desk.detail(ticket)["unread"] is False
    desk.add(mail(msgid="r@desk.example", frm=AGENT, to="marko@stranka.si", subject=f"Re: [#{ticket}] x",
                  references=["orig@stranka.si"], date=T0 + days(1)), folder="Sent")  # fmt: skip
    t = desk.detail(ticket)
    assert t["unread"] is False and t["first_response"] == (T0 + days(1)).isoformat()
    assert t["updated"] == (T0 + days(1)).isoformat()
    desk.add(mail(msgid="c@stranka.si", subject="Re: x", references=["orig@stranka.si"], date=T0 + days(2)))
    assert desk.detail(ticket)["unread"] is True


def test_merge_moves_mail_and_history_and_the_old_id_still_works(desk: Desk, ticket: str) -> None:
    other = desk.add(mail(msgid="drugo@stranka.si", subject="Še en račun", date=T0 + days(40)))
    with desk.db.write() as conn:
        workflow.add_note(conn, other, "Isti problem", AGENT)
        workflow.add_tag(conn, other, "billing", AGENT)
        workflow.merge(conn, other, ticket, AGENT)
        with pytest.raises(InvalidChange):
            workflow.merge(conn, other, ticket, AGENT)
    t = desk.detail(ticket)
    assert len(t["messages"]) == 2 and t["merged"] == [other]
    assert [n["body"] for n in t["notes"]] == ["Isti problem"] and t["tags"] == ["billing"]
    assert any(a["field"] == "merge" and a["from"] == other and a["to"] == ticket for a in t["audit"])
    assert desk.detail(other)["id"] == ticket
    assert desk.refs() == [ticket]
    later = desk.add(mail(msgid="r@stranka.si", subject="Re: Še en račun", in_reply_to="drugo@stranka.si",
                          date=T0 + days(41)))  # fmt: skip
    assert later == ticket


def test_split_moves_one_message_out_and_replies_to_it_follow(desk: Desk, ticket: str) -> None:
    desk.add(mail(msgid="r@stranka.si", subject="Re: x; drugo vprašanje", in_reply_to="orig@stranka.si",
                  date=T0 + days(1)))  # fmt: skip
    row_id = desk.detail(ticket)["messages"][1]["row_id"]
    with desk.db.write() as conn:
        new = workflow.split(conn, ticket, row_id, AGENT)
        with pytest.raises(InvalidChange):
            workflow.split(conn, new, row_id, AGENT)  # its only message
    assert new != ticket and new == ids.ref_for("r@stranka.si")
    assert [m["message_id"] for m in desk.detail(new)["messages"]] == ["r@stranka.si"]
    assert [m["message_id"] for m in desk.detail(ticket)["messages"]] == ["orig@stranka.si"]
    assert desk.detail(new)["split_from"] == ticket
    assert any(a["field"] == "split" for a in desk.detail(new)["audit"])
    follow = desk.add(mail(msgid="rr@stranka.si", subject="Re: drugo", in_reply_to="r@stranka.si",
                           references=["orig@stranka.si", "r@stranka.si"], date=T0 + days(2)))  # fmt: skip
    assert follow == new
    assert len(desk.detail(ticket)["messages"]) == 1


def test_splitting_the_first_message_gets_a_fresh_id(desk: Desk, ticket: str) -> None:
    desk.add(mail(msgid="r@stranka.si", subject="Re: x", in_reply_to="orig@stranka.si", date=T0 + days(1)))
    first = desk.detail(ticket)["messages"][0]["row_id"]
    with desk.db.write() as conn:
        new = workflow.split(conn, ticket, first, AGENT)
    assert new != ticket
    assert [m["message_id"] for m in desk.detail(new)["messages"]] == ["orig@stranka.si"]
    assert [m["message_id"] for m in desk.detail(ticket)["messages"]] == ["r@stranka.si"]


def test_saved_views_have_defaults_and_can_be_added(desk: Desk, ticket: str) -> None:
    with desk.db.write() as conn:
        names = [v["name"] for v in desk_api.views(conn)]
        assert names == ["New", "My open", "Unassigned", "Pending", "On hold", "Solved"]
        desk_api.save_view(conn, "Billing", "tag:billing -status:closed")
        with pytest.raises(ValueError):
            desk_api.save_view(conn, "Broken", "status:nope")
        assert desk_api.view_query(conn, "billing") == "tag:billing -status:closed"
        assert desk_api.delete_view(conn, "Billing")
    assert desk.refs(desk_api_view(desk, "New")) == [ticket]
    assert desk.refs(desk_api_view(desk, "My open")) == []


def desk_api_view(desk: Desk, name: str) -> str:
    with desk.db.read() as conn:
        return desk_api.view_query(conn, name)


def test_agent_identity_comes_from_flag_then_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TUI_DESK_AGENT", raising=False)
    assert desk_api.agent_identity(None) == "me@localhost"
    monkeypatch.setenv("TUI_DESK_AGENT", "Bob@Desk.example")
    assert desk_api.agent_identity(None) == "bob@desk.example"
    assert desk_api.agent_identity("ana@x.si") == "ana@x.si"


def test_an_agent_address_is_ours_everywhere(desk: Desk, ticket: str) -> None:
    """Once an agent acted, their mail from any folder counts as the team's, not a customer's."""
    with desk.db.write() as conn:
        workflow.set_status(conn, ticket, "open", BOB)
    desk.add(mail(msgid="b@desk.example", frm=BOB, to="marko@stranka.si", subject=f"Re: [#{ticket}] x",
                  date=T0 + days(1)))  # fmt: skip
    t = desk.detail(ticket)
    assert t["messages"][-1]["ours"] and t["requester"]["address"] == "marko@stranka.si"
    with desk.db.read() as conn:
        assert cursor(conn).execute("SELECT COUNT(*) FROM agents").fetchone()[0] == 2


def test_changes_recorded_in_the_past_carry_their_time_and_later_ones_still_win(desk: Desk, ticket: str) -> None:
    """`at` (the demo's history, an import from another desk) dates the change; a change made
    now is still later on the clock, so it wins over the recorded past."""
    past = T0 + days(1)
    with desk.db.write() as conn:
        workflow.change(conn, ticket, BOB, [Change("status", "set", "pending"), Change("tag", "add", "vip")], at=past)
    t = desk.detail(ticket)
    assert (t["status"], t["tags"], t["updated"]) == ("pending", ["vip"], past.isoformat())
    assert [a["at"][:19] for a in t["audit"]] == [past.isoformat()[:19]] * 2
    with desk.db.write() as conn:
        workflow.set_status(conn, ticket, "solved", AGENT)
        workflow.change(conn, ticket, BOB, [Change("status", "set", "open")], at=past + days(1))
    assert desk.detail(ticket)["status"] == "solved", "a recorded past never overrides a change made now"
