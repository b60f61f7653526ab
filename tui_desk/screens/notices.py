"""Notifications that can carry mail text safely.

`notify` takes a `str` and parses it as markup unless told not to; a server's error message or a
subject in it could then style the toast or, with `[@click=...]`, run an action. Every
notification in the app goes through `tell`: cleaned like any mail text, markup off.
"""

from __future__ import annotations

from textual.app import App
from textual.notifications import SeverityLevel
from textual.widget import Widget

from tui_desk.screens.safe import safe_line


def tell(node: Widget | App[object], message: object, *, title: str = "", severity: SeverityLevel = "information",
         timeout: float | None = None) -> None:  # fmt: skip
    node.notify(safe_line(message).plain, title=safe_line(title).plain, severity=severity, timeout=timeout,
                markup=False)  # fmt: skip
