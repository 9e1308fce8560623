"""A closed-loop load of purchases from concurrent clients, and an open-loop one at a rate.

Each client is a keep-alive HTTP/1.1 connection driven from one asyncio loop, writing its
request and reading the answer by Content-Length: about 100 us of CPU per request. Sixteen
threads of httpx clients took about 1,200 us, more than the servers measured, on the same
two cores (bench/, psutil CPU times of both processes).
"""

from __future__ import annotations

import asyncio
import time
import uuid
from dataclasses import dataclass
from typing import Callable
from urllib.parse import urlsplit

import orjson


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

    @staticmethod
    def combined(loads: list[Load]) -> Load:
        """Several loads of one target (rounds taken in turn with the other targets) as one."""
        return Load(sum(load.requests for load in loads), sum(load.seconds for load in loads),
                    [latency for load in loads for latency in load.latencies],
                    sum(load.errors for load in loads))

    def percentile(self, share: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(int(len(ordered) * share), len(ordered) - 1)] * 1000 if ordered else 0.0


Body = Callable[[str], dict]


def drive(base_url: str, path: str, members: list[str], body: Body, clients: int, seconds: float,
          hot_share: float = 0.0, rate: float | None = None, headers: dict | None = None) -> Load:
    """`clients` connections post for `seconds`; a `hot_share` of posts go to the first member;
    with `rate`, requests start on a fixed schedule (open loop) instead of back to back."""
    return asyncio.run(_drive(base_url, path, members, body, clients, seconds, hot_share, rate,
                              headers or {}))


async def _drive(base_url: str, path: str, members: list[str], body: Body, clients: int,
                 seconds: float, hot_share: float, rate: float | None, headers: dict) -> Load:
    address = urlsplit(base_url)
    head = (f"POST {path} HTTP/1.1\r\nHost: {address.netloc}\r\n"
            "Content-Type: application/json\r\n"
            + "".join(f"{name}: {value}\r\n" for name, value in headers.items())).encode()
    latencies: list[float] = []
    errors = 0
    stop = time.monotonic() + seconds
    interval = clients / rate if rate else 0.0

    async def client(number: int) -> None:
        nonlocal errors
        connection = await asyncio.open_connection(address.hostname, address.port)
        due, count = time.monotonic() + interval * number / clients, 0
        while time.monotonic() < stop:
            if interval:
                await asyncio.sleep(max(0.0, due - time.monotonic()))
                due += interval
            hot = hot_share and (count * 7 + number) % 100 < hot_share * 100
            member = members[0] if hot else members[(number + count * clients) % len(members)]
            payload = orjson.dumps(body(member))
            started = time.perf_counter()
            try:
                failed = await _post(*connection, head, payload) not in (200, 201)
            except (OSError, asyncio.IncompleteReadError, ValueError):
                failed = True  # a reset connection (the naive app under a hot mix): reconnect
                connection[1].close()
                connection = await asyncio.open_connection(address.hostname, address.port)
            latencies.append(time.perf_counter() - started)
            errors += failed
            count += 1
        connection[1].close()

    started = time.monotonic()
    await asyncio.gather(*(client(n) for n in range(clients)))
    return Load(len(latencies), time.monotonic() - started, latencies, errors)


async def _post(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, head: bytes,
                payload: bytes) -> int:
    """Sends one request on the connection and reads its answer; returns the status."""
    writer.write(head + b"Content-Length: %d\r\n\r\n" % len(payload) + payload)
    header = await reader.readuntil(b"\r\n\r\n")
    length = 0
    for line in header.split(b"\r\n"):
        name, _, value = line.partition(b":")
        if name.lower() == b"content-length":
            length = int(value)
    await reader.readexactly(length)
    return int(header[9:12])


def tally_purchase(member_id: str) -> dict:
    return {"transaction_id": f"B-{uuid.uuid4()}", "channel": "pos", "amount": "88.00",
            "currency": "CNY", "member": {"member_id": member_id}}


def plain_purchase(member_id: str) -> dict:
    return {"transaction_id": f"B-{uuid.uuid4()}", "member_id": member_id, "amount": "88.00"}
