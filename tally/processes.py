"""How Tally starts its helper processes, and how they end with the process that started them.

Import workers and `tally serve`'s batch worker fork from a fork server that imported Tally
once: spawned, each spent ~1 s of CPU importing (a sixth of a worker's work in a 100,000-row
import), and a process that holds threads (the committer, the pools') must not fork itself.

A helper waiting on its inbox (a multiprocessing queue: it holds both of its ends) never hears
that the process that started it was killed (SIGKILL, out of memory), and it stayed, its fork
server with it, for ever: `when_parent_ends` says what a helper does then.
"""

from __future__ import annotations

import multiprocessing
import threading
from typing import Any, Callable


IMPORT_PRELOAD = ["__main__", "tally.bootstrap", "tally.import_workers"]


def start_fork_server(preload: list[str]) -> None:
    """Starts the fork server for `preload` now, rather than with the first helper: it spends
    ~0.4 s importing Tally, side by side with its caller opening the ledger."""
    if worker_context(preload).get_start_method() == "forkserver":
        from multiprocessing import forkserver

        forkserver.ensure_running()


def worker_context(preload: list[str]) -> Any:
    """Forked from a fork server that imported `preload` once; spawned where there is none."""
    if "forkserver" not in multiprocessing.get_all_start_methods():
        return multiprocessing.get_context("spawn")
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(preload)
    return context


def when_parent_ends(then: Callable[[], Any]) -> None:
    """Calls `then` (in a thread of its own) once the process that started this one has ended."""
    parent = multiprocessing.parent_process()
    if parent is None:  # not started by multiprocessing
        return

    def watch() -> None:
        parent.join()
        then()

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()
