"""Envelope parsing on the second core during a big first sync.

The first sync of a large mailbox is bound by one Python thread: parsing envelopes, storing
rows and threading them. Parsing needs no database, so a batch is handed to one worker process
as soon as it is downloaded (`EnvelopeWorker.submit`) and comes back as parsed records plus
the compressed raw bytes, while this process stores and threads the batch before it. One worker,
not a pool: the machine's other core is shared with this process, the fetch thread and, on a
local server, the IMAP server itself.
The process is spawned and ends with this one (`tickets.workers`).
"""

from __future__ import annotations

from concurrent.futures import Future
from datetime import datetime

from tui_desk.mail.envelope import parse_envelope
from tui_desk.mail.message import ParsedMessage
from tui_desk.storage.messages import compress
from tui_desk.tickets.workers import spawn_pool

Parsed = tuple[int, ParsedMessage, bytes]
"""(uid, envelope record, compressed raw bytes)"""


def parse_batch(items: list[tuple[int, bytes, datetime | None]]) -> list[Parsed]:
    """Runs in the worker: the envelope of each message and its compressed bytes."""
    return [(uid, parse_envelope(raw, internaldate=when), compress(raw)) for uid, raw, when in items]


class EnvelopeWorker:
    """One worker process, started at once so its start-up overlaps the first download."""

    def __init__(self) -> None:
        self._pool = spawn_pool(1)

    def submit(self, items: list[tuple[int, bytes, datetime | None]]) -> Future[list[Parsed]]:
        return self._pool.submit(parse_batch, items)

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
