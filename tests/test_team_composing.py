""""Being answered by": composing marks travel between agents as team events on a real Dovecot.

Two agents (separate data directories, one support account) each run a `DeskService`; syncs
are driven by hand (`sync_once`), except in the nudge test, where Ana's background sync runs
as in the app. What must hold: Bor sees Ana writing and his pre-send check says so; the mark
goes when Ana sends or discards; it changes nothing on the ticket; an expired or late old mark
is never shown; compaction deletes the marks' messages; a local change is pushed within
seconds; and a tui-desk that does not know marks skips them without failing.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email import message_from_bytes, policy
from pathlib import Path
from typing import Any

import pytest
from support.accounts import account_for
from support.replies import customer_mail

from tui_desk.config import Agent, Config
from tui_desk.credentials import set_password
from tui_desk.storage.db import Database, cursor
from tui_desk.tickets import composing, desk, events, ids, model
from tui_desk.tickets.model import Event, Hlc
from tui_desk.tickets.service import DeskService
from tui_desk.tickets.service_types import SyncNews
from tui_desk.tickets.sync import AccountSync
from tui_desk.tickets.team_compact import CompactPolicy

ANA, BOR = "ana@example.test", "bor@example.test"
EVENTS_FOLDER = "TuiDesk/Events"


class Team:
    """The support mailbox, one customer ticket in it, and the agents' desks."""

    def __init__(self, mailhost: Any, user: Any, root: Path) -> None:
        self.mailhost, self.user, self.root = mailhost, user, root
        self.account = account_for(mailhost, user)
        set_password(self.account.name, user.password)  # the test's in-memory keyring
        self.desks: dict[str, DeskService] = {}

    def desk(self, agent: str) -> DeskService:
        if agent not in self.desks:
            config = Config(agent=Agent(agent.split("@")[0].title(), agent), accounts=(self.account,))
            db = Database.in_dir(self.root / agent.split("@")[0])
            self.desks[agent] = DeskService(None, config, db=db, background_sync=False)
        return self.desks[agent]

    def sync(self, *agents: str) -> None:
        for agent in agents:
            (news,) = self.desk(agent).sync_once()
            assert news.state == "online", news

    def event_messages(self) -> list[bytes]:
        with self.mailhost.dovecot.imap_client(self.user.name) as c:
            c.select_folder(EVENTS_FOLDER, readonly=True)
            uids = c.search(["NOT", "DELETED"])
            return [d[b"BODY[]"] for d in c.fetch(uids, ["BODY.PEEK[]"]).values()] if uids else []

    def close(self) -> None:
        for service in self.desks.values():
            service.close()


@pytest.fixture
def team(mailhost: Any, make_mail_user: Any, tmp_path: Path) -> Iterator[tuple[Team, str]]:
    support, customer = make_mail_user(), make_mail_user()
    raw, _mid = customer_mail(f"Janez Kranjc <{customer.address}>", support.address, msgid="<c1@customer.example>")
    mailhost.dovecot.deliver(support.name, raw, sender=customer.address)
    t = Team(mailhost, support, tmp_path)
    t.sync(ANA, BOR)
    (row,) = t.desk(ANA).window("", 0, 10)
    assert [r.ref for r in t.desk(BOR).window("", 0, 10)] == [row.ref]
    yield t, row.ref
    t.close()


def _seen_by(service: DeskService, ref: str) -> list[str]:
    return [agent for agent, _since in service.composing(ref)]


def _ticket_view(service: DeskService, ref: str) -> tuple[Any, ...]:
    """What a mark must not change: the ticket's state, times, notes and audit trail."""
    d = service.detail(ref)
    (row,) = service.tickets([ref])
    return d.status, d.priority, d.assignee, d.tags, d.updated, d.notes, d.audit, row.updated, row.sort_key


def _composing_events_in_log(service: DeskService) -> int:
    with service.db.read() as conn:
        return int(cursor(conn).execute("SELECT COUNT(*) FROM events WHERE field = 'composing'").fetchone()[0])


