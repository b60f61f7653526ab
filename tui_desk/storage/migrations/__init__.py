"""Versioned schema upgrades, applied on open.

`runner` holds the machinery (`upgrade`, `current_version`, `backup`, `LATEST`); each schema
version is a small frozen module `vNNN_*.py`. Callers import from here only, so the layout
behind it can change without touching them.
"""

from tui_desk.storage.migrations.runner import (
    LATEST,
    MIGRATIONS,
    SchemaTooNew,
    backup,
    current_version,
    split_sql,
    upgrade,
)
from tui_desk.storage.migrations.step import Migration

__all__ = [
    "LATEST",
    "MIGRATIONS",
    "Migration",
    "SchemaTooNew",
    "backup",
    "current_version",
    "split_sql",
    "upgrade",
]
