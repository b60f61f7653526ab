"""DeskService, the one door the screens use: list windows that agree with keyset pages,
positions for keeping the cursor, bulk changes that report per ticket, attachments that
never overwrite, and account setup without a keyring."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from support.ui_desk import ui_service

from tui_desk.config import Config, ConfigError, Paths, load_config
from tui_desk.credentials import CredentialError
from tui_desk.tickets.service import ChangeSet, DeskService, QueryError
from tui_desk.tickets.service_account import account_from
from tui_desk.tickets.service_types import AccountSettings


@pytest.mark.parametrize("text", ["", "status:new", "sort:priority", "sort:-created", "refund", "-status:new"])
def test_windows_and_positions_agree_with_keyset_pages(ui_desk: tuple[Path, dict[str, str]], text: str) -> None:
    service = ui_service(ui_desk[0])
    everything = [r.ref for r in service.page(text, limit=100).rows]
    assert service.count(text) == len(everything)
    for offset in range(len(everything)):
        assert [r.ref for r in service.window(text, offset, 3)] == everything[offset : offset + 3]
        assert service.position(text, everything[offset]) == offset
    if everything:  # reading on from the row above is the same as jumping there
        first = service.window(text, 0, 2)
        assert [r.ref for r in service.window(text, 2, 3, after_key=first[-1].sort_key)] == everything[2:5]


def test_a_bad_query_raises_with_a_position(ui_desk: tuple[Path, dict[str, str]]) -> None:
    service = ui_service(ui_desk[0])
    with pytest.raises(QueryError) as caught:
        service.count("status:open bogus:1")
    assert caught.value.position == len("status:open ")


def test_bulk_change_reports_each_failure_and_keeps_the_rest(ui_desk: tuple[Path, dict[str, str]]) -> None:
    data, refs = ui_desk
    service = ui_service(data)
    result = service.bulk_change([refs["marko@stranka.si"], "T-NOSUCH00", refs["ava@outlook.com"]],
                                 ChangeSet(status="solved", add_tags=("billing",)))  # fmt: skip
    assert set(result.done) == {refs["marko@stranka.si"], refs["ava@outlook.com"]}
    assert [r for r, _why in result.failed] == ["T-NOSUCH00"] and "1 not" in result.line()
    detail = service.detail(refs["ava@outlook.com"])
    assert detail.status == "solved" and detail.tags == ("billing",)
    assert [a.field for a in detail.audit][-2:] == ["status", "tag"]


def test_views_counts_and_requester_tickets(ui_desk: tuple[Path, dict[str, str]]) -> None:
    data, refs = ui_desk
    service = ui_service(data)
    counts = {v.name: v.count for v in service.views()}
    assert counts["New"] == 8 and counts["My open"] == 1 and counts["Solved"] == 1
    assert [r.ref for r in service.requester_tickets(refs["emma@acme.com"])] == [refs["emma-2"]]


def test_save_attachment_uses_a_safe_name_and_never_overwrites(ui_desk: tuple[Path, dict[str, str]],
                                                               tmp_path: Path) -> None:  # fmt: skip
    data, refs = ui_desk
    service = ui_service(data)
    part = service.detail(refs["emma@acme.com"]).messages[-1].attachments[0]
    target = tmp_path / "out"
    target.mkdir()
    path = service.save_attachment(part.message_row, part.part, target, name="../../evil/scan.pdf")
    assert path == target / "scan.pdf" and path.read_bytes() == b"%PDF-1.4 scan"
    with pytest.raises(FileExistsError):
        service.save_attachment(part.message_row, part.part, target, name="scan.pdf")
    path.write_bytes(b"mine")
    service.save_attachment(part.message_row, part.part, target, name="scan.pdf", overwrite=True)
    assert path.read_bytes() == b"%PDF-1.4 scan"


SETTINGS = AccountSettings(email="support@example.com", imap_host="imap.example.com", imap_port=993,
                           smtp_host="smtp.example.com", smtp_port=587, agent_name="Ana")  # fmt: skip


def test_account_settings_are_checked_in_plain_words() -> None:
    from dataclasses import replace

    with pytest.raises(ConfigError, match="needs an @"):
        account_from(replace(SETTINGS, email="support"))
    with pytest.raises(ConfigError, match="host name is missing"):
        account_from(replace(SETTINGS, imap_host=" "))
    account = account_from(SETTINGS)
    assert account.username == "support@example.com" and account.smtp and account.smtp.port == 587


def test_save_account_without_a_keyring_offers_a_password_command(tmp_path: Path) -> None:
    from dataclasses import replace

    import keyring
    import keyring.backends.fail

    keyring.set_keyring(keyring.backends.fail.Keyring())  # the autouse fixture restores the previous one
    paths = Paths(tmp_path / "data", tmp_path / "config.toml")
    service = DeskService(paths, Config(), background_sync=False)
    with pytest.raises(CredentialError, match="password_command"):
        service.save_account(SETTINGS, "secret")
    assert not paths.config_file.exists(), "nothing is saved half-way"
    service.save_account(replace(SETTINGS, password_command="pass show support"), "")
    saved = load_config(paths.config_file)
    assert saved.account("support").password_command == "pass show support" and saved.agent.name == "Ana"


def test_test_connection_reports_a_dead_server_per_server(tmp_path: Path, memory_keyring: Any) -> None:
    from dataclasses import replace

    from mailhost import free_ports

    port, smtp_port = free_ports(2)
    service = DeskService(Paths(tmp_path, tmp_path / "c.toml"), Config(), background_sync=False)
    results = service.test_connection(replace(SETTINGS, imap_host="127.0.0.1", imap_port=port,
                                              smtp_host="127.0.0.1", smtp_port=smtp_port, timeout=2), "pw")  # fmt: skip
    assert [(r.what, r.ok) for r in results] == [(f"IMAP 127.0.0.1:{port}", False), (f"SMTP 127.0.0.1:{smtp_port}", False)]
    assert all(r.message.startswith("the server could not be reached") for r in results)


def test_help_and_other_commands_never_load_the_ui_toolkit() -> None:
    """`tui-desk --help` stays instant: Textual is imported only when the app starts."""
    import subprocess
    import sys

    code = "import sys; from tui_desk.cli import build_parser; build_parser(); print('textual' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "False"
