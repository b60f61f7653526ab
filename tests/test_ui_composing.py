"""The "being answered by" mark: a colleague's composing mark, brought by the background sync,
shows on the list row and on the open ticket without a key pressed, and goes away the same
way. The sync thread is played by a second database connection applying the colleague's
`composing` team events (as team sync does, `events.apply_remote`) and by posting the sync's
news message."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from pathlib import Path

from support.pilot import SIZE, app_for, plain, settle

from tui_desk.screens.composer import ComposerScreen
from tui_desk.screens.main import MainScreen
from tui_desk.screens.messages import SyncNewsArrived
from tui_desk.screens.ticket import TicketScreen
from tui_desk.screens.ticket_list import TicketList
from tui_desk.storage import composing as composing_rows
from tui_desk.storage.db import Database
from tui_desk.tickets import events
from tui_desk.tickets.model import Event, Hlc
from tui_desk.tickets.service_types import SyncNews

Desk = tuple[Path, dict[str, str]]
BOB = "bob@desk.example"


def _from_sync(data: Path, ref: str, *, writing: bool) -> None:
    db = Database.in_dir(data)
    try:
        with db.write() as conn:
            hlc = str(Hlc.tick(composing_rows.latest_hlc(conn), BOB))
            since = datetime.now(UTC).isoformat() if writing else ""
            mark = Event(ref, "composing", "mark" if writing else "clear", since, hlc, BOB, uuid.uuid4().hex)
            assert events.apply_remote(conn, [mark]) == [mark]
    finally:
        db.close()


def _line(tickets: TicketList, ref: str) -> str:
    index = next(i for i in range(tickets.total) if (r := tickets.row(i)) and r.ref == ref)
    return tickets.render_line(index - round(tickets.scroll_y) + 1).text


async def test_a_colleagues_mark_comes_and_goes_with_the_sync(ui_desk: Desk) -> None:
    data, refs = ui_desk
    ava = refs["ava@outlook.com"]
    app = app_for(data)
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        tickets = app.screen.query_one(TicketList)
        assert "✎" not in _line(tickets, ava)
        _from_sync(data, ava, writing=True)
        app.post_message(SyncNewsArrived(SyncNews("work", "online", team=1)))
        await settle(app, pilot)
        assert "✎ bob Invoice 8812 is wrong" in _line(tickets, ava)
        # the ticket screen shows who, and since when
        tickets.select_ref(ava)
        await pilot.press("enter")
        screen = app.screen
        assert isinstance(screen, TicketScreen)
        marks = screen.query_one("#ticket-marks")
        assert marks.display and plain(marks).startswith(f"✎ being answered by {BOB} since ")
        # Bob sent his reply: the next sync pass (nothing else new) clears the mark on both screens
        _from_sync(data, ava, writing=False)
        app.post_message(SyncNewsArrived(SyncNews("work", "online")))
        await settle(app, pilot)
        assert not marks.display
        assert "✎" not in _line(tickets, ava)
        # and it comes back on a plain pass too, while the ticket is open
        _from_sync(data, ava, writing=True)
        app.post_message(SyncNewsArrived(SyncNews("work", "online")))
        await settle(app, pilot)
        assert marks.display
        await pilot.press("escape")
        assert isinstance(app.screen, MainScreen) and "✎ bob" in _line(tickets, ava)


async def test_my_own_reply_is_not_marked_for_me(ui_desk: Desk) -> None:
    """While my composer is open the colleagues see my mark and I do not; closing the composer
    (the draft is kept) clears it, and taking the draft up again marks the ticket again."""
    from tui_desk.tickets.composing import marks_on

    data, refs = ui_desk
    emma = refs["emma@acme.com"]
    app = app_for(data)

    def colleagues_see() -> list[str]:
        with app.service.db.read() as conn:
            return [a for a, _t in marks_on(conn, [emma], BOB).get(emma, [])]

    async with app.run_test(size=SIZE) as pilot:
        tickets = app.screen.query_one(TicketList)
        tickets.select_ref(emma)
        await pilot.press("r")
        assert isinstance(app.screen, ComposerScreen)
        await pilot.press(*"Hello")
        assert app.service.composing(emma) == ()
        assert colleagues_see() == [app.service.agent]
        await pilot.press("escape")
        await settle(app, pilot)
        assert "✎" not in _line(tickets, emma)
        assert colleagues_see() == [], "a closed composer is nobody writing"
        await pilot.press("r")
        assert isinstance(app.screen, ComposerScreen) and app.screen.draft.body.startswith("Hello")
        assert colleagues_see() == [app.service.agent], "the draft taken up again"
        await pilot.press("escape")
        await settle(app, pilot)
        assert colleagues_see() == []
