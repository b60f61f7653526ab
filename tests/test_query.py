"""The filter language: every operator, errors that point at the bad token, safe FTS, paging."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from ticketkit import AGENT, T0, Desk, days, mail

from tui_desk.storage.db import cursor
from tui_desk.tickets import query, workflow
from tui_desk.tickets.query import QueryError
from tui_desk.tickets.workflow import Change

BOB = "bob@desk.example"
NOW = T0 + days(10)


@pytest.fixture(scope="module")
def desk(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Desk]:
    d = Desk(tmp_path_factory.mktemp("query"))
    specs = [
        ("racun", "Marko <marko@stranka.si>", "Račun za november", "Prosim za vračilo (refund), račun je napačen.",
         1, "open", AGENT, "high", ["billing"]),
        ("oplata", "Иван <ivan@firma.ru>", "ПРОБЛЕМА с оплатой", "Не работает ОПЛАТА картой. AND OR NOT", 2,
         "pending", BOB, "urgent", ["spam"]),
        ("dostava", "janez@acme.com", "Dostava", "Paket ni prišel. refund please", 3, "new", "", "low", []),
        ("zaprto", "maja@acme.com", "Closed thing", "nothing to see", 4, "closed", AGENT, "normal", ["billing"]),
        ("staro", "peter@stranka.si", "Staro vprašanje", "an old question about the refund policy", -60,
         "solved", "", "normal", ["billing", "vip"]),
    ]  # fmt: skip
    d.refs_by_name = {}  # type: ignore[attr-defined]
    for name, frm, subject, body, when, status, assignee, priority, tags in specs:
        ref = d.add(mail(msgid=f"{name}@x", frm=frm, subject=subject, body=body, date=T0 + days(when)))
        d.refs_by_name[name] = ref  # type: ignore[attr-defined]
        changes = [Change("status", "set", status), Change("priority", "set", priority)]
        changes += [Change("assignee", "set", assignee)] + [Change("tag", "add", t) for t in tags]
        with d.db.write() as conn:
            workflow.change(conn, ref, AGENT, changes)
            cursor(conn).execute(  # pin times: the events above happened "now"
                "UPDATE tickets SET updated_at = last_message_at WHERE ref = ?", (ref,)
            )
            if name != "dostava":
                workflow.mark_read(conn, ref)
    yield d
    d.close()


def _names(desk: Desk, q: str, agent: str = AGENT) -> list[str]:
    by_ref = {v: k for k, v in desk.refs_by_name.items()}  # type: ignore[attr-defined]
    with desk.db.read() as conn:
        rows = query.page(conn, q, limit=100, agent=agent, now=NOW).rows
        assert query.count(conn, q, agent=agent, now=NOW) == len(rows)
    return [by_ref[r["id"]] for r in rows]


@pytest.mark.parametrize(
    ("q", "expected"),
    [
        ("", ["zaprto", "dostava", "oplata", "racun", "staro"]),
        ("status:open,pending", ["oplata", "racun"]),
        ("-status:closed", ["dostava", "oplata", "racun", "staro"]),
        ("-status:closed,solved status:new,open", ["dostava", "racun"]),
        ("assignee:me", ["zaprto", "racun"]),
        ("assignee:none", ["dostava", "staro"]),
        (f"assignee:{BOB}", ["oplata"]),
        ("-assignee:none", ["zaprto", "oplata", "racun"]),
        ("tag:billing", ["zaprto", "racun", "staro"]),
        ("tag:billing,spam -tag:vip", ["zaprto", "oplata", "racun"]),
        ("-tag:spam", ["zaprto", "dostava", "racun", "staro"]),
        ("priority:>=high", ["oplata", "racun"]),
        ("priority:<normal", ["dostava"]),
        ("priority:urgent,low", ["dostava", "oplata"]),
        ("-priority:normal", ["dostava", "oplata", "racun"]),
        ("from:marko@stranka.si", ["racun"]),
        ("from:MARKO@Stranka.si", ["racun"]),
        ("from:@acme.com", ["zaprto", "dostava"]),
        ("from:@acme.com,ivan@firma.ru", []),  # two conditions: address AND domain
        ("-from:@acme.com", ["oplata", "racun", "staro"]),
        ("is:unread", ["dostava"]),
        ("-is:unread", ["zaprto", "oplata", "racun", "staro"]),
        ("is:read status:closed", ["zaprto"]),
        ("before:2026-10-03", ["racun", "staro"]),
        ("after:2026-10-04", ["zaprto", "dostava"]),
        ("after:8d", ["zaprto", "dostava", "oplata"]),
        ("before:30d", ["staro"]),
        ("refund", ["dostava", "racun", "staro"]),
        ("refund -policy", ["dostava", "racun"]),
        ('"refund policy"', ["staro"]),
        ('"policy refund"', []),
        ("refund status:open assignee:me", ["racun"]),
        ("sort:-updated", ["staro", "racun", "oplata", "dostava", "zaprto"]),
        ("sort:created", ["zaprto", "dostava", "oplata", "racun", "staro"]),
        ("sort:priority", ["oplata", "racun", "zaprto", "staro", "dostava"]),
        ("sort:-priority", ["dostava", "staro", "zaprto", "racun", "oplata"]),
    ],
)  # fmt: skip
def test_each_operator(desk: Desk, q: str, expected: list[str]) -> None:
    assert _names(desk, q) == expected


def test_me_is_whoever_asks(desk: Desk) -> None:
    assert _names(desk, "assignee:me", agent=BOB) == ["oplata"]


@pytest.mark.parametrize(
    ("q", "expected"),
    [
        ("проблема", ["oplata"]), ("ОПЛАТОЙ", ["oplata"]), ("оплата", ["oplata"]), ("Račun", ["racun"]),
        ("RAČUN", ["racun"]), ("racun", ["racun"]), ("vračilo", ["racun"]), ("ivan", ["oplata"]),
        ("REFUND", ["dostava", "racun", "staro"]),
    ],
)  # fmt: skip
def test_free_text_is_case_insensitive_in_every_script(desk: Desk, q: str, expected: list[str]) -> None:
    assert _names(desk, q) == expected


@pytest.mark.parametrize(
    "q",
    [
        "AND", "OR", "NOT", "refund AND", "refund OR nothing", "NOT refund", "*", "refu*", '"', '""', '"a""b"',
        "NEAR(refund", "NEAR(refund policy)", "refund -", "a - b", "(", ")", "{subject}", "^refund", "'", ";--",
        "text : x", "-*", "-NEAR(", "subject :refund", "x' OR 1=1 --", "\\", "%", "_",
    ],
)  # fmt: skip
def test_fts_syntax_in_user_text_is_harmless(desk: Desk, q: str) -> None:
    try:
        names = _names(desk, q)
    except QueryError as exc:  # only ever our own error, pointing somewhere inside the query
        assert 0 <= exc.position < len(q) and exc.token
        return
    assert isinstance(names, list)


def test_fts_operators_are_plain_words(desk: Desk) -> None:
    assert _names(desk, "AND OR NOT") == ["oplata"]  # those words are in that mail
    assert _names(desk, "refund OR nothing") == []  # three words, all required
    assert _names(desk, "NEAR(refund") == []  # the phrase "near refund", not an operator
    assert _names(desk, "refund NEAR") == []
    assert _names(desk, "refu*") == []  # no prefix search by accident


@pytest.mark.parametrize(
    ("q", "token", "position", "message"),
    [
        ("status:", "status:", 0, "needs a value"),
        ("refund status:opne", "status:opne", 7, "unknown status 'opne'"),
        ("prio:high", "prio:", 0, "unknown filter 'prio:'"),
        ("tag:ok  -stauts:open", "stauts:", 9, "unknown filter"),
        ("priority:>=high,urgent", "priority:>=high,urgent", 0, "takes one priority"),
        ("priority:>=extreme", "priority:>=extreme", 0, "unknown priority"),
        ("before:yesterday", "before:yesterday", 0, "bad date"),
        ('status:open "unterminated', '"unterminated', 12, "unterminated quote"),
        ("refund - x", "-", 7, "nothing after '-'"),
        ("sort:size", "sort:size", 0, "unknown sort"),
        ("from:bob", "from:bob", 0, "address or @domain"),
        ("assignee:bob", "assignee:bob", 0, "assignee must be"),
        ("is:starred", "is:starred", 0, "unknown is"),
        ("tag:a,,b", "tag:a,,b", 0, "empty value"),
        ("tag:!!", "tag:!!", 0, "bad tag"),
    ],
)  # fmt: skip
def test_bad_queries_point_at_the_bad_token(q: str, token: str, position: int, message: str) -> None:
    with pytest.raises(QueryError) as caught:
        query.parse(q)
    err = caught.value
    assert (err.token, err.position) == (token, position)
    assert message in err.message and isinstance(err, ValueError)
    assert q[err.position :].startswith(err.token)
    assert err.pointer(q).splitlines()[1] == " " * position + "^" * len(token)


def test_urls_and_times_are_text_not_filters() -> None:
    f = query.parse("https://acme.com/x 10:30")
    assert [c.field for c in f.conds] == ["text", "text"]


def test_keyset_pages_walk_every_ticket_once_even_while_mail_arrives(tmp_path: Path) -> None:
    d = Desk(tmp_path)
    for i in range(57):
        d.add(mail(msgid=f"m{i}@x", frm=f"c{i}@stranka.si", subject=f"Zadeva {i}", date=T0 + timedelta(hours=i)))
    seen: list[str] = []
    after: str | None = None
    with d.db.read() as conn:
        assert query.count(conn, "") == 57
        expected = [r["id"] for r in query.page(conn, "", limit=100).rows]
    pages = 0
    while True:
        with d.db.read() as conn:
            window = query.page(conn, "sort:updated", after=after, limit=20)
        seen += [r["id"] for r in window.rows]
        pages += 1
        if pages == 1:  # a newer ticket arrives between pages: it sorts before the window
            d.add(mail(msgid="new@x", frm="n@stranka.si", subject="Novo", date=T0 + days(30)))
        if window.next_cursor is None:
            break
        after = window.next_cursor
    assert seen == expected and pages == 3
    with d.db.read() as conn, pytest.raises(QueryError):
        query.page(conn, "", after="not-a-cursor!!")
    d.close()


def test_a_typical_filter_uses_indexes_not_a_full_scan(desk: Desk) -> None:
    from tui_desk.storage.ticket_search import _index_for, _Sql, _where

    f = query.parse("status:open,pending assignee:me", agent=AGENT)
    with desk.db.read() as conn:
        q = _Sql()
        where = _where(conn, f, q)
        sql = f"SELECT id FROM tickets t INDEXED BY {_index_for(f)} WHERE {where} ORDER BY updated_at DESC, id DESC"
        plan = " ".join(str(r[3]) for r in cursor(conn).execute(f"EXPLAIN QUERY PLAN {sql} LIMIT 50", q.params))
    assert "ix_tickets_assignee" in plan and "SCAN" not in plan, plan
