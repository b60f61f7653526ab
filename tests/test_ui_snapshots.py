"""Snapshots of the main, ticket, composer and setup screens at 80x24 and 160x48, on the fixed
desk of support/ui_desk.py (fixed data, fixed "now", no clock anywhere on screen).

The desk holds a ticket whose subject and body carry Rich markup (`[bold red]x[/]
[@click=app.quit]q[/]`) and terminal escapes (`\\x1b]0;pwned\\x07`): the snapshots show the
markup literally and the escapes gone, in the list, the ticket header and the conversation.
Update after a deliberate change with `pytest --snapshot-update` and look at the SVGs."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

import pytest
from support.ui_desk import ui_service

from tui_desk.app import TuiDeskApp, make_app
from tui_desk.config import Config
from tui_desk.screens.ticket_list import TicketList

SIZES = pytest.mark.parametrize("size", [(80, 24), (160, 48)], ids=["80x24", "160x48"])
Desk = tuple[Path, dict[str, str]]


def _app(data: Path, config: Config | None = None) -> TuiDeskApp:
    service = ui_service(data) if config is None else ui_service(data, config)
    return make_app(service.paths, service.config, service=service)


def _on(ref: str, *keys: str) -> Callable[[Any], Coroutine[Any, Any, None]]:
    """Put the list cursor on `ref`, press `keys`, and let every worker finish."""

    async def run_before(pilot: Any) -> None:
        await pilot.app.workers.wait_for_complete()
        await pilot.pause()
        pilot.app.screen.query_one(TicketList).select_ref(ref)
        await pilot.press(*keys)
        await pilot.app.workers.wait_for_complete()
        await pilot.pause()

    return run_before


@SIZES
def test_main_screen(snap_compare: Any, ui_desk: Desk, size: tuple[int, int]) -> None:
    data, refs = ui_desk
    assert snap_compare(_app(data), terminal_size=size, run_before=_on(refs["hostile"]))


@SIZES
def test_ticket_screen_with_markup_and_escapes(snap_compare: Any, ui_desk: Desk, size: tuple[int, int]) -> None:
    data, refs = ui_desk
    assert snap_compare(_app(data), terminal_size=size, run_before=_on(refs["hostile"], "enter"))


@SIZES
def test_ticket_screen_folded_conversation_and_note(snap_compare: Any, ui_desk: Desk, size: tuple[int, int]) -> None:
    data, refs = ui_desk
    assert snap_compare(_app(data), terminal_size=size, run_before=_on(refs["emma@acme.com"], "enter"))


@SIZES
def test_composer_screen(snap_compare: Any, ui_desk: Desk, size: tuple[int, int]) -> None:
    data, refs = ui_desk
    assert snap_compare(_app(data), terminal_size=size, run_before=_on(refs["emma@acme.com"], "enter", "r"))


@SIZES
def test_setup_screen(snap_compare: Any, ui_desk: Desk, size: tuple[int, int]) -> None:
    data, _refs = ui_desk
    assert snap_compare(_app(data, Config()), terminal_size=size)


def test_main_screen_light_theme(snap_compare: Any, ui_desk: Desk) -> None:
    data, refs = ui_desk
    app = _app(data)

    async def run_before(pilot: Any) -> None:
        await pilot.press("f2")  # dark -> light
        await _on(refs["hostile"], "space")(pilot)

    assert snap_compare(app, terminal_size=(80, 24), run_before=run_before)
    assert app.theme == "textual-light"


def test_main_screen_no_color(snap_compare: Any, ui_desk: Desk, monkeypatch: pytest.MonkeyPatch) -> None:
    """NO_COLOR: the cursor, unread and selected marks must still be visible without colour."""
    monkeypatch.setenv("NO_COLOR", "1")
    data, refs = ui_desk
    app = _app(data)
    assert app.no_color
    assert snap_compare(app, terminal_size=(80, 24), run_before=_on(refs["hostile"], "space"))
