"""The terminal UI driven as a person uses it (keys, Pilot), on the fixed desk of
support/ui_desk.py: filtering, bulk changes, reading a ticket, notes, keys and the palette."""

from __future__ import annotations

from pathlib import Path

from rich.text import Text
from support.ui_desk import HOSTILE_SUBJECT, ui_service
from textual.widgets import Input

from tui_desk.app import TuiDeskApp, make_app
from tui_desk.screens.dialogs import ChoiceDialog, HelpDialog, NoteDialog
from tui_desk.screens.main import PROBLEM_AFTER, MainScreen
from tui_desk.screens.panels import QueryProblem, StatusBar
from tui_desk.screens.ticket import TicketScreen
from tui_desk.screens.ticket_list import TicketList

SIZE = (120, 36)


def _app(data: Path) -> TuiDeskApp:
    service = ui_service(data)
    return make_app(service.paths, service.config, service=service)


async def _settle(app: TuiDeskApp, pilot: object) -> None:
    """Let workers finish and their messages be handled."""
    await app.workers.wait_for_complete()
    await pilot.pause()  # type: ignore[attr-defined]
    await pilot.pause()  # type: ignore[attr-defined]


def _plain(widget: object) -> str:
    content = widget.content  # type: ignore[attr-defined]
    return content.plain if isinstance(content, Text) else str(content)


async def test_filter_bad_then_good_query(ui_desk: tuple[Path, dict[str, str]]) -> None:
    app = _app(ui_desk[0])
    async with app.run_test(size=SIZE) as pilot:
        tickets = app.screen.query_one(TicketList)
        assert isinstance(app.screen, MainScreen) and tickets.total == 12
        await pilot.press("slash", *"status:nope")
        problem = app.screen.query_one(QueryProblem)
        assert not problem.display, "a last word still being typed is not an error yet"
        await pilot.pause(PROBLEM_AFTER + 0.3)
        assert problem.display
        lines = _plain(problem).split("\n")
        assert lines[0] == "status:nope" and lines[1] == "^" * len("status:nope")
        assert "unknown status 'nope'" in lines[2]
        # the list keeps the last good query (typing "status" searched the text for it)
        assert tickets.query_text == "status" and tickets.total == 0
        await pilot.press(*["backspace"] * 4, *"open")
        assert not problem.display
        assert tickets.total == 2 and {r.status for r in (tickets.row(0), tickets.row(1)) if r} == {"open"}
        await pilot.press("enter", "j")
        assert tickets.has_focus and tickets.cursor == 1
        # esc from the list clears the filter again
        await pilot.press("escape")
        assert tickets.total == 12 and app.screen.query_one("#filter", Input).value == ""


async def test_a_bad_word_before_the_cursor_or_on_enter_is_shown_at_once(ui_desk: tuple[Path, dict[str, str]]) -> None:
    app = _app(ui_desk[0])
    async with app.run_test(size=SIZE) as pilot:
        tickets = app.screen.query_one(TicketList)
        problem = app.screen.query_one(QueryProblem)
        await pilot.press("slash", *"status:nope", "space")
        assert problem.display, "the word is finished: say what is wrong now"
        assert "unknown status 'nope'" in _plain(problem)
        await pilot.press(*["backspace"] * 12, *"status:")
        assert not problem.display
        await pilot.press("enter")
        assert problem.display and "needs a value" in _plain(problem)
        assert tickets.query_text == "status" and tickets.has_focus


async def test_bulk_solve_three_tickets(ui_desk: tuple[Path, dict[str, str]]) -> None:
    data, _refs = ui_desk
    app = _app(data)
    async with app.run_test(size=SIZE) as pilot:
        tickets = app.screen.query_one(TicketList)
        await pilot.press("j", "j", "j", "j")  # past the solved, pending and open ones
        chosen = [tickets.row(i).ref for i in (4, 5, 6)]  # type: ignore[union-attr]
        await pilot.press("space", "space", "space")
        assert sorted(tickets.selected) == sorted(chosen) and tickets.cursor == 7
        assert "3 selected" in _plain(app.screen.query_one(StatusBar))
        await pilot.press("s")
        assert isinstance(app.screen, ChoiceDialog)
        await pilot.press("j", "j", "j", "j", "enter")  # new open pending on-hold -> solved
        await _settle(app, pilot)
        assert isinstance(app.screen, MainScreen)
        for ref in chosen:
            assert app.service.detail(ref).status == "solved"
        assert not tickets.selected
        assert tickets.current and tickets.current.ref not in chosen, "the cursor stays on its ticket"
        await pilot.press("slash", *"status:solved", "enter")
        assert tickets.total == 4


