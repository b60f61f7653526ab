"""One schema version as data: its number, a one-line description, frozen DDL and an optional
Python step. Kept apart from the runner so the version modules can import it without importing
the runner that lists them."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Migration:
    version: int
    description: str
    sql: str
    python: Callable[[sqlite3.Connection], None] | None = None
