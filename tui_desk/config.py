"""Where tui-desk keeps things, and its settings.

Nothing here is read at import time: `Paths.resolve(...)` is called once by the CLI (or a test)
and the result is passed down, so no widget or worker ever consults global settings.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import platformdirs

APP_NAME = "tui-desk"


@dataclass(frozen=True, slots=True)
class Paths:
    data_dir: Path
    config_file: Path

    @classmethod
    def resolve(cls, data_dir: str | Path | None = None, config_file: str | Path | None = None) -> Paths:
        """Flags win over the environment (TUI_DESK_DATA_DIR, TUI_DESK_CONFIG), which wins over the
        platform's standard folders."""
        data = data_dir or os.environ.get("TUI_DESK_DATA_DIR") or platformdirs.user_data_dir(APP_NAME)
        conf = config_file or os.environ.get("TUI_DESK_CONFIG") or (
            Path(platformdirs.user_config_dir(APP_NAME)) / "config.toml"
        )
        return cls(Path(data).expanduser(), Path(conf).expanduser())
