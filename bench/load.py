"""A closed-loop load of purchases from concurrent clients, and an open-loop one at a rate."""

from __future__ import annotations

import threading
import time
import uuid
from dataclasses import dataclass
from typing import Callable

import httpx


@dataclass
class Load:
    requests: int
    seconds: float
    latencies: list[float]
    errors: int

    @property
    def rate(self) -> float:
        """Answered purchases per second (errors, e.g. the naive app's lost races, not counted)."""
        return (self.requests - self.errors) / self.seconds

    def percentile(self, share: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(int(len(ordered) * share), len(ordered) - 1)] * 1000 if ordered else 0.0


Body = Callable[[str], dict]


def drive(base_url: str, path: str, members: list[str], body: Body, clients: int, seconds: float,
          hot_share: float = 0.0, rate: float | None = None, headers: dict | None = None) -> Load:
    """`clients` threads post for `seconds`; a `hot_share` of posts go to the first member;
    with `rate`, requests start on a fixed schedule (open loop) instead of back to back."""
    latencies, errors, lock = [], [0], threading.Lock()
    stop = time.monotonic() + seconds
    interval = clients / rate if rate else 0.0

    def client(number: int) -> None:
        with httpx.Client(base_url=base_url, timeout=30, headers=headers) as http:
            due, count = time.monotonic() + interval * number / clients, 0
            while time.monotonic() < stop:
                if interval:
                    time.sleep(max(0.0, due - time.monotonic()))
                    due += interval
                hot = hot_share and (count * 7 + number) % 100 < hot_share * 100
                member = members[0] if hot else members[(number + count * clients) % len(members)]
                started = time.perf_counter()
                try:  # a reset connection (the naive app under a hot mix) is an error, not a crash
                    failed = http.post(path, json=body(member)).status_code not in (200, 201)
                except httpx.TransportError:
                    failed = True
                elapsed = time.perf_counter() - started
                count += 1
                with lock:
                    latencies.append(elapsed)
                    errors[0] += failed

    threads = [threading.Thread(target=client, args=(n,)) for n in range(clients)]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return Load(len(latencies), time.monotonic() - started, latencies, errors[0])


def tally_purchase(member_id: str) -> dict:
    return {"transaction_id": f"B-{uuid.uuid4()}", "channel": "pos", "amount": "88.00",
            "currency": "CNY", "member": {"member_id": member_id}}


def plain_purchase(member_id: str) -> dict:
    return {"transaction_id": f"B-{uuid.uuid4()}", "member_id": member_id, "amount": "88.00"}
