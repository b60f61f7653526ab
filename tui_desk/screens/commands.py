"""Command palette (ctrl+p): one provider per area, so every action is also there by name.

* `AppCommands`: every key of the current screen by its description (so nothing that has a
  key is missing from the palette), plus help, sync, theme, setup and quit.
* `TicketCommands`: the changes with their values spelled out ("Set status: solved"), for
  the selection, the cursor row or the open ticket.
* `ViewCommands`: the saved views with their counts, and the list's sort orders.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from functools import partial
from typing import Any

from textual.binding import ActiveBinding
from textual.command import DiscoveryHit, Hit, Hits, Provider
from textual.content import Content
from textual.dom import DOMNode
from textual.screen import Screen

from tui_desk.screens.safe import safe_line
from tui_desk.tickets.model import PRIORITIES, STATUSES
from tui_desk.tickets.service import ChangeSet

Command = tuple[str, Callable[[], Any], str]


def screen_keys(screen: Screen[Any]) -> list[tuple[str, str, DOMNode, str]]:
    """(keys, description, node, action) for each binding active on `screen`, one line per
    action (a binding with several keys shows them together: "j/down")."""
    seen: dict[tuple[int, str], list[Any]] = {}
    active: dict[str, ActiveBinding] = screen.active_bindings
    for key, item in active.items():
        if item.binding.action in ("command_palette", "help_quit"):
            continue
        slot = (id(item.node), item.binding.action)
        display = screen.app.get_key_display(item.binding.__class__(key, item.binding.action))
        if slot in seen:
            seen[slot][0].append(display)
        else:
            seen[slot] = [[display], item.binding.description or item.binding.action, item.node, item.binding.action]
    return [("/".join(keys), what, node, action) for keys, what, node, action in seen.values()]


class _Commands(Provider):
    def commands(self) -> list[Command]:
        raise NotImplementedError

    async def discover(self) -> Hits:
        for name, callback, help_text in self.commands():
            yield DiscoveryHit(Content(name), callback, text=name, help=help_text)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for name, callback, help_text in self.commands():
            score = matcher.match(name)
            if score > 0:
                # `highlight` parses its argument as markup: only names without "[" go through it
                shown = matcher.highlight(name) if "[" not in name else Content(name)
                yield Hit(score, shown, callback, text=name, help=help_text)


class AppCommands(_Commands):
    def commands(self) -> list[Command]:
        app: Any = self.app
        out: list[Command] = []
        for keys, what, node, action in screen_keys(self.screen):
            out.append((what, partial(app.run_action, action, node), f"key: {keys}"))
        out += [
            ("Keys of this screen", app.action_help, "what each key does here (?)"),
            ("Toggle light / dark theme", app.action_toggle_theme, "switch between the light and dark theme"),
            ("Set up a mail account", app.action_setup, "connect (another) support mailbox"),
        ]
        if getattr(app, "sync_now", None):
            out.append(("Sync now", app.sync_now, "fetch new mail and send queued replies now"))
        return out


class TicketCommands(_Commands):
    def commands(self) -> list[Command]:
        screen: Any = self.screen
        if not hasattr(screen, "action_targets") or not hasattr(screen, "apply"):
            return []
        refs = screen.action_targets()
        if not refs:
            return []
        which = refs[0] if len(refs) == 1 else f"{len(refs)} selected tickets"
        out: list[Command] = []
        for status in STATUSES:
            out.append((f"Set status: {status}", partial(screen.apply, refs, ChangeSet(status=status), f"status {status}"),
                        which))  # fmt: skip
        for prio in PRIORITIES:
            out.append((f"Set priority: {prio}", partial(screen.apply, refs, ChangeSet(priority=prio), f"priority {prio}"),
                        which))  # fmt: skip
        me = screen.service.agent
        out.append(("Assign to me", partial(screen.apply, refs, ChangeSet(assignee=me), "assigned to me"), which))
        out.append(("Unassign", partial(screen.apply, refs, ChangeSet(assignee=""), "unassigned"), which))
        return out


class ViewCommands(_Commands):
    def commands(self) -> list[Command]:
        screen: Any = self.screen
        if not hasattr(screen, "set_filter"):
            return []
        from tui_desk.screens.main import SORT_NAMES, with_sort
        from tui_desk.screens.panels import ViewsSidebar

        out: list[Command] = []
        for view in screen.query_one(ViewsSidebar).views:
            count = "" if view.count is None else f" ({view.count:,})"
            out.append((f"View: {safe_line(view.name).plain}{count}", partial(screen.set_filter, view.query, view.name),
                        view.query or "every ticket"))  # fmt: skip
        text = screen.tickets.query_text
        for sort, words in SORT_NAMES.items():
            out.append((f"Sort: {words}", partial(screen.set_filter, with_sort(text, sort), screen.view_name),
                        sort or "sort:updated"))  # fmt: skip
        return out


def providers() -> Iterator[type[Provider]]:
    yield from (AppCommands, TicketCommands, ViewCommands)
