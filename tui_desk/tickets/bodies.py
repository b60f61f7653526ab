"""The second pass of a big sync: parse the bodies of messages stored headers-only.

Runs after the envelopes are in (the ticket list is usable already), newest mail first, on all
cores: parsing is CPU-bound pure Python, so it goes to worker processes while this process does
the SQLite writes. Small amounts are parsed in-process (starting workers costs ~100 ms). It can
be interrupted at any point: a message stays `body_parsed = 0` until its body is committed, and
the ticket view parses a pending body on demand from the raw bytes meanwhile.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from datetime import datetime

from tui_desk.mail.message import ParsedMessage
from tui_desk.mail.parse import parse_message
from tui_desk.storage.db import Database
from tui_desk.storage.messages import count_pending_bodies, pending_bodies, store_body
from tui_desk.tickets.ingest import to_row
from tui_desk.tickets.workers import spawn_pool

BATCH = 400
IN_PROCESS_BELOW = 2000  # spawning workers costs ~1 s; below this, in-process is faster


def _parse(item: tuple[int, datetime | None, bytes]) -> tuple[int, ParsedMessage]:
    pk, internaldate, raw = item
    return pk, parse_message(raw, internaldate=internaldate)


def index_bodies(db: Database, *, on_progress: Callable[[int, int], None] | None = None,
                 workers: int | None = None, stop: Callable[[], bool] | None = None) -> int:
    """Parse every pending body; returns how many were done."""
    with db.read() as conn:
        total = count_pending_bodies(conn)
    if not total:
        return 0
    done = 0
    pool: ProcessPoolExecutor | None = None
    if total >= IN_PROCESS_BELOW:
        pool = spawn_pool(workers or min(4, os.cpu_count() or 1))  # spawned, and they die with us
    try:
        while not (stop and stop()):
            with db.read() as conn:
                items = pending_bodies(conn, BATCH)
            if not items:
                break
            if pool is not None:
                parsed = list(pool.map(_parse, items, chunksize=25))
            else:
                parsed = [_parse(item) for item in items]
            with db.write() as conn:
                for pk, message in parsed:
                    store_body(conn, pk, to_row(message))
            done += len(parsed)
            if on_progress:
                on_progress(done, total)
    finally:
        if pool is not None:
            pool.shutdown(cancel_futures=True)
    return done
