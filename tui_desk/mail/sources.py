"""Where imported mail comes from: .eml files, mbox files and Maildir folders.

`plan(paths)` lists every message first (cheaply: paths and mbox offsets, no bodies) so the
importer can show a real progress bar; `Unit.read()` loads one message's bytes when needed.
Problems with a path (missing, unreadable) become units that fail with a reason instead of
exceptions, so one bad path never stops an import of many.
"""

from __future__ import annotations

import mailbox
import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path


class SourceError(Exception):
    """A message could not be read from its source; the text says why, in plain words."""


@dataclass(slots=True)
class Unit:
    """One message to import, not yet read."""

    origin: str
    _reader: Callable[[], bytes]
    file_time: datetime | None = None

    def read(self) -> bytes:
        try:
            return self._reader()
        except SourceError:
            raise
        except OSError as exc:
            raise SourceError(exc.strerror or str(exc)) from exc
        except Exception as exc:  # mailbox raises a zoo of errors on damaged files
            raise SourceError(f"unreadable: {exc}") from exc


def _mtime(path: Path) -> datetime | None:
    try:
        return datetime.fromtimestamp(path.stat().st_mtime, UTC)
    except OSError:
        return None


def _failing(origin: str, reason: str) -> Unit:
    def fail() -> bytes:
        raise SourceError(reason)

    return Unit(origin, fail)


def _is_maildir(path: Path) -> bool:
    return path.is_dir() and (path / "cur").is_dir() and (path / "new").is_dir()


def _looks_like_mbox(path: Path) -> bool:
    if path.suffix.lower() in {".mbox", ".mbx"}:
        return True
    try:
        with path.open("rb") as fh:
            return fh.read(5) == b"From "
    except OSError:
        return False


def _file_unit(path: Path) -> Unit:
    return Unit(str(path), path.read_bytes, _mtime(path))


def _mbox_units(path: Path) -> list[Unit]:
    try:
        box = mailbox.mbox(path, create=False)
        keys = list(box.keys())
    except Exception as exc:  # a damaged mbox must not abort the whole import
        return [_failing(str(path), f"not a readable mbox file: {exc}")]
    when = _mtime(path)
    return [
        Unit(f"{path}#{n}", (lambda k=key: box.get_bytes(k)), when)
        for n, key in enumerate(keys, start=1)
    ]


def _maildir_units(path: Path) -> list[Unit]:
    units: list[Unit] = []
    for sub in ("cur", "new"):
        folder = path / sub
        for entry in sorted(os.scandir(folder), key=lambda e: e.name):
            if entry.is_file() and not entry.name.startswith("."):
                units.append(_file_unit(Path(entry.path)))
    # Maildir++ subfolders (.Sent, .Archive ...) are folders of their own.
    for entry in sorted(os.scandir(path), key=lambda e: e.name):
        child = Path(entry.path)
        if entry.name.startswith(".") and entry.name not in {".", ".."} and _is_maildir(child):
            units.extend(_maildir_units(child))
    return units


def _plan_one(path: Path) -> list[Unit]:
    if not path.exists():
        return [_failing(str(path), "no such file or folder")]
    if _is_maildir(path):
        return _maildir_units(path)
    if path.is_dir():
        units: list[Unit] = []
        for child in sorted(path.iterdir()):
            if not child.name.startswith("."):
                units.extend(_plan_one(child))
        return units
    if not os.access(path, os.R_OK):
        return [_failing(str(path), "permission denied")]
    if _looks_like_mbox(path):
        return _mbox_units(path)
    return [_file_unit(path)]


def plan(paths: Iterable[Path | str]) -> list[Unit]:
    """Every message under `paths`, in a stable order."""
    units: list[Unit] = []
    for p in paths:
        units.extend(_plan_one(Path(p).expanduser()))
    return units
