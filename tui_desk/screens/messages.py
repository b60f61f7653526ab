"""Typed messages from worker threads to the UI.

Workers (sync, connection tests, sending, changes) never touch a widget: Textual widgets are
not thread-safe, and a worker that updates the screen directly is how a UI ends up with
half-drawn rows. A worker only builds one of these and calls `post_message`, which is safe
from any thread; the handler runs on the UI's own loop.
"""

from __future__ import annotations

from textual.message import Message

from tui_desk.tickets.service_types import CheckResult, SyncNews, ViewInfo


class SyncNewsArrived(Message):
    """A sync pass ended (new mail, a failure, replies sent)."""

    def __init__(self, news: SyncNews) -> None:
        super().__init__()
        self.news = news


class SyncProgress(Message):
    def __init__(self, account: str, folder: str, done: int, total: int) -> None:
        super().__init__()
        self.account = account
        self.folder = folder
        self.done = done
        self.total = total


class ChangeApplied(Message):
    """A change (status, assign, note, merge, ...) was written, or failed with `error`."""

    def __init__(self, refs: tuple[str, ...], summary: str, error: str = "") -> None:
        super().__init__()
        self.refs = refs
        self.summary = summary
        self.error = error


class ListCounted(Message):
    """The ticket list's COUNT for one reload (`generation`), worked out off the UI thread."""

    def __init__(self, generation: int, total: int) -> None:
        super().__init__()
        self.generation = generation
        self.total = total


class ViewCountsReady(Message):
    def __init__(self, views: list[ViewInfo]) -> None:
        super().__init__()
        self.views = views


class ConnectionTested(Message):
    def __init__(self, results: list[CheckResult]) -> None:
        super().__init__()
        self.results = results


class CollisionsChecked(Message):
    """What happened on the ticket since the composer opened (empty: nothing)."""

    def __init__(self, lines: list[str], error: str = "") -> None:
        super().__init__()
        self.lines = lines
        self.error = error


class SendFinished(Message):
    """The outbox tried to send: `ok`, or the server's reason in `reason`."""

    def __init__(self, ok: bool, reason: str = "", queued: bool = True) -> None:
        super().__init__()
        self.ok = ok
        self.reason = reason
        self.queued = queued


class ViewChanged(Message):
    """A saved view was saved, renamed or deleted (`what`), or that failed with `error`."""

    def __init__(self, what: str, old: str, name: str, summary: str, error: str = "") -> None:
        super().__init__()
        self.what = what
        self.old = old
        self.name = name
        self.summary = summary
        self.error = error