def test_a_colleague_sees_who_is_answering_until_the_reply_is_sent(team: tuple[Team, str], smtp_server: Any) -> None:
    t, ref = team
    ana, bor = t.desk(ANA), t.desk(BOR)
    before = {a: _ticket_view(t.desk(a), ref) for a in (ANA, BOR)}

    draft = ana.open_reply(ref)
    t.sync(ANA, BOR)
    assert _seen_by(bor, ref) == [ANA], "Bor sees Ana writing"
    ((_who, since),) = bor.composing(ref)
    assert abs(since - draft.opened_at) < timedelta(seconds=1), "since when: the time her composer opened"
    assert bor.window("", 0, 10)[0].composing == (ANA,), "on Bor's list row too"
    assert _seen_by(ana, ref) == [] and ana.window("", 0, 10)[0].composing == (), "Ana's own mark is not shown to her"
    for agent in (ANA, BOR):
        assert _ticket_view(t.desk(agent), ref) == before[agent], "the mark changes nothing on the ticket"
        assert _composing_events_in_log(t.desk(agent)) == 0, "marks are not in the team event log"

    # Bor starts a reply too: his pre-send check (which syncs first) says Ana is writing.
    bor_draft = bor.open_reply(ref)
    assert [line.split(" (")[0] for line in bor.collisions(bor_draft)] == [f"{ANA} is writing a reply"]

    # Ana sends: her mark goes, on her machine at once and on Bor's after the syncs.
    ana.send(ana.save_draft(draft, body="We are sending a new printer."))
    t.sync(ANA, BOR)
    assert len(smtp_server.sent) == 1
    assert _seen_by(bor, ref) == []
    lines = bor.collisions(bor_draft)
    assert len(lines) == 1 and "replied" in lines[0] and "writing" not in lines[0], lines
    # ... and Ana sees Bor's mark, brought by the same syncs.
    assert _seen_by(ana, ref) == [BOR]


def test_discarding_clears_the_mark_and_an_old_mark_never_comes_back(team: tuple[Team, str]) -> None:
    t, ref = team
    ana, bor = t.desk(ANA), t.desk(BOR)
    draft = ana.open_reply(ref)
    with ana.db.read() as conn:
        (old_mark,) = composing.pending(conn)  # as it travels: kept to deliver again later
    t.sync(ANA, BOR)
    assert _seen_by(bor, ref) == [ANA]

    ana.discard(draft)
    t.sync(ANA, BOR)
    assert _seen_by(bor, ref) == []

    # The same mark delivered again (a re-read folder, a slow copy): the later clear wins.
    t.mailhost.dovecot.append(t.user.name, EVENTS_FOLDER, events.encode([old_mark]))
    t.sync(BOR)
    assert _seen_by(bor, ref) == []

    # A colleague's mark that reaches the folder 31 minutes after it was made (she was offline):
    # it expired before it arrived, so nobody is shown as writing.
    late = datetime.now(UTC) - timedelta(minutes=31)
    hlc = str(Hlc(int(late.timestamp() * 1000), 0, "cir@example.test"))
    stale = Event(ref, "composing", "mark", late.isoformat(), hlc, "cir@example.test", uuid.uuid4().hex)
    t.mailhost.dovecot.append(t.user.name, EVENTS_FOLDER, events.encode([stale]))
    t.sync(BOR)
    assert _seen_by(bor, ref) == []
    with bor.db.read() as conn:
        assert composing.marks_on(conn, [ref], BOR) == {}


