"""Run `tui-desk outbox --send` in a child process, saying "ready" once the imports are done, so
a test can kill it with SIGKILL while it is sending rather than while Python starts."""

from __future__ import annotations

import sys

from tui_desk import cli
from tui_desk.tickets import outbox, outbox_run  # noqa: F401  (imported before "ready")

if __name__ == "__main__":
    print("ready", flush=True)
    sys.exit(cli.main(sys.argv[1:]))
