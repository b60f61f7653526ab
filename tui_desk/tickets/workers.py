"""Worker processes for CPU-bound parsing, which never outlive the process that started them.

A `ProcessPoolExecutor` worker waits on a queue whose write end it also holds, so when its
parent is killed (SIGKILL, the terminal closed) it would wait forever. Each worker therefore
watches its parent: on Linux the kernel kills it with the parent (PR_SET_PDEATHSIG), and
everywhere a small thread notices the parent is gone and exits.

Spawned, not forked: the app and `sync --watch` have threads (Textual, IDLE), and forking a
threaded process can deadlock the child on a lock another thread held.
"""

from __future__ import annotations

import contextlib
import ctypes
import multiprocessing
import os
import signal
import sys
import threading
import time
from concurrent.futures import ProcessPoolExecutor

_PR_SET_PDEATHSIG = 1


def _watch_parent(parent: int) -> None:
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError, AttributeError):  # the thread below still ends us
            ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(0.5)
        os._exit(0)

    if os.getppid() != parent:  # the parent died before we got here
        os._exit(0)
    threading.Thread(target=watch, name="parent watch", daemon=True).start()


def spawn_pool(workers: int) -> ProcessPoolExecutor:
    """A pool of spawned workers that end with this process, however it ends."""
    return ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("spawn"),
                               initializer=_watch_parent, initargs=(os.getpid(),))  # fmt: skip
