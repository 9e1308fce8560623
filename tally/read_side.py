"""The read side: its workers as threads of this process (`ReadSide`), or in a child process
of their own that the server supervises (`ReadSideProcess`, what `tally serve` runs).

Projecting a batch of facts is Python holding the GIL for milliseconds at a time; in the
server's process the event loop waited for it, and half-rate p99 was 16.5–22.0 ms against
10.2–13.9 ms with the read side in a process of its own (bench/, five alternating pairs). The
operating system shares the cores between processes more finely than threads share the GIL.
"""

from __future__ import annotations

import logging
import multiprocessing
import signal
import threading
import time
from typing import Any

from projections.runner import Worker, workers_for
from tally.audit import read_pool, read_position
from tally.processes import when_parent_ends

log = logging.getLogger("tally.projections")
RESTART_DELAYS = (1.0, 30.0)  # a child that ended is started again after 1 s, doubling to 30 s
LIVED_LONG = 60.0  # seconds: a child that ran this long starts the delays over


class CatchingUp:
    """How far a read side has come: `position()`, the notification id every read model has
    reached, against the ledger's head."""

    ledger: Any

    def position(self) -> int:
        raise NotImplementedError

    def lag(self) -> int:
        """Facts stored but not yet in every read model."""
        head = self.ledger.recorder.max_notification_id() or 0
        return max(head - self.position(), 0)

    def wait_until_caught_up(self, timeout: float = 10.0) -> bool:
        """Waits until every read model holds the facts stored before this call; False if
        they have not after `timeout` seconds."""
        head = self.ledger.recorder.max_notification_id() or 0
        deadline = time.monotonic() + timeout
        while self.position() < head:
            if time.monotonic() > deadline:
                return False
            time.sleep(0.01)
        return True


class ReadSide(CatchingUp):
    def __init__(self, ledger: Any, url: str) -> None:
        self.ledger = ledger
        self.workers: list[Worker] = workers_for(ledger, url)
        self.stopping = threading.Event()
        self.threads = [threading.Thread(target=worker.run, args=(self.stopping,), daemon=True,
                                         name=f"projection-{worker.read_model.name}")
                        for worker in self.workers]

    def start(self) -> ReadSide:
        for thread in self.threads:
            thread.start()
        return self

    def positions(self) -> dict[str, int]:
        return {worker.read_model.name: worker.position for worker in self.workers}

    def position(self) -> int:
        return min(self.positions().values())

    def stop(self) -> None:
        self.stopping.set()
        for thread in self.threads:
            thread.join(timeout=10)


class ReadSideProcess(CatchingUp):
    """The read side in a child process, started again whenever it ends (a crash, an out of
    memory kill) until `stop`. Positions are read from the read models' tracking tables."""

    def __init__(self, runtime: Any) -> None:
        self.runtime, self.ledger = runtime, runtime.ledger
        self.stopping = threading.Event()
        self.process: Any = None
        self.restarts = 0
        self._turn = threading.Lock()  # a new child is not started while stop() ends the last
        self._thread = threading.Thread(target=self._supervise, name="read-side", daemon=True)

    def start(self) -> ReadSideProcess:
        self._thread.start()
        return self

    def position(self) -> int:
        return read_position(read_pool(self.runtime))

    def stop(self) -> None:
        with self._turn:
            self.stopping.set()
        process = self.process
        if process is not None and process.is_alive():
            process.terminate()  # SIGTERM: the child closes its connections and exits
            process.join(10)
            if process.is_alive():
                process.kill()
                process.join(5)
        self._thread.join(timeout=5)

    def _supervise(self) -> None:
        context = multiprocessing.get_context("spawn")  # this process holds threads: no fork
        delay = RESTART_DELAYS[0]
        while True:
            with self._turn:
                if self.stopping.is_set():
                    return
                self.process = context.Process(target=project_apart, name="tally-read-side",
                                               args=(self.runtime.url,), daemon=True)
                self.process.start()
            started = time.monotonic()
            while not self.stopping.wait(0.5) and self.process.is_alive():
                pass
            if self.stopping.is_set():
                return
            if time.monotonic() - started > LIVED_LONG:
                delay = RESTART_DELAYS[0]
            self.restarts += 1
            log.warning("the read side's process ended (exit code %s); starting it again in "
                        "%.0f s", self.process.exitcode, delay)
            if self.stopping.wait(delay):
                return
            delay = min(delay * 2, RESTART_DELAYS[1])


def project_apart(url: str) -> None:
    """A read side child: the workers until SIGTERM, or until its server is gone."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # a terminal's Ctrl-C stops the server, which stops us
    stopping = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopping.set())
    when_parent_ends(stopping.set)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s:     [read side] %(message)s")
    from tally.bootstrap import start
    from tally.cli import settle_garbage_collector
    from tally.settings import Settings

    try:
        runtime = start(Settings(database_url=url, pool_size=2), read_side=True)
    except Exception as failure:  # the database is away: the server starts us again later
        log.warning("the read side could not start (%s)", failure)
        raise SystemExit(1) from None
    try:
        settle_garbage_collector()
        stopping.wait()
    finally:
        runtime.close()

