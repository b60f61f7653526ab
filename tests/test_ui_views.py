"""Saved views from the sidebar: save (`w`), rename (`e`) and delete (`d`, confirmed) the views
the team saved; the built-in views stay as they are (see screens/view_actions.py for why)."""

from __future__ import annotations

from pathlib import Path

import pytest
from support.pilot import SIZE, app_for, plain, settle
from support.ui_desk import ui_service

from tui_desk.screens.commands import ViewCommands
from tui_desk.screens.dialogs import ConfirmDialog, TextDialog
from tui_desk.screens.main import MainScreen
from tui_desk.screens.panels import StatusBar, ViewsSidebar

Desk = tuple[Path, dict[str, str]]


def _names(app: object) -> list[str]:
    return [v.name for v in app.screen.query_one(ViewsSidebar).views]  # type: ignore[attr-defined]


async def test_save_rename_and_delete_a_view_from_the_sidebar(ui_desk: Desk) -> None:
    app = app_for(ui_desk[0])
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        screen = app.screen
        assert isinstance(screen, MainScreen)
        await pilot.press("slash", *"tag:billing", "enter", "w")
        assert isinstance(app.screen, TextDialog)
        await pilot.press(*"Billing", "enter")
        await settle(app, pilot)
        assert _names(app)[-1] == "Billing" and screen.view_name == "Billing"
        assert "Billing: 1 ticket" in plain(screen.query_one(StatusBar))
        # to the sidebar (tab from the list wraps round to it), down to the new view
        await pilot.press("tab")
        sidebar = screen.query_one(ViewsSidebar)
        assert sidebar.has_focus
        await pilot.press("end")
        assert sidebar.views[sidebar.highlighted or 0].name == "Billing"
        await pilot.press("e")
        dialog = app.screen
        assert isinstance(dialog, TextDialog) and dialog.value == "Billing"
        await pilot.press(*["backspace"] * len("Billing"), *"Invoices", "enter")
        await settle(app, pilot)
        assert _names(app)[-1] == "Invoices" and "Billing" not in _names(app)
        assert screen.view_name == "Invoices" and "Invoices: 1 ticket" in plain(screen.query_one(StatusBar))
        assert sidebar.views[-1].count == 1, "the count comes back with the new name"
        # delete it: asked first, "n" keeps it
        await pilot.press("d")
        assert isinstance(app.screen, ConfirmDialog) and "tag:billing" in " ".join(app.screen.lines)
        await pilot.press("n")
        await settle(app, pilot)
        assert "Invoices" in _names(app)
        await pilot.press("d", "y")
        await settle(app, pilot)
        assert "Invoices" not in _names(app) and screen.view_name == "filter"
        assert "filter: 1 ticket" in plain(screen.query_one(StatusBar))
        assert [v.name for v in app.service.views(counts=False)][-1] == "Solved"


async def test_built_in_views_are_neither_deleted_nor_renamed(ui_desk: Desk) -> None:
    app = app_for(ui_desk[0])
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        before = _names(app)
        await pilot.press("tab", "home", "down")  # "New", the first built-in view after "All tickets"
        for key in ("d", "e"):
            await pilot.press(key)
            await settle(app, pilot)
            assert isinstance(app.screen, MainScreen), "nothing to confirm"
        assert _names(app) == before
        notes = [n.message for n in app._notifications]
        assert any("New is a built-in view" in n for n in notes)
        # and saving a filter under a built-in name does not change the built-in view
        await pilot.press("slash", *"tag:billing", "enter", "w", *"new", "enter")
        await settle(app, pilot)
        assert any("built-in view; choose another name" in n.message for n in app._notifications)
        assert {v.name: v.query for v in app.service.views(counts=False)}["New"] == "status:new"


async def test_the_palette_renames_and_deletes_saved_views_only(ui_desk: Desk) -> None:
    data = ui_desk[0]
    ui_service(data).save_view("Refunds", "refund")
    app = app_for(data)
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        names = [c[0] for c in ViewCommands(app.screen, None).commands()]  # type: ignore[arg-type]
        assert "Delete view: Refunds" in names and "Rename view: Refunds" in names
        assert not any(n.startswith(("Delete view: New", "Rename view: My open")) for n in names)


def test_rename_keeps_the_place_and_refuses_a_name_in_use(ui_desk: Desk) -> None:
    service = ui_service(ui_desk[0])
    service.save_view("Billing", "tag:billing")
    service.save_view("Refunds", "refund")
    assert service.rename_view("billing", "Invoices") == "Invoices"
    assert [v.name for v in service.views(counts=False)][-2:] == ["Invoices", "Refunds"]
    with pytest.raises(ValueError, match="there is a view named Refunds already"):
        service.rename_view("Invoices", "refunds")
    with pytest.raises(ValueError, match="built-in"):
        service.rename_view("Pending", "Waiting")
    with pytest.raises(ValueError, match="built-in"):
        service.delete_view("pending")
    with pytest.raises(LookupError):
        service.rename_view("Nope", "Other")
    assert not service.delete_view("Nope")
    service.save_view("REFUNDS", "refund sort:priority")  # the same view, whatever the case
    assert {v.name: v.query for v in service.views(counts=False)}["Refunds"] == "refund sort:priority"