async def test_open_ticket_read_note_and_walk(ui_desk: tuple[Path, dict[str, str]], tmp_path: Path) -> None:
    data, refs = ui_desk
    app = _app(data)
    async with app.run_test(size=SIZE) as pilot:
        tickets = app.screen.query_one(TicketList)
        tickets.select_ref(refs["emma@acme.com"])
        await pilot.press("enter")
        screen = app.screen
        assert isinstance(screen, TicketScreen) and screen.ref == refs["emma@acme.com"]
        text = "\n".join(_plain(w) for w in screen.query(".message"))
        assert "┄ 4 quoted lines" in text and "┄ signature" in text and "scan-2211.pdf" in text
        assert "Checked with accounting" in _plain(screen.query_one(".note"))
        await pilot.press("z")
        text = "\n".join(_plain(w) for w in screen.query(".message"))
        assert "> We have corrected the invoice." in text and "Acme Ltd., Accounts" in text
        # an internal note, typed in the note dialog
        await pilot.press("n")
        assert isinstance(app.screen, NoteDialog)
        await pilot.press(*"Called her back.", "ctrl+s")
        await _settle(app, pilot)
        assert [n.body for n in app.service.detail(refs["emma@acme.com"]).notes][-1] == "Called her back."
        assert len(screen.query(".note")) == 2
        # the requester's other ticket is listed; ] walks the list
        assert refs["emma-2"] in [o.ref for o in screen.others]
        before = screen.ref
        await pilot.press("right_square_bracket")
        assert screen.ref != before and tickets.current and tickets.current.ref == screen.ref
        # save the attachment of Emma's ticket into a folder, never overwriting silently
        await pilot.press("left_square_bracket")
        path = app.service.save_attachment(screen.detail.messages[-1].attachments[0].message_row, "2", tmp_path)  # type: ignore[union-attr]
        assert path.read_bytes() == b"%PDF-1.4 scan"
        try:
            app.service.save_attachment(screen.detail.messages[-1].attachments[0].message_row, "2", tmp_path)  # type: ignore[union-attr]
        except FileExistsError:
            pass
        else:
            raise AssertionError("an existing file was overwritten")
        await pilot.press("u")
        await _settle(app, pilot)
        assert app.service.detail(refs["emma@acme.com"]).unread
        await pilot.press("q")
        assert isinstance(app.screen, MainScreen)


async def test_hostile_subject_is_text_and_clicking_it_does_nothing(ui_desk: tuple[Path, dict[str, str]]) -> None:
    data, refs = ui_desk
    app = _app(data)
    async with app.run_test(size=SIZE) as pilot:
        tickets = app.screen.query_one(TicketList)
        tickets.select_ref(refs["hostile"])
        await pilot.click(TicketList, offset=(60, tickets.cursor + 1))  # on the "q" link, if it were one
        await pilot.press("enter")
        assert app.is_running and isinstance(app.screen, TicketScreen)
        header = _plain(app.screen.query_one("#ticket-header"))
        assert "[bold red]x[/] [@click=app.quit]q[/]" in header and "\x1b" not in header and "\x07" not in header
        body = _plain(app.screen.query_one(".message"))
        assert "[@click=app.quit]q[/]" in body and "\x1b" not in body
        assert HOSTILE_SUBJECT.startswith("[bold red]")


async def test_help_and_palette_list_every_key(ui_desk: tuple[Path, dict[str, str]]) -> None:
    app = _app(ui_desk[0])
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpDialog)
        keys = " ".join(what for _key, what in app.screen.keys)
        for word in ("Reply", "Note", "Status", "Assign", "Filter", "Select", "Merge", "Unread"):
            assert word in keys
        assert "Scroll Left" not in keys and "Copy selected text" not in keys, "only our keys, not Textual's"
        await pilot.press("escape")
        from tui_desk.screens.commands import AppCommands, TicketCommands, ViewCommands

        names = [c[0] for p in (AppCommands, TicketCommands, ViewCommands)
                 for c in p(app.screen, None).commands()]  # type: ignore[arg-type]  # fmt: skip
        for name in ("Reply", "Reply all", "Set status: solved", "Assign to me", "View: My open (1)", "Sync now"):
            assert name in names, name


async def test_keymap_from_settings_remaps_a_binding(ui_desk: tuple[Path, dict[str, str]]) -> None:
    from dataclasses import replace

    service = ui_service(ui_desk[0])
    service.config = replace(service.config, keys={"list.down": "ctrl+n"})
    app = make_app(service.paths, service.config, service=service)
    async with app.run_test(size=SIZE) as pilot:
        tickets = app.screen.query_one(TicketList)
        await pilot.press("ctrl+n", "ctrl+n")
        assert tickets.cursor == 2


