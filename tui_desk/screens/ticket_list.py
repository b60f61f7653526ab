"""The ticket list: a window over SQL drawn with Textual's Line API.

Why not a DataTable: loading 100,000 rows into one takes ~14 s and ~190 MB (see
shared/notes/textual-big-lists.md). This widget asks the service for the rows in view plus a
margin, on demand from `render_line`; scrolling line by line reads forwards from the last
row's keyset cursor, a jump (G, a scrollbar drag) costs one index walk. A reload keeps the
selected ticket selected, at the same screen line, however many rows new mail put above it.

The row count (scrollbar, status bar) is a COUNT that some filters make slow over 100,000
tickets, so it never runs on the UI thread: a reload draws the rows at once and a worker
posts the count (`ListCounted`). Until it arrives the list knows what its reads told it: a
short read means the end is known exactly; otherwise the rows read so far are a lower bound
(or, for a reload of the same filter, the previous count is kept, so nothing moves).
"""

from __future__ import annotations

import time
from typing import ClassVar

from rich.segment import Segment
from rich.style import Style
from textual import events, work
from textual.binding import Binding, BindingType
from textual.geometry import Size
from textual.message import Message
from textual.scroll_view import ScrollView
from textual.strip import Strip
from textual.worker import get_current_worker

from tui_desk.screens import rows as fmt
from tui_desk.screens.messages import ListCounted
from tui_desk.tickets.service import DeskService
from tui_desk.tickets.service_types import TicketRow

FETCH = 120
"""Rows read per window: two screens of a tall terminal, so a page down rarely reads."""
KEEP = 1500
"""Rows kept in memory around the view; the rest are dropped (memory stays flat at 100k)."""
COUNT_DELAY = 0.2
"""Seconds the count worker waits before counting: while the agent types a filter only the
query they stop at is counted (each keystroke's worker cancels the one before)."""
STYLE_NAMES = ("header", "cursor", "unread", "dim", "ref", "mark", "empty", "status-new", "status-open",
               "status-pending", "status-on-hold", "status-solved", "status-closed", "priority-high",
               "priority-urgent", "priority-low", "composing")  # fmt: skip


