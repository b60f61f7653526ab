"""The one way mail text reaches the screen.

A plain `str` given to Static, Label, DataTable, notify, titles or tooltips is parsed as
Textual markup, and `[@click=...]` in it runs app actions: a stranger's subject line must never
get that chance. So every screen turns mail text into a `rich.text.Text` here, after stripping
terminal escape sequences, C0/C1 controls and bidi overrides (`mail.sanitize.clean_display`).
"""

from __future__ import annotations

from rich.style import Style
from rich.text import Text

from tui_desk.mail.sanitize import clean_display


def safe_text(value: object, style: str | Style = "", *, single_line: bool = False) -> Text:
    """Mail-derived text, cleaned and wrapped as literal Text (never markup)."""
    return Text(clean_display("" if value is None else str(value), single_line=single_line), style=style)


def safe_line(value: object, style: str | Style = "") -> Text:
    """Like `safe_text` but on one line: for list cells, titles and notifications."""
    return safe_text(value, style, single_line=True)