async def test_reload_keeps_the_selected_ticket_on_its_screen_line(ui_desk: tuple[Path, dict[str, str]]) -> None:
    """New tickets above the cursor (what a sync brings) shift the rows, not what the agent sees."""
    from datetime import timedelta

    from support.ui_desk import T0, raw_mail, store_new_mail

    from tui_desk.tickets.service_types import SyncNews

    data, _refs = ui_desk
    app = _app(data)
    async with app.run_test(size=(100, 12)) as pilot:
        tickets = app.screen.query_one(TicketList)
        await pilot.press(*["j"] * 9)
        chosen, line = tickets.current.ref, tickets.cursor - round(tickets.scroll_y)  # type: ignore[union-attr]
        assert tickets.scroll_y > 0 and line > 0
        for i in range(2):
            store_new_mail(data, raw_mail(f"New {i} <new{i}@x.example>", f"Arrived {i}", "Hello",
                                          T0 + timedelta(days=5, hours=i), f"new{i}@x.example"))  # fmt: skip
        app.screen.sync_news(SyncNews("work", "online", new=2))  # type: ignore[attr-defined]
        await pilot.pause()
        assert tickets.total == 14 and tickets.current and tickets.current.ref == chosen
        assert tickets.cursor == 11 and tickets.cursor - round(tickets.scroll_y) == line


async def test_a_silent_server_never_freezes_the_ui(ui_desk: tuple[Path, dict[str, str]]) -> None:
    """A server that accepts the connection and then says nothing: the sync worker waits for it,
    the keys keep working, and the failure ends up in the status bar in plain words."""
    import socket
    import time
    from dataclasses import replace

    from support.ui_desk import CONFIG

    from tui_desk.config import Server
    from tui_desk.credentials import set_password

    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(1)
    try:
        account = replace(CONFIG.accounts[0], imap=Server("127.0.0.1", silent.getsockname()[1], "none", timeout=5.0))
        set_password(account.name, "pw")
        service = ui_service(ui_desk[0], replace(CONFIG, accounts=(account,)))
        service.background_sync = True
        app = make_app(service.paths, service.config, service=service)
        async with app.run_test(size=SIZE) as pilot:
            tickets = app.screen.query_one(TicketList)
            started = time.monotonic()
            await pilot.press("j", "j", "enter", "q")
            assert tickets.cursor == 2 and time.monotonic() - started < 4.5, "keys answered while sync waits"
            status = app.screen.query_one(StatusBar)
            deadline = time.monotonic() + 15
            while "offline" not in _plain(status) and time.monotonic() < deadline:
                await pilot.pause(0.05)
            assert "work offline" in _plain(status)
            assert service.account_states()[0].reason.endswith("did not answer in time while connecting")
    finally:
        silent.close()


async def test_help_fits_every_key_at_80x24(ui_desk: tuple[Path, dict[str, str]]) -> None:
    """Two columns, and a scroll for what is left: no key is cut off (the ticket screen has most)."""
    data, refs = ui_desk
    app = _app(data)
    async with app.run_test(size=(80, 24)) as pilot:
        app.screen.query_one(TicketList).select_ref(refs["emma@acme.com"])
        await pilot.press("enter", "question_mark")
        help_dialog = app.screen
        assert isinstance(help_dialog, HelpDialog)
        shown = [what for _key, what in help_dialog.keys]
        assert shown[0] == "Back" and "Split off a message" in shown and "Scroll Up" not in shown
        scroll = help_dialog.query_one("#help-scroll")
        table = help_dialog.query_one("#help-keys")
        rows = (len(shown) + 1) // 2
        assert table.virtual_size.height == rows, "two columns"
        await pilot.press("end")
        assert scroll.scroll_y + scroll.scrollable_content_region.height >= rows, "the last row can be reached"
        assert _plain(help_dialog.query_one(".hint")) == "↑/↓ scroll · esc/?/q closes · ctrl+p finds every action by name"


async def test_startup_heap_is_frozen_while_running_and_released_on_exit(ui_desk: tuple[Path, dict[str, str]]) -> None:
    """Full GC passes over the start-up heap paused the UI ~100 ms (one filter keystroke in
    twenty at 100k tickets): it is frozen once the list shows, and handed back at exit so an
    app that is gone (another in this process) leaves nothing the GC cannot free."""
    import gc

    gc.unfreeze()
    app = _app(ui_desk[0])
    async with app.run_test(size=SIZE) as pilot:
        await _settle(app, pilot)
        assert gc.get_freeze_count() > 0
        await pilot.press("j", "j")
        assert app.screen.query_one(TicketList).cursor == 2
    assert gc.get_freeze_count() == 0
