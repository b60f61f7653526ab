"""How one ticket row looks at a given width: which columns fit, and the Text of each line.

Kept apart from the list widget so the layout can be tested without a running app and the
header and rows always use the very same columns. Every cell that comes from mail goes
through `safe_line`: a subject is a stranger's text.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from rich.cells import cell_len, set_cell_size
from rich.segment import Segment
from rich.style import Style

from tui_desk.screens.safe import safe_line
from tui_desk.tickets.service_types import TicketRow

STATUS_SHORT = {"new": "new", "open": "open", "pending": "pend", "on-hold": "hold", "solved": "solv",
                "closed": "clos"}  # fmt: skip
PRIORITY_MARK = {"low": "↓", "normal": " ", "high": "!", "urgent": "‼"}
UNREAD = "●"
SELECTED = "✓"
COMPOSING = "✎"


@dataclass(frozen=True, slots=True)
class Column:
    name: str
    title: str
    width: int
    """0 = takes what is left."""


def layout(width: int) -> list[Column]:
    """The columns for a list `width` cells wide: everything on a wide terminal, abbreviated
    status and priority marks at 80 columns, so the subject always keeps real room."""
    wide = [Column("mark", "", 2), Column("ref", "Ticket", 11), Column("status", "Status", 8),
            Column("priority", "Prio", 7), Column("subject", "Subject", 0), Column("requester", "Requester", 20),
            Column("assignee", "Assignee", 16), Column("updated", "Updated", 11)]  # fmt: skip
    if width >= 110:
        return wide
    if width >= 86:
        return [c for c in wide if c.name != "assignee"]
    return [Column("mark", "", 2), Column("ref", "Ticket", 11), Column("status", "Stat", 5),
            Column("priority", "", 2), Column("subject", "Subject", 0), Column("updated", "When", 7)]  # fmt: skip


def short_time(moment: datetime | None, now: datetime | None) -> str:
    """"14:05" today, "Oct 01" this year, "2025-10-01" before (both already in the user's zone)."""
    if moment is None:
        return ""
    if now is not None and moment.date() == now.date():
        return moment.strftime("%H:%M")
    if now is not None and moment.year == now.year:
        return moment.strftime("%b %d")
    return moment.strftime("%Y-%m-%d")


def composing_mark(agents: tuple[str, ...]) -> str:
    """"✎ ana " in front of the subject while a colleague writes a reply ("✎ ana+1 " for more)."""
    if not agents:
        return ""
    name = safe_line(agents[0].split("@")[0][:12]).plain
    return f"{COMPOSING} {name}{f'+{len(agents) - 1}' if len(agents) > 1 else ''} "


def fit(text: str, width: int) -> str:
    """`text` in exactly `width` cells: cut with an ellipsis, padded, one space kept as a gap."""
    if width <= 1:
        return set_cell_size(text, width)
    room = width - 1
    if cell_len(text) > room:
        text = set_cell_size(text, room - 1) + "…"
    return set_cell_size(text, room) + " "


def _width(col: Column, columns: list[Column], total: int) -> int:
    if col.width:
        return col.width
    return max(8, total - sum(c.width for c in columns))


def header(columns: list[Column], width: int, style: Style | None = None) -> list[Segment]:
    return [Segment(fit(c.title, _width(c, columns, width)), style) for c in columns]


def person(addr: str, room: int, me: str = "") -> str:
    """An assignee in `room` cells: "me" for the agent, else the address, or only the part
    before the @ when the whole does not fit (ten rows of "agent@example.…" tell nothing)."""
    if not addr:
        return "—"
    if me and addr.lower() == me.lower():
        return "me"
    return addr if cell_len(addr) < room or "@" not in addr else addr.split("@")[0]


def row_segments(row: TicketRow, columns: list[Column], width: int, *, selected: bool, updated: str,
                 styles: dict[str, Style], me: str = "") -> list[Segment]:  # fmt: skip
    """One list line as segments (built directly: a list redraws ~50 of these per keystroke).
    `styles` holds the component styles, so the theme decides the colours and NO_COLOR can drop
    them. Mail text is cleaned by `safe_line` and only ever used as plain text here."""
    base = styles.get("unread") if row.unread else None
    out: list[Segment] = []

    def cell(text: str, w: int, name: str = "", *, exact: bool = False) -> None:
        style = styles.get(name) if name else None
        if base is not None:
            style = base + style if style is not None else base
        out.append(Segment(set_cell_size(text, w) if exact else fit(text, w), style))

    for col in columns:
        w = _width(col, columns, width)
        if col.name == "mark":
            cell((SELECTED if selected else " ") + (UNREAD if row.unread else " "), w, "mark", exact=True)
        elif col.name == "ref":
            cell(row.ref, w, "ref")
        elif col.name == "status":
            cell(row.status if w >= 8 else STATUS_SHORT.get(row.status, row.status), w, f"status-{row.status}")
        elif col.name == "priority":
            cell(row.priority if w >= 7 else PRIORITY_MARK.get(row.priority, " "), w, f"priority-{row.priority}")
        elif col.name == "subject":
            mark = composing_mark(row.composing)
            if mark and w > cell_len(mark) + 8:
                cell(mark, cell_len(mark), "composing", exact=True)
                w -= cell_len(mark)
            cell(safe_line(row.subject or "(no subject)").plain, w)
        elif col.name == "requester":
            cell(safe_line(row.requester).plain, w, "dim")
        elif col.name == "assignee":
            cell(safe_line(person(row.assignee, w, me)).plain, w, "dim")
        elif col.name == "updated":
            cell(updated, w, "dim")
    return out
