"""`tui-desk tickets`, `show` and `set` as a user (or a script) runs them."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from ticketkit import T0, Desk, days, mail

from tui_desk.cli import main
from tui_desk.tickets import ids

REF = ids.ref_for("orig@stranka.si")


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    d = Desk(tmp_path)
    d.add(mail(msgid="orig@stranka.si", subject="Račun [bold red]ni[/] pravilen",
               body="Pozdravljeni,\n[@click=app.quit]klik[/]\x1b]0;pwned\x07 račun ni pravilen."))  # fmt: skip
    d.add(mail(msgid="r@stranka.si", subject="Re: Račun [bold red]ni[/] pravilen", in_reply_to="orig@stranka.si",
               date=T0 + days(1)))  # fmt: skip
    d.add(mail(msgid="other@drugi.si", frm="Иван <ivan@firma.ru>", subject="Вопрос", body="Где мой заказ?",
               date=T0 + days(2)))  # fmt: skip
    d.close()
    return tmp_path


def run(data_dir: Path, *args: str) -> int:
    return main(["--data-dir", str(data_dir), *args])


def as_json(capsys: pytest.CaptureFixture[str], data_dir: Path, *args: str) -> Any:
    assert run(data_dir, *args, "--format", "json") == 0
    return json.loads(capsys.readouterr().out)


def test_tickets_json_lists_every_ticket_with_the_documented_fields(data_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rows = as_json(capsys, data_dir, "tickets")
    assert [r["id"] for r in rows] == [ids.ref_for("other@drugi.si"), REF]
    for r in rows:
        assert {"id", "status", "priority", "subject", "requester", "assignee", "tags", "updated"} <= r.keys()
    assert rows[1]["requester"] == {"name": "Marko Novak", "address": "marko@stranka.si"}
    assert (rows[1]["status"], rows[1]["priority"], rows[1]["assignee"], rows[1]["tags"]) == ("new", "normal", None, [])
    assert as_json(capsys, data_dir, "tickets", "--limit", "1")[0]["id"] == ids.ref_for("other@drugi.si")
    assert [r["id"] for r in as_json(capsys, data_dir, "tickets", "--query", "račun")] == [REF]
    assert [r["id"] for r in as_json(capsys, data_dir, "tickets", "-q", "вопрос")] == [ids.ref_for("other@drugi.si")]


def test_bad_query_is_one_clear_message_and_exit_2(data_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(data_dir, "tickets", "--query", "status:open prio:high") == 2
    err = capsys.readouterr().err
    assert "unknown filter 'prio:'" in err and "Traceback" not in err
    assert err.splitlines()[-1] == " " * 12 + "^^^^^"


def test_show_json_has_messages_notes_state_and_audit(data_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    t = as_json(capsys, data_dir, "show", REF.lower()[:6])
    assert t["id"] == REF
    assert [m["message_id"] for m in t["messages"]] == ["orig@stranka.si", "r@stranka.si"]
    assert t["notes"] == [] and t["audit"] == [] and t["status"] == "new"
    assert run(data_dir, "show", "T-ZZZZZZZZ") == 2
    assert "no ticket matches" in capsys.readouterr().err


def test_show_text_never_interprets_mail_as_markup_or_escapes(data_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(data_dir, "show", REF) == 0
    out = capsys.readouterr().out
    assert "[bold red]ni[/]" in out and "[@click=app.quit]klik[/]" in out
    assert "\x1b]0;" not in out and "pwned" not in out


def test_table_output_is_safe_text(data_dir: Path, capsys: pytest.CaptureFixture[str],
                                   monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    monkeypatch.setenv("COLUMNS", "200")
    assert run(data_dir, "tickets") == 0
    out = capsys.readouterr().out
    assert REF in out and "[bold red]ni[/]" in out and "Иван" in out


def test_set_changes_state_and_show_has_the_audit_trail(data_dir: Path, capsys: pytest.CaptureFixture[str],
                                                       monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    monkeypatch.delenv("TUI_DESK_AGENT", raising=False)
    assert run(data_dir, "set", REF, "status=solved", "priority=high", "tag+=billing", "tag+=spam", "tag-=spam",
               "assignee=ana@desk.example", "note=Poslal sem popravljen račun.") == 0  # fmt: skip
    assert capsys.readouterr().out.startswith(f"{REF}: status solved, priority high")
    t = as_json(capsys, data_dir, "show", REF)
    assert (t["status"], t["priority"], t["assignee"], t["tags"]) == ("solved", "high", "ana@desk.example", ["billing"])
    assert [n["body"] for n in t["notes"]] == ["Poslal sem popravljen račun."]
    assert {a["agent"] for a in t["audit"]} == {"me@localhost"}
    assert ("status", "new", "solved") in [(a["field"], a["from"], a["to"]) for a in t["audit"]]
    assert run(data_dir, "set", REF, "assignee=") == 0
    capsys.readouterr()
    assert as_json(capsys, data_dir, "show", REF)["assignee"] is None


def test_me_comes_from_agent_flag_or_environment(data_dir: Path, capsys: pytest.CaptureFixture[str],
                                                 monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    assert run(data_dir, "set", REF, "assignee=me", "--agent", "Bob@Desk.example") == 0
    capsys.readouterr()
    monkeypatch.setenv("TUI_DESK_AGENT", "bob@desk.example")
    assert [r["id"] for r in as_json(capsys, data_dir, "tickets", "-q", "assignee:me")] == [REF]
    assert as_json(capsys, data_dir, "tickets", "-q", "assignee:me", "--agent", "ana@desk.example") == []
    assert [r["id"] for r in as_json(capsys, data_dir, "tickets", "--view", "My open")] == [REF]
    assert as_json(capsys, data_dir, "tickets", "--view", "my open", "--agent", "ana@desk.example") == []
    assert len(as_json(capsys, data_dir, "tickets", "--view", "new")) == 2


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        (["colour=red"], "unknown field 'colour'"),
        (["status=later"], "unknown status 'later'"),
        (["priority=asap"], "unknown priority"),
        (["assignee=bob"], "assignee must be"),
        (["tag+=two words!"], "bad tag"),
        (["status"], "expected field=value"),
    ],
)
def test_set_refuses_unknown_fields_and_values_with_exit_2(data_dir: Path, capsys: pytest.CaptureFixture[str],
                                                          changes: list[str], message: str) -> None:  # fmt: skip
    assert run(data_dir, "set", REF, *changes) == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1
    assert as_json(capsys, data_dir, "show", REF)["status"] == "new"


def test_set_on_an_unknown_ticket_exits_2(data_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(data_dir, "set", "T-ZZZZZZZZ", "status=open") == 2
    assert "no ticket matches" in capsys.readouterr().err


def test_imported_mail_is_listed_as_tickets(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    eml = tmp_path / "in"
    eml.mkdir()
    (eml / "1.eml").write_bytes(mail(msgid="orig@stranka.si"))
    (eml / "2.eml").write_bytes(mail(msgid="r@stranka.si", subject="Odg: Težava z računom", date=T0 + days(1)))
    assert run(tmp_path / "data", "import", str(eml)) == 0
    capsys.readouterr()
    rows = as_json(capsys, tmp_path / "data", "tickets")
    assert [r["id"] for r in rows] == [REF]
    assert len(as_json(capsys, tmp_path / "data", "show", REF)["messages"]) == 2
