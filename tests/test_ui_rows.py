"""The list line layout without a running app: columns per width, cells cut and padded to the
cell, wide characters, and mail text kept literal."""

from __future__ import annotations

from datetime import UTC, datetime

from rich.cells import cell_len

from tui_desk.screens import rows
from tui_desk.screens.conversation import body_text, split_parts
from tui_desk.tickets.service_types import TicketRow

ROW = TicketRow(pk=1, ref="T-ABCDEFGH", status="on-hold", priority="urgent",
                subject="[bold]x[/] \x1b]0;pwned\x07 Заказ 全角テキスト " * 3, requester_name="Иван", requester_addr="i@x.ru",
                assignee="", created=None, updated=datetime(2026, 10, 3, 9, 5, tzinfo=UTC), unread=True, messages=1)  # fmt: skip


def test_every_width_gives_lines_of_exactly_that_width() -> None:
    for width in (40, 56, 62, 80, 86, 110, 136, 200):
        columns = rows.layout(width)
        line = rows.row_segments(ROW, columns, width, selected=True, updated="09:05", styles={})
        text = "".join(s.text for s in line)
        assert cell_len(text) == width, width
        assert cell_len("".join(s.text for s in rows.header(columns, width))) == width
        assert text.startswith(rows.SELECTED + rows.UNREAD)
        assert "\x1b" not in text and "\x07" not in text and "[bold]x[/]" in text


def test_narrow_layout_abbreviates_and_wide_shows_everything() -> None:
    assert [c.name for c in rows.layout(80)] == ["mark", "ref", "status", "priority", "subject", "updated"]
    assert "assignee" in [c.name for c in rows.layout(140)]
    narrow = "".join(s.text for s in rows.row_segments(ROW, rows.layout(70), 70, selected=False, updated="",
                                                       styles={}))  # fmt: skip
    assert "hold " in narrow and "‼" in narrow


def test_short_time_today_this_year_and_before() -> None:
    now = datetime(2026, 10, 3, 15, 0, tzinfo=UTC)
    assert rows.short_time(datetime(2026, 10, 3, 9, 5, tzinfo=UTC), now) == "09:05"
    assert rows.short_time(datetime(2026, 2, 1, tzinfo=UTC), now) == "Feb 01"
    assert rows.short_time(datetime(2025, 2, 1, tzinfo=UTC), now) == "2025-02-01"


def test_quotes_and_signature_fold_and_unfold() -> None:
    text = "Hi,\nplease help.\n\nOn Mon, Ana wrote:\n> old\n>\n> older\n\n-- \nMarko\n"
    assert [k for k, _ in split_parts(text)] == ["text", "quote", "text", "signature"]
    folded = body_text(text, fold=True).plain
    assert folded == "Hi,\nplease help.\n┄ 3 quoted lines (z shows it)\n┄ signature (z shows it)"
    assert body_text(text, fold=False).plain == text.rstrip("\n")