class TicketList(ScrollView, can_focus=True):
    """Every ticket matching `query`, one line each, fast at any size."""

    COMPONENT_CLASSES: ClassVar[set[str]] = {f"ticket-list--{name}" for name in STYLE_NAMES}
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("j,down", "cursor_down", "Down", show=False, id="list.down"),
        Binding("k,up", "cursor_up", "Up", show=False, id="list.up"),
        Binding("g,home", "first", "First", show=False, id="list.first"),
        Binding("G,end", "last", "Last", show=False, id="list.last"),
        Binding("pagedown,ctrl+f", "page_down", "Page down", show=False, id="list.page_down"),
        Binding("pageup,ctrl+b", "page_up", "Page up", show=False, id="list.page_up"),
        Binding("enter", "open", "Open", id="list.open"),
        Binding("space", "toggle_select", "Select", show=False, id="list.select"),
    ]

    class Opened(Message):
        def __init__(self, ref: str) -> None:
            super().__init__()
            self.ref = ref

    class Moved(Message):
        """The cursor or the selection changed (the status bar shows counts)."""

    def __init__(self, service: DeskService, query: str = "", *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.service = service
        self.query_text = query
        self.total = 0
        """Rows in the list: exact once `counted`, before that what the reads showed so far."""
        self.counted = True
        self.cursor = 0
        self.selected: set[str] = set()
        self._rows: dict[int, TicketRow] = {}
        self._strips: dict[tuple[object, ...], Strip] = {}
        self._styles: dict[str, Style] | None = None
        self._me = ""
        self._generation = 0
        self._kept_total = False
        self._last_when_counted = False
        self._end_at_most = 1 << 62
        """Before the count: a read found nothing from here on (no row is looked for there)."""

    # -- data ---------------------------------------------------------------------------------
    def on_mount(self) -> None:
        self._me = self.service.agent
        self.reload(keep=False)

    def set_query(self, text: str) -> None:
        """Show another filter (already validated by the caller): cursor back to the top."""
        self.query_text = text
        self.reload(keep=False)

    @property
    def counting(self) -> bool:
        """The count is on its way and `total` is only a lower bound (a new filter, many rows)."""
        return not self.counted and not self._kept_total

    def reload(self, *, keep: bool = True) -> None:
        """Re-read the rows in view, now, and have the count worked out in a worker. With `keep`,
        the ticket under the cursor stays under the cursor and on the same screen line, even if
        new tickets were added above it."""
        current = self.current if keep else None
        screen_line = self.cursor - round(self.scroll_y)
        self._generation += 1
        self._last_when_counted = False
        self._end_at_most = 1 << 62
        previous, self._kept_total = self.total, keep and not self.counting
        self._rows.clear()
        self._strips.clear()
        position = self.service.position(self.query_text, current.ref) if current else None
        if position is not None:
            self.cursor = position
        elif not keep:
            self.cursor = screen_line = 0
        top = max(0, self.cursor - screen_line)
        self.total, self.counted = (previous if keep else 0), False
        self._fetch_around(top)
        if not self.counted and top and not self._rows:  # the list shrank below the view: rare
            self._set_count(self.service.count(self.query_text))
        if not self.counted:
            self._count(self.query_text, self._generation)
        self.cursor = max(0, min(self.cursor, self.total - 1))
        self._update_virtual_size()
        self.scroll_to(y=max(0, self.cursor - screen_line), animate=False, force=True, immediate=True)
        self._clamp_scroll()
        self.refresh()
        self.post_message(self.Moved())

    @work(thread=True, exclusive=True, group="list-count", exit_on_error=False)
    def _count(self, text: str, generation: int) -> None:
        time.sleep(COUNT_DELAY)
        if get_current_worker().is_cancelled:  # a newer reload wants its own count
            return
        try:
            total = self.service.count(text)
        except Exception:  # the rows are what matters; the count comes with the next reload
            return
        if not get_current_worker().is_cancelled:
            self.post_message(ListCounted(generation, total))

    def on_list_counted(self, message: ListCounted) -> None:
        message.stop()
        if message.generation != self._generation:
            return
        changed = message.total != self.total
        self._set_count(message.total)
        if changed:
            self._update_virtual_size()
            self._clamp_scroll()
            self.refresh()
        if self._last_when_counted:
            self._last_when_counted = False
            self.move_to(self.total - 1)
        self.post_message(self.Moved())

    def _set_count(self, total: int) -> None:
        self.total, self.counted, self._kept_total = total, True, False
        if self.cursor >= total:
            self.cursor = max(0, total - 1)

    def refresh_rows(self) -> None:
        """Read the rows in view again, where they are (no count, nothing moves): what a colleague
        changed or started answering shows up."""
        self._rows.clear()
        self._strips.clear()
        self.refresh()

    def _update_virtual_size(self) -> None:
        self.virtual_size = Size(self.size.width, self.total + 1)

    def row(self, index: int) -> TicketRow | None:
        if index < 0 or index >= (self.total if self.counted else self._end_at_most):
            return None
        if index not in self._rows:
            self._fetch_around(index)
        return self._rows.get(index)

    def _fetch_around(self, index: int) -> None:
        start = max(0, index - FETCH // 4)
        while start in self._rows and start < index:
            start += 1
        prev = self._rows.get(start - 1)
        found = self.service.window(self.query_text, start, FETCH, after_key=prev.sort_key if prev else None)
        for i, r in enumerate(found):
            self._rows[start + i] = r
        if not self.counted:  # what the read tells about the length of the list
            end = start + len(found)
            if len(found) < FETCH and (found or start == 0 or prev is not None):
                self._set_count(end)  # read up to the end from a known row: exact
                self._update_virtual_size()
            elif not found:
                self._end_at_most = min(self._end_at_most, start)
            elif end > self.total:
                self.total = end
                self._update_virtual_size()
        if len(self._rows) > KEEP:
            top = round(self.scroll_y)
            for i in sorted(self._rows, key=lambda k: -abs(k - top))[: len(self._rows) - KEEP // 2]:
                del self._rows[i]

    @property
    def current(self) -> TicketRow | None:
        return self.row(self.cursor) if self.total else None

    def targets(self) -> list[str]:
        """What a change applies to: the selected tickets, or else the one under the cursor."""
        if self.selected:
            return sorted(self.selected)
        return [self.current.ref] if self.current else []

    def refs_in_view(self) -> list[str]:
        top = round(self.scroll_y)
        return [r.ref for i in range(top, top + self.visible_rows) if (r := self.row(i))]

    # -- moving -------------------------------------------------------------------------------
    @property
    def visible_rows(self) -> int:
        return max(1, self.scrollable_content_region.height - 1)

    def move_to(self, index: int) -> None:
        if not self.counted and index >= self.total:
            self.row(index)  # reading there tells whether the list goes on
        if not self.total:
            return
        self.cursor = max(0, min(self.total - 1, index))
        top = round(self.scroll_y)
        if self.cursor < top:
            self.scroll_to(y=self.cursor, animate=False, immediate=True)
        elif self.cursor >= top + self.visible_rows:
            self.scroll_to(y=self.cursor - self.visible_rows + 1, animate=False, immediate=True)
        self.refresh()
        self.post_message(self.Moved())

    def _clamp_scroll(self) -> None:
        most = max(0, self.total + 1 - self.scrollable_content_region.height)
        if self.scroll_y > most:
            self.scroll_to(y=most, animate=False, immediate=True)

    def step(self, delta: int) -> str | None:
        """Move by `delta` rows and return the ticket there (the ticket screen's [ and ])."""
        before = self.cursor
        self.move_to(self.cursor + delta)
        row = self.current
        return row.ref if row and self.cursor != before else None

    def select_ref(self, ref: str) -> None:
        position = self.service.position(self.query_text, ref)
        if position is not None:
            self.move_to(position)

    def action_cursor_down(self) -> None:
        self.move_to(self.cursor + 1)

    def action_cursor_up(self) -> None:
        self.move_to(self.cursor - 1)

    def action_first(self) -> None:
        self.move_to(0)

    def action_last(self) -> None:
        if not self.counted:  # where the end is, the count says: go there when it arrives
            self._last_when_counted = True
        self.move_to(self.total - 1)

    def action_page_down(self) -> None:
        self.move_to(self.cursor + self.visible_rows)

    def action_page_up(self) -> None:
        self.move_to(self.cursor - self.visible_rows)

    def action_open(self) -> None:
        if self.current:
            self.post_message(self.Opened(self.current.ref))

    def action_toggle_select(self) -> None:
        row = self.current
        if row is None:
            return
        self.selected.symmetric_difference_update({row.ref})
        self._strips.clear()
        self.move_to(self.cursor + 1)

    def unselect_all(self) -> bool:
        had = bool(self.selected)
        self.selected.clear()
        self._strips.clear()
        self.refresh()
        self.post_message(self.Moved())
        return had

    def on_click(self, event: events.Click) -> None:
        index = round(self.scroll_y) + event.y - 1
        if event.y >= 1 and index < self.total:
            self.move_to(index)
            if event.chain >= 2:
                self.action_open()

    # -- drawing ------------------------------------------------------------------------------
    def on_resize(self) -> None:
        self._strips.clear()
        self._update_virtual_size()

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._styles = None
        self._strips.clear()

    def _style_map(self) -> dict[str, Style]:
        """Component styles resolved against this widget's background (theme colours like
        $text-muted are translucent). Cell styles keep only colour and attributes, so the
        cursor row's background shows through them."""
        if self._styles is None:
            styles = {}
            for name in STYLE_NAMES:
                full = self.get_component_rich_style(f"ticket-list--{name}")
                styles[name] = full if name in ("cursor", "header") else full.without_color + Style(color=full.color)
            self._styles = styles
        return self._styles

    def render_line(self, y: int) -> Strip:
        width = self.scrollable_content_region.width
        styles = self._style_map()
        columns = fmt.layout(width)
        base = self.rich_style
        if y == 0:
            return self._strip(fmt.header(columns, width), width, base + styles["header"])
        index = round(self.scroll_y) + y - 1
        if self.total == 0 and y == 1:
            message = "No tickets match this filter." if self.query_text.strip() else "No tickets yet."
            return self._strip([Segment(" " + message)], width, base + styles["empty"])
        row = self.row(index)
        if row is None:
            return Strip.blank(width, base)
        is_cursor = index == self.cursor
        chosen = row.ref in self.selected
        key = (row.pk, row.sort_key, row.status, row.priority, row.assignee, row.unread, row.composing, width,
               is_cursor, chosen, self.has_focus)  # fmt: skip
        strip = self._strips.get(key)
        if strip is None:
            now = self.service.local(self.service.now())
            updated = fmt.short_time(self.service.local(row.updated), now)
            segments = fmt.row_segments(row, columns, width, selected=chosen, updated=updated, styles=styles,
                                        me=self._me)  # fmt: skip
            cursor = None
            if is_cursor:  # over the cell colours, so the row reads the same in every theme
                cursor = styles["cursor"] if self.has_focus else Style(reverse=True)
            strip = self._strip(segments, width, base, cursor)
            if len(self._strips) > 400:
                self._strips.clear()
            self._strips[key] = strip
        return strip

    def _strip(self, segments: list[Segment], width: int, style: Style, over: Style | None = None) -> Strip:
        styled = list(Segment.apply_style(segments, style, over))
        return Strip(styled).adjust_cell_length(width, style + over if over else style)

    def on_focus(self) -> None:
        self._strips.clear()
        self.refresh()

    def on_blur(self) -> None:
        self._strips.clear()
        self.refresh()
