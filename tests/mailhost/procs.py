"""Finding a test server's processes in /proc (no psutil in the test dependencies)."""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["group_members", "pids_with_cmdline"]


def group_members(pgid: int) -> list[int]:
    """Live PIDs whose process group is ``pgid`` (read from /proc: the group outlives its leader).

    Zombies are left out: once the master is gone its dead children are reparented to PID 1, and this
    sandbox's init reaps them only every couple of seconds; they hold no port or file.
    """
    pids = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rfind(")") + 2 :].split()
        if int(fields[2]) == pgid and fields[0] != "Z":  # fields: state, ppid, pgrp
            pids.append(int(entry))
    return pids


def pids_with_cmdline(needle: str) -> list[int]:
    """PIDs (other than ours) whose command line / process title contains ``needle``, like ``pgrep -f``."""
    found = []
    raw = needle.encode()
    for entry in os.listdir("/proc"):
        if entry.isdigit() and int(entry) != os.getpid():
            try:
                if raw in Path(f"/proc/{entry}/cmdline").read_bytes():
                    found.append(int(entry))
            except OSError:
                continue
    return found