def test_a_mark_expires_by_itself_when_the_composer_is_gone(team: tuple[Team, str]) -> None:
    """Ana's terminal died with the composer open: no clear ever comes. Half an hour after her
    last refresh Bor no longer sees her, and the row is forgotten at the next sync after that."""
    t, ref = team
    ana, bor = t.desk(ANA), t.desk(BOR)
    draft = ana.open_reply(ref)
    t.sync(ANA, BOR)
    later = datetime.now(UTC) + composing.COMPOSING_FRESH + timedelta(minutes=1)
    with bor.db.read() as conn:
        assert [a for a, _s in composing.marks_on(conn, [ref], BOR)[ref]] == [ANA]
        assert composing.marks_on(conn, [ref], BOR, now=later) == {}
    # a refresh within the quiet minute publishes nothing new; a later one does
    ana.still_writing(draft)
    with ana.db.read() as conn:
        assert composing.pending(conn) == []
    with ana.db.write() as conn:
        assert composing.mark(conn, ref, ANA, draft.opened_at, now=datetime.now(UTC) + timedelta(minutes=2))
        assert len(composing.pending(conn, now=datetime.now(UTC) + timedelta(minutes=2))) == 1
    with bor.db.write() as conn:
        assert composing.apply_remote(conn, [], now=later) == []  # what every pull of marks does first: prune
        assert int(cursor(conn).execute("SELECT COUNT(*) FROM composing").fetchone()[0]) == 0


def test_compaction_deletes_the_marks_messages_without_snapshots(team: tuple[Team, str]) -> None:
    t, ref = team
    ana, bor = t.desk(ANA), t.desk(BOR)
    for _ in range(2):  # two composers opened and closed: marks and clears, each pushed
        draft = ana.open_reply(ref)
        t.sync(ANA)
        ana.discard(draft)
        t.sync(ANA)
    ana.change(ref, desk_change(status="pending"))  # one ordinary event beside them
    t.sync(ANA, BOR)
    messages = t.event_messages()
    ephemeral = [m for m in messages if message_from_bytes(m, policy=policy.default)[events.EPHEMERAL_HEADER]]
    assert len(ephemeral) == 4 and len(messages) == 5

    # Two days later (the marks are long expired; the status event is far from the horizon).
    moment = datetime.now(UTC) + timedelta(days=2)
    report = _sync_compacting(t, ANA, CompactPolicy(force=True, now=lambda: moment))
    assert (report.snapshots, report.deleted) == (0, 4), report
    left = t.event_messages()
    assert len(left) == 1 and not message_from_bytes(left[0], policy=policy.default)[events.EPHEMERAL_HEADER]

    # After the 30-day horizon the snapshot holds the ticket's state, and nothing about marks.
    moment40 = datetime.now(UTC) + timedelta(days=40)
    report = _sync_compacting(t, ANA, CompactPolicy(force=True, now=lambda: moment40))
    assert report.snapshots == 1 and report.deleted == 1
    with ana.db.read() as conn:
        values = [r[0] for r in cursor(conn).execute("SELECT value FROM events WHERE field = 'snapshot'")]
    assert len(values) == 1 and "composing" not in values[0]
    t.sync(BOR)
    assert bor.detail(ref).status == ana.detail(ref).status == "pending"


def test_a_local_change_reaches_the_server_within_seconds(team: tuple[Team, str]) -> None:
    """The app's background sync waits in IDLE on INBOX (or polls once a minute); opening a
    composer nudges it, so the mark is in the Events folder within seconds, not a minute."""
    t, ref = team
    ana, bor = t.desk(ANA), t.desk(BOR)
    stop, passes = threading.Event(), []
    watcher = threading.Thread(target=ana.watch, args=(t.account.name, stop, passes.append), daemon=True)
    watcher.start()
    try:
        _wait_for(lambda: passes, 20)
        time.sleep(0.5)  # let it settle into IDLE
        started = time.monotonic()
        draft = ana.open_reply(ref)
        _wait_for(lambda: _pushed_marks(t) >= 1, 5)
        assert time.monotonic() - started < 5
        t.sync(BOR)
        assert _seen_by(bor, ref) == [ANA]
        ana.discard(draft)
        _wait_for(lambda: _pushed_marks(t) >= 2, 5)
        t.sync(BOR)
        assert _seen_by(bor, ref) == []
    finally:
        stop.set()
        watcher.join(timeout=10)
    assert all(isinstance(n, SyncNews) and n.state == "online" for n in passes)


