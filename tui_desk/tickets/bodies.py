"""The second pass of a big sync: parse the bodies of messages stored headers-only.

Runs after the envelopes are in (the ticket list is usable already), newest mail first, on all
cores: parsing is CPU-bound pure Python, so it goes to worker processes while this process does
the SQLite writes. Small amounts are parsed in-process (starting workers costs about a second). It can
be interrupted at any point: a message stays `body_parsed = 0` until its body is committed, and
the ticket view parses a pending body on demand from the raw bytes meanwhile.
"""

from __future__ import annotations

import os
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future, ProcessPoolExecutor
from datetime import datetime

from tui_desk.mail.message import ParsedMessage
from tui_desk.mail.parse import parse_message
from tui_desk.storage.db import Database
from tui_desk.storage.messages import count_pending_bodies, pending_bodies, store_body
from tui_desk.tickets import gcpause
from tui_desk.tickets.ingest import to_row
from tui_desk.tickets.workers import spawn_pool

BATCH = 400
IN_PROCESS_BELOW = 2000  # spawning workers costs ~1 s; below this, in-process is faster


CHUNK = 100
IN_FLIGHT = 2
"""Pages handed to the workers ahead of the one being stored: parsing and writing overlap."""

Item = tuple[int, datetime | None, bytes]


def _parse_chunk(items: list[Item]) -> list[tuple[int, ParsedMessage]]:
    return [(pk, parse_message(raw, internaldate=when)) for pk, when, raw in items]


def index_bodies(db: Database, *, on_progress: Callable[[int, int], None] | None = None,
                 workers: int | None = None, stop: Callable[[], bool] | None = None) -> int:
    """Parse every pending body; returns how many were done.

    With workers, pages are read by key and up to `IN_FLIGHT` of them are being parsed while the
    previous one is written, so neither the workers nor this process wait for the other. A page
    is committed as a whole; an interrupted run leaves the rest `body_parsed = 0` for next time."""
    with db.read() as conn:
        total = count_pending_bodies(conn)
    if not total:
        return 0
    done = 0
    pool: ProcessPoolExecutor | None = None
    if total >= IN_PROCESS_BELOW:
        pool = spawn_pool(workers or min(4, os.cpu_count() or 1))  # spawned, and they die with us
    flight: deque[list[Future[list[tuple[int, ParsedMessage]]]] | list[tuple[int, ParsedMessage]]] = deque()
    after: tuple[str, int] | None = None
    exhausted = False
    try:
        while not (stop and stop()):
            if not exhausted and len(flight) <= (IN_FLIGHT if pool else 0):
                with db.read() as conn:
                    items, key = pending_bodies(conn, BATCH, after=after)
                if items:
                    after = key
                    chunks = [items[i : i + CHUNK] for i in range(0, len(items), CHUNK)]
                    flight.append([pool.submit(_parse_chunk, c) for c in chunks] if pool else _parse_chunk(items))
                    continue
                exhausted = True
            if not flight:
                if after is None:
                    break
                after, exhausted = None, False  # one more look, for mail stored while we ran
                continue
            page = flight.popleft()
            parsed = [p for f in page for p in f.result()] if pool else page  # type: ignore[union-attr]
            with gcpause.paused(), db.write() as conn:
                for pk, message in parsed:  # type: ignore[misc]
                    store_body(conn, pk, to_row(message))
            done += len(parsed)
            if on_progress:
                on_progress(done, max(total, done))
    finally:
        if pool is not None:
            pool.shutdown(cancel_futures=True)
    return done
