"""Splitting a message off into a new ticket (ticket screen, `x`) and merging tickets (`m`, on
the list and on the ticket screen), driven with keys on the fixed desk."""

from __future__ import annotations

from pathlib import Path

from support.pilot import SIZE, app_for, plain, settle

from tui_desk.screens.commands import AppCommands
from tui_desk.screens.dialogs import ChoiceDialog, ConfirmDialog, TextDialog
from tui_desk.screens.main import MainScreen
from tui_desk.screens.ticket import TicketScreen
from tui_desk.screens.ticket_list import TicketList

Desk = tuple[Path, dict[str, str]]


async def _open(app: object, pilot: object, ref: str) -> TicketScreen:
    app.screen.query_one(TicketList).select_ref(ref)  # type: ignore[attr-defined]
    await pilot.press("enter")  # type: ignore[attr-defined]
    screen = app.screen  # type: ignore[attr-defined]
    assert isinstance(screen, TicketScreen) and screen.ref == ref
    return screen


async def test_split_the_last_customer_message_off_into_a_new_ticket(ui_desk: Desk) -> None:
    data, refs = ui_desk
    emma = refs["emma@acme.com"]
    app = app_for(data)
    async with app.run_test(size=SIZE) as pilot:
        screen = await _open(app, pilot, emma)
        assert screen.detail is not None and len(screen.detail.messages) == 3
        last_from_customer = [m.row_id for m in screen.detail.messages if not m.ours][-1]
        names = [c[0] for c in AppCommands(screen, None).commands()]  # type: ignore[arg-type]
        assert "Split off a message" in names, "every key is in the command palette"
        await pilot.press("x")
        dialog = app.screen
        assert isinstance(dialog, ChoiceDialog) and len(dialog.choices) == 3
        assert "(now)" not in " ".join(label for _v, label in dialog.choices)
        await pilot.press("enter")  # the last message from the customer is the one offered
        confirm = app.screen
        assert isinstance(confirm, ConfirmDialog) and f"It leaves {emma}" in " ".join(confirm.lines)
        assert "the invoice is still wrong" in confirm.lines[0]
        assert plain(confirm.query_one(".hint")) == "y: Split off · esc/n: Cancel", "a dialog says its keys"
        await pilot.press("y")
        await settle(app, pilot)
        assert app.screen is screen and screen.ref == emma
        assert len(screen.detail.messages) == 2
        new = [o.ref for o in screen.others if o.ref != refs["emma-2"]]
        assert len(new) == 1
        split = app.service.detail(new[0])
        assert split.split_from == emma and [m.row_id for m in split.messages] == [last_from_customer]
        assert last_from_customer not in [m.row_id for m in screen.detail.messages]
        assert "the invoice is still wrong" in split.messages[0].text
        # the new ticket says where it came from
        screen.ref = new[0]
        screen.load()
        await pilot.pause()
        assert f"split from {emma}" in plain(screen.query_one("#ticket-header"))


async def test_split_asks_first_and_a_one_message_ticket_cannot_be_split(ui_desk: Desk) -> None:
    data, refs = ui_desk
    emma = refs["emma@acme.com"]
    app = app_for(data)
    async with app.run_test(size=SIZE) as pilot:
        screen = await _open(app, pilot, emma)
        await pilot.press("x", "enter")
        assert isinstance(app.screen, ConfirmDialog)
        await pilot.press("n")
        await settle(app, pilot)
        assert app.screen is screen and len(app.service.detail(emma).messages) == 3
        await pilot.press("escape")
        await _open(app, pilot, refs["marko@stranka.si"])
        await pilot.press("x")
        await pilot.pause()
        assert isinstance(app.screen, TicketScreen)
        assert any("cannot be split" in n.message for n in app._notifications)


async def test_merge_selected_tickets_from_the_list(ui_desk: Desk) -> None:
    data, refs = ui_desk
    app = app_for(data)
    async with app.run_test(size=SIZE) as pilot:
        tickets = app.screen.query_one(TicketList)
        sources = [refs["luka@podjetje.si"], refs["james@northwind.co.uk"]]
        target = refs["marko@stranka.si"]
        for ref in sources:
            tickets.select_ref(ref)
            await pilot.press("space")
        await pilot.press("m")
        assert isinstance(app.screen, TextDialog)
        await pilot.press(*target.lower())  # typed in any case
        await pilot.press("enter")
        confirm = app.screen
        assert isinstance(confirm, ConfirmDialog) and confirm.title_text == f"Merge 2 tickets into {target}?"
        assert any("Delivery delayed" in line for line in confirm.lines)
        assert any(line.startswith(f"into {target}  Račun") for line in confirm.lines)
        await pilot.press("y")
        await settle(app, pilot)
        assert isinstance(app.screen, MainScreen) and tickets.total == 10 and not tickets.selected
        assert set(app.service.detail(target).merged) == set(sources)
        assert app.service.detail(sources[0]).ref == target, "a merged id leads to the ticket it went into"


async def test_merge_from_the_ticket_screen_shows_the_ticket_it_went_into(ui_desk: Desk) -> None:
    data, refs = ui_desk
    app = app_for(data)
    async with app.run_test(size=SIZE) as pilot:
        screen = await _open(app, pilot, refs["emma-2"])
        await pilot.press("m", *"T-NOPE", "enter")
        await pilot.pause()
        assert app.screen is screen, "a target that does not exist is said at once, nothing asked"
        assert any("Not merged" in n.message for n in app._notifications)
        await pilot.press("m", *refs["emma-2"], "enter")
        await pilot.pause()
        assert app.screen is screen and any("is this very ticket" in n.message for n in app._notifications)
        await pilot.press("m", *refs["emma@acme.com"], "enter")
        assert isinstance(app.screen, ConfirmDialog)
        await pilot.press("n")
        await settle(app, pilot)
        assert screen.ref == refs["emma-2"]
        await pilot.press("m", *refs["emma@acme.com"], "enter", "y")
        await settle(app, pilot)
        assert app.screen is screen and screen.ref == refs["emma@acme.com"]
        assert refs["emma-2"] in plain(screen.query_one("#ticket-header"))
        await pilot.press("escape")
        assert isinstance(app.screen, MainScreen) and app.screen.query_one(TicketList).total == 11
