"""Command palette (ctrl+p): one provider per area, so every action is also there by name.

* `AppCommands`: every key of the current screen by its description (so nothing that has a
  key is missing from the palette), plus help, sync, theme, setup and quit.
* `TicketCommands`: the changes with their values spelled out ("Set status: solved"), for
  the selection, the cursor row or the open ticket.
* `ViewCommands`: the saved views with their counts (and renaming or deleting the ones the
  team saved), and the list's sort orders.
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


TEXTUAL_KEYS = {"app.focus_next": "Focus the next pane", "app.focus_previous": "Focus the previous pane"}
"""The only bindings of Textual's own shown: ours all have an id (docs/ui.md); Textual's scroll,
copy and focus keys have none, and listing "Scroll Left" beside our keys only buries them."""


def screen_keys(screen: Screen[Any]) -> list[tuple[str, str, DOMNode, str]]:
    """(keys, description, node, action) for each of our bindings active on `screen`, one line
    per action (a binding with several keys shows them together: "j/down"): the screen's own
    first, then the focused widget's, then the app's."""
    seen: dict[tuple[int, str], list[Any]] = {}
    active: dict[str, ActiveBinding] = screen.active_bindings
    for key, item in active.items():
        if item.binding.id is None and item.binding.action not in TEXTUAL_KEYS:
            continue
        slot = (id(item.node), item.binding.action)
        display = screen.app.get_key_display(item.binding.__class__(key, item.binding.action))
        if slot in seen:
            seen[slot][0].append(display)
        else:
            what = TEXTUAL_KEYS.get(item.binding.action) or item.binding.description or item.binding.action
            seen[slot] = [[display], what, item.node, item.binding.action]
    order = {id(screen): 0, id(screen.app): 2}
    found = sorted(seen.values(), key=lambda s: 3 if s[3] in TEXTUAL_KEYS else order.get(id(s[2]), 1))
    return [("/".join(keys), what, node, action) for keys, what, node, action in found]


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
        views = screen.query_one(ViewsSidebar).views
        for view in views:
            count = "" if view.count is None else f" ({view.count:,})"
            out.append((f"View: {safe_line(view.name).plain}{count}", partial(screen.set_filter, view.query, view.name),
                        view.query or "every ticket"))  # fmt: skip
        for view in (v for v in views if not v.builtin):
            name = safe_line(view.name).plain
            out.append((f"Rename view: {name}", partial(screen.rename_view, view), "give the saved view another name"))
            out.append((f"Delete view: {name}", partial(screen.delete_view, view), "asks first; no ticket changes"))
        text = screen.tickets.query_text
        for sort, words in SORT_NAMES.items():
            out.append((f"Sort: {words}", partial(screen.set_filter, with_sort(text, sort), screen.view_name),
                        sort or "sort:updated"))  # fmt: skip
        return out


def providers() -> Iterator[type[Provider]]:
    yield from (AppCommands, TicketCommands, ViewCommands)