def test_a_tui_desk_that_does_not_know_marks_skips_them(team: tuple[Team, str], monkeypatch: pytest.MonkeyPatch,
                                                        caplog: pytest.LogCaptureFixture) -> None:  # fmt: skip
    """An older version reads a folder with composing events in it: each is skipped with a
    warning, everything else is applied, and its sync stays online."""
    t, ref = team
    ana = t.desk(ANA)
    ana.open_reply(ref)
    ana.change(ref, desk_change(status="pending"))
    t.sync(ANA)
    monkeypatch.setattr(model, "OPS", {k: v for k, v in model.OPS.items() if k != "composing"})
    old = Database.in_dir(t.root / "old")
    try:
        syncer = AccountSync(old, t.account, t.user.password, agent="old@example.test")
        try:
            report = syncer.run_once()
        finally:
            syncer.close()
        assert report.ok, report.line()
        assert "unknown change composing/mark" in caplog.text
        with old.read() as conn:
            assert desk.detail(conn, ref)["status"] == "pending"
            assert composing.marks_on(conn, [ref], "old@example.test") == {}
    finally:
        old.close()


def test_marks_merge_by_clock_in_any_order(tmp_path: Path) -> None:
    """The register without a server: the later clock wins whatever the arrival order, replays
    change nothing, and a clock running ahead does not keep a mark alive past its arrival."""
    ref = ids.ref_for("orig@customer.example")
    now = datetime.now(UTC)

    def ev(minutes_ago: float, op: str, agent: str = ANA) -> Event:
        at = now - timedelta(minutes=minutes_ago)
        value = at.isoformat() if op == "mark" else ""
        return Event(ref, "composing", op, value, str(Hlc(int(at.timestamp() * 1000), 0, agent)), agent, uuid.uuid4().hex)

    db = Database.in_dir(tmp_path)
    try:
        cases = [([ev(5, "mark"), ev(2, "clear")], []), ([ev(5, "clear"), ev(2, "mark")], [ANA])]
        for history, shown in cases:
            for order in (history, history[::-1], history + history):
                with db.write() as conn:
                    cursor(conn).execute("DELETE FROM composing")
                    for e in order:
                        events.apply_remote(conn, [e])
                    assert [a for a, _s in composing.marks_on(conn, [ref], BOR).get(ref, [])] == shown
        ahead = ev(-120, "mark", BOR)  # Bor's clock is two hours fast
        with db.write() as conn:
            assert events.apply_remote(conn, [ahead]) == [ahead]
            assert composing.marks_on(conn, [ref], ANA, now=now + timedelta(minutes=31)) == {}
        with db.read() as conn:  # a message of marks needs no snapshot to go, only time
            assert events.compacted(conn, [ev(40, "mark"), ev(35, "clear")], on_server=True, now=now)
            assert not events.compacted(conn, [ev(40, "mark"), ev(1, "mark")], now=now), "one alive: keep it"
    finally:
        db.close()


# --- helpers --------------------------------------------------------------------------------------


def desk_change(**values: Any) -> Any:
    from tui_desk.tickets.service import ChangeSet

    return ChangeSet(**values)


def _sync_compacting(t: Team, agent: str, policy: CompactPolicy) -> Any:
    syncer = AccountSync(t.desk(agent).db, t.account, t.user.password, agent=agent, compaction=policy)
    try:
        report = syncer.run_once()
    finally:
        syncer.close()
    assert report.ok and report.team is not None and report.team.compaction is not None, report.line()
    return report.team.compaction


def _pushed_marks(t: Team) -> int:
    return sum(1 for m in t.event_messages() if message_from_bytes(m, policy=policy.default)[events.EPHEMERAL_HEADER])


def _wait_for(condition: Any, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.1)

