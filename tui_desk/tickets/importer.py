"""`tui-desk import`: .eml, mbox and Maildir into the local database.

Identity is the content hash (line endings normalised), never the Message-ID alone: importing
the same files twice adds nothing, while two different mails that share a Message-ID (web
forms do this) are both kept. Work is committed in batches so an interrupted import keeps what
it did and a rerun simply skips it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from tui_desk.mail import sources
from tui_desk.mail.parse import parse_message
from tui_desk.storage.db import Database
from tui_desk.storage.messages import known_hashes
from tui_desk.tickets import gcpause
from tui_desk.tickets.ingest import looks_like_mail, store
from tui_desk.tickets.threading import assign

BATCH = 200


@dataclass(slots=True)
class ImportSummary:
    imported: int = 0
    duplicates: int = 0
    failed: list[tuple[str, str]] = field(default_factory=list)
    new_ids: list[int] = field(default_factory=list)

    def line(self) -> str:
        """The one-line summary the CLI prints."""
        text = f"imported {self.imported}, already present {self.duplicates}, failed {len(self.failed)}"
        if self.failed:
            reasons: dict[str, int] = {}
            for _origin, reason in self.failed:
                reasons[reason] = reasons.get(reason, 0) + 1
            text += " (" + "; ".join(f"{n} × {r}" for r, n in sorted(reasons.items())) + ")"
        return text


ProgressFn = Callable[[int, int], None]


def import_paths(db: Database, paths: Iterable[Path | str], progress: ProgressFn | None = None) -> ImportSummary:
    """Import every message under `paths`; `progress(done, total)` is called as it goes."""
    units = sources.plan(paths)
    summary = ImportSummary()
    total = len(units)
    for start in range(0, total, BATCH):
        batch = units[start : start + BATCH]
        _import_batch(db, batch, summary)
        if progress:
            progress(min(start + BATCH, total), total)
    if progress and total == 0:
        progress(0, 0)
    return summary


def _import_batch(db: Database, batch: list[sources.Unit], summary: ImportSummary) -> None:
    loaded = []
    for unit in batch:
        try:
            raw = unit.read()
        except sources.SourceError as exc:
            summary.failed.append((unit.origin, str(exc)))
            continue
        if not raw.strip():
            summary.failed.append((unit.origin, "empty file"))
            continue
        if not looks_like_mail(raw):
            summary.failed.append((unit.origin, "not an email message (no header lines)"))
            continue
        loaded.append((unit, raw, parse_message(raw, file_time=unit.file_time)))
    stored: list[int] = []
    with db.write() as conn:
        present = known_hashes(conn, (p.content_hash for _u, _r, p in loaded))
        for unit, raw, parsed in loaded:
            if parsed.content_hash in present:
                summary.duplicates += 1
                continue
            present.add(parsed.content_hash)
            stored.append(store(conn, parsed, raw, source=unit.origin))
            summary.imported += 1
    summary.new_ids.extend(stored)
    if stored:
        # Threaded after the mail is committed, exactly as sync does: a threading failure can
        # never lose imported mail, and `threading.catch_up` finishes the job on next open.
        with gcpause.paused(), db.write() as conn:
            assign(conn, stored)
