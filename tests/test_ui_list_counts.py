"""The ticket list's COUNT runs in a worker: the rows show at once, the count fills in the
status bar when it arrives, and nothing on screen moves when it does.

The fixed desk has 12 tickets; reading windows of 4 rows (FETCH) makes it behave like a big
list whose end the first read does not reach. `count` waits on a gate, as a slow COUNT over
100,000 tickets would."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from support.pilot import app_for, plain, settle
from support.ui_desk import ui_service

from tui_desk.screens import ticket_list
from tui_desk.screens.panels import StatusBar
from tui_desk.screens.ticket_list import TicketList
from tui_desk.tickets.service import DeskService

Desk = tuple[Path, dict[str, str]]
SHORT = (100, 12)
"""Eight rows in view: fewer than the desk's twelve tickets."""


class SlowCount:
    """`service.count` held until `gate` opens; records which thread asked."""

    def __init__(self, service: DeskService) -> None:
        self.gate = threading.Event()
        self.on_ui_thread: list[bool] = []
        self._real = service.count
        service.count = self  # type: ignore[method-assign]

    def __call__(self, text: str = "") -> int:
        self.on_ui_thread.append(threading.current_thread() is threading.main_thread())
        self.gate.wait(10)
        return self._real(text)


@pytest.fixture
def small_windows(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ticket_list, "FETCH", 4)


async def test_rows_show_before_the_count_and_the_count_moves_nothing(ui_desk: Desk, small_windows: None) -> None:
    service = ui_service(ui_desk[0])
    slow = SlowCount(service)
    app = app_for(ui_desk[0], service)
    async with app.run_test(size=SHORT) as pilot:
        await pilot.pause()
        tickets = app.screen.query_one(TicketList)
        status = app.screen.query_one(StatusBar)
        assert tickets.row(0) is not None and tickets.counting and tickets.total < 12
        assert f"All tickets: {tickets.total}+ tickets, counting…" in plain(status)
        await pilot.press(*["j"] * 9)  # past the rows read so far: the list reads on
        assert tickets.cursor == 9 and tickets.scroll_y > 0 and not tickets.counted
        cursor, top, ref = tickets.cursor, tickets.scroll_y, tickets.current.ref  # type: ignore[union-attr]
        slow.gate.set()
        await settle(app, pilot)
        assert tickets.counted and tickets.total == 12
        assert (tickets.cursor, tickets.scroll_y, tickets.current.ref) == (cursor, top, ref)  # type: ignore[union-attr]
        assert "All tickets: 12 tickets" in plain(status)
        assert slow.on_ui_thread and not any(slow.on_ui_thread), "COUNT ran on the UI thread"


async def test_typing_a_filter_never_counts_on_the_ui_thread(ui_desk: Desk, small_windows: None) -> None:
    service = ui_service(ui_desk[0])
    slow = SlowCount(service)
    slow.gate.set()
    app = app_for(ui_desk[0], service)
    async with app.run_test(size=SHORT) as pilot:
        tickets = app.screen.query_one(TicketList)
        await pilot.press("slash", *"-status:solved")
        assert tickets.query_text == "-status:solved" and tickets.row(0) is not None
        await settle(app, pilot)
        assert tickets.counted and tickets.total == 11
        assert "filter: 11 tickets" in plain(app.screen.query_one(StatusBar))
        assert not any(slow.on_ui_thread)
        # a filter whose rows fit in one read knows its length without any COUNT
        await pilot.press(*["backspace"] * len("-status:solved"), *"status:open")
        assert tickets.counted and tickets.total == 2


async def test_last_row_while_counting_goes_to_the_end_when_the_count_arrives(ui_desk: Desk,
                                                                             small_windows: None) -> None:  # fmt: skip
    service = ui_service(ui_desk[0])
    slow = SlowCount(service)
    app = app_for(ui_desk[0], service)
    async with app.run_test(size=SHORT) as pilot:
        await pilot.pause()
        tickets = app.screen.query_one(TicketList)
        await pilot.press("G")
        assert not tickets.counted
        slow.gate.set()
        await settle(app, pilot)
        assert tickets.cursor == 11 and tickets.current is not None
        assert tickets.current.ref == service.window("", 11, 1)[0].ref


async def test_a_reload_of_the_same_filter_keeps_the_count_it_had(ui_desk: Desk, small_windows: None) -> None:
    """New mail (sync news) reloads the list: the old count stays on screen until the new one
    arrives, so the status bar does not flash "counting…" on every sync."""
    from tui_desk.tickets.service_types import SyncNews

    service = ui_service(ui_desk[0])
    slow = SlowCount(service)
    slow.gate.set()
    app = app_for(ui_desk[0], service)
    async with app.run_test(size=SHORT) as pilot:
        await settle(app, pilot)
        tickets = app.screen.query_one(TicketList)
        status = app.screen.query_one(StatusBar)
        assert tickets.counted and tickets.total == 12
        slow.gate.clear()
        app.screen.sync_news(SyncNews("work", "online", new=1))  # type: ignore[attr-defined]
        await pilot.pause()
        assert not tickets.counted and not tickets.counting and tickets.total == 12
        assert "All tickets: 12 tickets" in plain(status)
        slow.gate.set()
        await settle(app, pilot)
        assert tickets.counted and tickets.total == 12
