"""The read side of one process: a thread per read model, and how to wait for them."""

from __future__ import annotations

import threading
import time
from typing import Any

from projections.runner import Worker, workers_for


class ReadSide:
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

    def lag(self) -> int:
        """Facts stored but not yet in every read model."""
        head = self.ledger.recorder.max_notification_id() or 0
        return max(head - min(self.positions().values()), 0)

    def wait_until_caught_up(self, timeout: float = 10.0) -> bool:
        """Waits until every read model holds the facts stored before this call."""
        head = self.ledger.recorder.max_notification_id() or 0
        deadline = time.monotonic() + timeout
        while min(self.positions().values()) < head:
            if time.monotonic() > deadline:
                return False
            time.sleep(0.01)
        return True

    def stop(self) -> None:
        self.stopping.set()
        for thread in self.threads:
            thread.join(timeout=10)

