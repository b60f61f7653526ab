"""Small helpers for the Pilot tests: an app over the fixed UI desk, waiting for workers, and
the plain text of a widget."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rich.text import Text

from support.ui_desk import ui_service
from tui_desk.app import TuiDeskApp, make_app
from tui_desk.tickets.service import DeskService

SIZE = (120, 36)


def app_for(data: Path, service: DeskService | None = None) -> TuiDeskApp:
    service = service or ui_service(data)
    return make_app(service.paths, service.config, service=service)


async def settle(app: TuiDeskApp, pilot: Any) -> None:
    """Let workers finish and their messages be handled."""
    await app.workers.wait_for_complete()
    await pilot.pause()
    await pilot.pause()


def plain(widget: Any) -> str:
    content = widget.content
    return content.plain if isinstance(content, Text) else str(content)
