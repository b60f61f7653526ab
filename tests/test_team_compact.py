"""Compacting the team event log on a real Dovecot: the `TuiDesk/Events` folder shrinks, every
agent keeps the same state and audit trail, a machine that starts from nothing after the
compaction catches up to the same, two agents compacting at once agree, and killing a sync
between any two steps loses nothing and applies nothing twice.

The horizon is 30 days; instead of waiting, these tests move the compaction's clock forward
(`CompactPolicy.now`), so the events made a moment ago count as old."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from support.accounts import account_for

from tui_desk.config import Account
from tui_desk.mail.errors import ProtocolError
from tui_desk.mail.imap import ImapSession
from tui_desk.storage import sync_state as st
from tui_desk.storage.db import Database
from tui_desk.tickets import desk, events, query, workflow
from tui_desk.tickets.sync import AccountSync, SyncReport
from tui_desk.tickets.team_compact import AUTOMATIC, CompactPolicy
from tui_desk.tickets.team_sync import TeamReport, TeamSync

ANA, BOR, CIR = "ana@example.test", "bor@example.test", "cir@example.test"
EVENTS_FOLDER = "TuiDesk/Events"


class Killed(BaseException):
    """The process dies here (not an Exception: the sync's own error handling must not see it)."""


def _mail(n: int, subject: str) -> bytes:
    return (
        f"From: Kupec {n} <kupec{n}@stranka.si>\r\nTo: support@example.test\r\nSubject: {subject}\r\n"
        f"Message-ID: <compact{n}@stranka.si>\r\nDate: Mon, 2 Nov 2026 10:0{n}:00 +0100\r\n"
        "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n"
        "Pozdravljeni, račun je napačen.\r\n"
    ).encode()


def _later(days: float, base: datetime | None = None) -> CompactPolicy:
    """Compact now, as if `days` had passed since `base` (default: this moment)."""
    moment = (base or datetime.now(UTC)) + timedelta(days=days)
    return CompactPolicy(force=True, now=lambda: moment)


class Team:
    """One Dovecot account and the agents (separate data directories) that share it."""

    def __init__(self, mailhost: Any, user: Any, root: Path) -> None:
        self.mailhost, self.user, self.root = mailhost, user, root
        self.account: Account = account_for(mailhost, user)
        self.dbs: dict[str, Database] = {}

    def db(self, agent: str) -> Database:
        if agent not in self.dbs:
            self.dbs[agent] = Database.in_dir(self.root / agent.split("@")[0])
        return self.dbs[agent]

    def sync(self, agent: str, compaction: CompactPolicy | None = AUTOMATIC) -> SyncReport:
        syncer = AccountSync(self.db(agent), self.account, self.user.password, agent=agent, compaction=compaction)
        try:
            report = syncer.run_once()
        finally:
            syncer.close()
        assert report.ok, report.line()
        return report

    def team_sync(self, agent: str) -> tuple[TeamSync, Callable[[], None]]:
        """A TeamSync on its own connections, for driving the compaction steps one by one."""
        syncer = AccountSync(self.db(agent), self.account, self.user.password, agent=agent, compaction=None)
        team = TeamSync(self.db(agent), syncer._session(), syncer._fetcher_factory, syncer.account_id, agent, None)
        return team, syncer.close

    def compacted_at(self, agent: str) -> datetime | None:
        with self.db(agent).read() as conn:
            folder = st.find_folder(conn, st.account_id(conn, self.account.name) or 0, EVENTS_FOLDER)
            return st.compacted_at(conn, folder.id) if folder else None

    def event_messages(self) -> int:
        with self.mailhost.dovecot.imap_client(self.user.name) as c:
            c.select_folder(EVENTS_FOLDER, readonly=True)
            return len(c.search(["NOT", "DELETED"]))

    def refs(self, agent: str) -> list[str]:
        with self.db(agent).read() as conn:
            return sorted(r["id"] for r in query.page(conn, "", limit=100).rows)

    def state(self, agent: str) -> dict[str, Any]:
        """What every machine must agree on: each ticket's detail without this machine's own
        view (unread, row ids) and without local threading history."""
        out = {}
        with self.db(agent).read() as conn:
            for ref in self.refs(agent):
                t = desk.detail(conn, ref)
                t.pop("unread")
                t["messages"] = [m["message_id"] for m in t["messages"]]
                t["audit"] = [a for a in t["audit"] if a["field"] not in ("joined", "rerooted")]
                out[ref] = t
        return out

    def close(self) -> None:
        for db in self.dbs.values():
            db.close()


@pytest.fixture
def team(mailhost: Any, mail_user: Any, tmp_path: Path) -> Iterator[Team]:
    for n, subject in enumerate(["Račun je napačen", "Не могу войти", "Delivery delayed"], start=1):
        mailhost.dovecot.deliver(mail_user.name, _mail(n, subject), sender=f"kupec{n}@stranka.si")
    t = Team(mailhost, mail_user, tmp_path)
    for agent in (ANA, BOR):
        report = t.sync(agent)
        assert report.team is not None and report.team.compaction is not None, "first sync of the day compacts"
        assert (report.team.compaction.snapshots, report.team.compaction.deleted) == (0, 0), "nothing is old yet"
    yield t
    t.close()


def _work(team: Team, rounds: int, tag: str = "r") -> None:
    """Both agents change tickets, each change synced on its own: many small event messages."""
    refs = team.refs(ANA)
    for i in range(rounds):
        for agent, ref in ((ANA, refs[i % 3]), (BOR, refs[(i + 1) % 3])):
            with team.db(agent).write() as conn:
                workflow.set_status(conn, ref, ("open", "pending", "solved")[i % 3], agent)
                workflow.add_tag(conn, ref, f"{tag}{i}", agent)
                workflow.add_note(conn, ref, f"{agent} round {tag}{i}: račun, счёт", agent)
            team.sync(agent, None)
    for agent in (ANA, BOR, ANA):
        team.sync(agent, None)


def _audit_lines(state: dict[str, Any]) -> int:
    return sum(len(t["audit"]) for t in state.values())


def test_compaction_shrinks_the_folder_and_a_fresh_agent_catches_up(team: Team) -> None:
    _work(team, 4)
    before = team.state(ANA)
    assert before == team.state(BOR) and _audit_lines(before) > 20
    messages = team.event_messages()

    report = team.sync(ANA, _later(40))
    assert report.team is not None and report.team.compaction is not None
    done = report.team.compaction
    assert done.snapshots == 3 and done.deleted > 0 and not done.skipped, done
    assert "event log compacted" in report.line()
    assert team.event_messages() < messages
    assert team.state(ANA) == before, "compaction changes nothing anyone can see"

    # Twice is the same as once: a second run makes no new snapshot and deletes nothing more.
    shrunk = team.event_messages()
    report = team.sync(ANA, _later(40))
    assert report.team and report.team.compaction
    assert (report.team.compaction.snapshots, report.team.compaction.deleted) == (0, 0)
    assert team.event_messages() == shrunk

    # Bor syncs as usual; Cir starts from an empty data directory after the compaction.
    team.sync(BOR)
    team.sync(CIR)
    assert team.state(BOR) == before
    assert team.state(CIR) == before, "the snapshots carry state, notes and the whole audit trail"

    # Work goes on after the compaction, from the new machine too, and everyone still agrees.
    ref = team.refs(CIR)[0]
    with team.db(CIR).write() as conn:
        workflow.set_status(conn, ref, "closed", CIR)
        workflow.add_note(conn, ref, "Closed after compaction.", CIR)
    for agent in (CIR, ANA, BOR):
        team.sync(agent)
    after = team.state(ANA)
    assert after == team.state(BOR) == team.state(CIR)
    assert after[ref]["status"] == "closed" and after[ref]["audit"][-1]["agent"] == CIR



def test_compaction_runs_at_most_once_a_day(team: Team) -> None:
    assert team.compacted_at(ANA) is not None
    report = team.sync(ANA)
    assert report.team is not None and report.team.compaction is None, "already done today"
    report = team.sync(ANA, CompactPolicy(now=lambda: datetime.now(UTC) + timedelta(days=1, minutes=1)))
    assert report.team is not None and report.team.compaction is not None, "a day later it runs again"


def test_two_agents_compacting_at_once_agree(team: Team) -> None:
    """Ana and Bor compact at the same moment with different horizons (their clocks, or their
    days, differ), so they make different snapshots of the same tickets; the steps interleave:
    both snapshot, both push, Bor deletes, then Ana deletes (some of it is gone already)."""
    _work(team, 2, "early")
    cut_ana = datetime.now(UTC)
    time.sleep(0.05)
    _work(team, 2, "mid")
    cut_bor = datetime.now(UTC)
    time.sleep(0.05)
    before = team.state(ANA)
    assert before == team.state(BOR)
    messages = team.event_messages()

    (ana, close_ana), (bor, close_bor) = team.team_sync(ANA), team.team_sync(BOR)
    try:
        ana.run()
        bor.run()
        c_ana, c_bor = ana.compactor(_later(30, cut_ana)), bor.compactor(_later(30, cut_bor))
        snaps_ana, snaps_bor = c_ana.make_snapshots(), c_bor.make_snapshots()
        assert len(snaps_ana) == len(snaps_bor) == 3
        assert {e.event_id for e in snaps_ana}.isdisjoint(e.event_id for e in snaps_bor), "they cover different spans"
        ana._push(TeamReport())
        bor._push(TeamReport())
        assert c_bor.delete_covered_messages() > 0
        c_ana.delete_covered_messages()
        for c in (c_ana, c_bor):
            c.finish()
        # Deleting what is already gone is fine (the other agent may have been faster).
        session: ImapSession = ana.session
        session.select(ana.folder, readonly=False)
        assert session.expunge_uids([1, 2, 3]) is True
    finally:
        close_ana()
        close_bor()

    assert team.event_messages() < messages
    for agent in (ANA, BOR, CIR, ANA):
        team.sync(agent)
    assert team.state(ANA) == team.state(BOR) == team.state(CIR) == before


def test_an_agent_offline_past_the_horizon_loses_nothing(team: Team) -> None:
    """Bor works offline; meanwhile Ana works on and compacts (as if 40 days had passed), so
    her snapshots are newer than Bor's changes. When Bor comes back, his changes are folded in
    on top of the snapshots on every machine, by the usual per-field rules: his tag and note
    stay; his status, older than Ana's, loses but is in the audit trail. His event messages
    stay on the server until a snapshot names them; a machine set up after all of it agrees."""
    refs = team.refs(ANA)
    ref = refs[0]
    with team.db(BOR).write() as conn:  # offline: not synced yet
        workflow.set_status(conn, ref, "on-hold", BOR)
        workflow.add_tag(conn, ref, "offline-bor", BOR)
        workflow.add_note(conn, ref, "Bor, brez povezave: stranka je poklicala.", BOR)
    time.sleep(0.05)
    with team.db(ANA).write() as conn:
        workflow.set_status(conn, ref, "pending", ANA)
        workflow.add_tag(conn, ref, "ana", ANA)
    team.sync(ANA, None)
    report = team.sync(ANA, _later(40))
    assert report.team and report.team.compaction and report.team.compaction.snapshots >= 1

    team.sync(BOR, None)  # back online: pushes his old events, pulls Ana's snapshot
    team.sync(ANA, None)
    team.sync(BOR, None)
    ana, bor = team.state(ANA), team.state(BOR)
    assert ana == bor
    ticket = ana[ref]
    assert ticket["status"] == "pending", "Ana's later status wins"
    assert {"offline-bor", "ana"} <= set(ticket["tags"])
    assert any("brez povezave" in n["body"] for n in ticket["notes"])
    assert any(a["agent"] == BOR and a["field"] == "status" and a["to"] == "on-hold" for a in ticket["audit"])

    # Ana's next compaction folds Bor's late events into a new snapshot, and only then may
    # their messages go; a machine set up afterwards sees the same.
    report = team.sync(ANA, _later(41))
    assert report.team and report.team.compaction and report.team.compaction.snapshots >= 1
    team.sync(BOR, _later(41))
    for agent in (CIR, ANA, BOR):
        team.sync(agent, None)
    assert team.state(CIR) == team.state(ANA) == team.state(BOR) == ana


def test_killed_between_any_two_steps_nothing_is_lost_or_applied_twice(
    team: Team, monkeypatch: pytest.MonkeyPatch
) -> None:
    _work(team, 3)
    before = team.state(ANA)
    messages = team.event_messages()

    # 1. Killed after the snapshots were APPENDed, before they were marked pushed.
    real_mark = events.mark_pushed

    def die_on_snapshots(conn: Any, event_ids: Any) -> int:
        event_ids = list(event_ids)
        if any(e.startswith("snap-") for e in event_ids):
            raise Killed
        return real_mark(conn, event_ids)

    monkeypatch.setattr(events, "mark_pushed", die_on_snapshots)
    with pytest.raises(Killed):
        team.sync(ANA, _later(40))
    monkeypatch.setattr(events, "mark_pushed", real_mark)
    assert team.event_messages() == messages + 1, "the snapshots are on the server, nothing was deleted"
    team.sync(CIR)  # a new machine reading the folder now sees old events and the snapshots
    assert team.state(CIR) == before

    # 2. Killed in the middle of deleting: flagged \Deleted, not yet expunged.
    def die_before_expunge(self: ImapSession, uids: Any) -> bool:
        self.store_flags(list(uids), add=["\\Deleted"])
        raise Killed

    monkeypatch.setattr(ImapSession, "expunge_uids", die_before_expunge)
    with pytest.raises(Killed):
        team.sync(ANA, _later(40))  # pushes the snapshots again (twice in the folder now)
    monkeypatch.undo()
    assert team.event_messages() < messages, "the \\Deleted ones are on their way out"
    last = team.compacted_at(ANA)
    assert last is not None and last < datetime.now(UTC) + timedelta(days=1), "an unfinished run is not recorded"

    # 3. The next run finishes the job; everyone, old and new, ends with the same state.
    report = team.sync(ANA, _later(40))
    assert report.team and report.team.compaction and report.team.compaction.snapshots == 0
    assert team.event_messages() < messages
    team.sync(BOR)
    team.sync(CIR)
    team.sync("dan@example.test")
    for agent in (ANA, BOR, CIR, "dan@example.test"):
        assert team.state(agent) == before, agent
    notes = [n["body"] for t in before.values() for n in t["notes"]]
    assert len(notes) == len(set(notes)) == 6, "no note applied twice"


def test_a_server_that_cannot_delete_keeps_everything_and_sync_stays_online(
    team: Team, monkeypatch: pytest.MonkeyPatch
) -> None:
    _work(team, 2)
    before = team.state(ANA)
    messages = team.event_messages()

    monkeypatch.setattr(ImapSession, "uidplus", property(lambda self: False))
    report = team.sync(ANA, _later(40))
    assert report.team and report.team.compaction and report.team.compaction.snapshots == 3
    assert "UIDPLUS" in report.team.compaction.skipped and report.team.compaction.deleted == 0
    assert team.event_messages() == messages + 1, "snapshots are still shared, nothing deleted"

    monkeypatch.undo()

    def refuse(self: ImapSession, uids: Any) -> bool:
        raise ProtocolError("NO [NOPERM] permission denied")

    monkeypatch.setattr(ImapSession, "expunge_uids", refuse)
    report = team.sync(ANA, _later(41))
    assert report.team and report.team.compaction and "permission denied" in report.team.compaction.skipped
    assert team.compacted_at(ANA) is not None and team.compacted_at(ANA) > datetime.now(UTC) + timedelta(days=40)
    monkeypatch.undo()

    team.sync(BOR)
    team.sync(CIR)
    assert team.state(BOR) == team.state(CIR) == before


def test_cli_sync_compact_runs_it_now(team: Team, tmp_path: Path) -> None:
    """`tui-desk sync` compacts by itself once a day; `--compact` runs it again right away."""
    import os
    import subprocess
    import sys
    from dataclasses import replace

    from tui_desk.config import Config, save_config

    account = replace(team.account, password_command=f"printf %s {team.user.password}")
    save_config(tmp_path / "c.toml", Config(accounts=(account,)))
    env = {**os.environ, "TUI_DESK_DATA_DIR": str(tmp_path / "cli"), "TUI_DESK_CONFIG": str(tmp_path / "c.toml")}

    def cli(*args: str) -> datetime | None:
        done = subprocess.run([sys.executable, "-m", "tui_desk.cli", "sync", *args], capture_output=True,
                              text=True, env=env, timeout=120)  # fmt: skip
        assert done.returncode == 0 and "Traceback" not in done.stderr, done.stdout + done.stderr
        db = Database.in_dir(tmp_path / "cli")
        try:
            with db.read() as conn:
                folder = st.find_folder(conn, st.account_id(conn, account.name) or 0, EVENTS_FOLDER)
                return st.compacted_at(conn, folder.id) if folder else None
        finally:
            db.close()

    first = cli()
    assert first is not None
    assert cli() == first, "not again the same day"
    again = cli("--compact")
    assert again is not None and again > first
