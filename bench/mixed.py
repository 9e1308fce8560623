"""`python -m bench.mixed [--rate 500] [--seconds 8] [--batch 5000] [--rounds 2]`: tills while
a back office posts batches to the same `tally serve`.

Tills post single purchases at a fixed rate (open loop, 16 connections, 400 members); in every
other load a back office posts batches of `--batch` purchases for 400 other members, one after
another, the next sent as soon as the last is answered, from a process of its own (in the
load generator's, building the bodies held up its event loop and its latencies). Each round
takes the tills alone, then with the batches, so the machine's drift falls on both alike.
Writes `bench/results/mixed.md`.
"""

from __future__ import annotations

import argparse
import multiprocessing
import sys
import time
import uuid

import httpx
import orjson

from bench.__main__ import fresh_database, report, serve
from bench.load import Load, drive, tally_purchase

PORT = 8815
HEADERS = {"Authorization": "Bearer bench"}


def back_office(base: str, members: list[str], size: int, stop, answers) -> None:
    """Posts batches until `stop` is set; puts the (status, seconds) of each in `answers`."""
    with httpx.Client(base_url=base, headers={**HEADERS, "Content-Type": "application/json"},
                      timeout=300) as http:
        while not stop.is_set():
            body = orjson.dumps({"transactions": [
                {"transaction_id": str(uuid.uuid4()), "channel": "web", "amount": "12.80",
                 "currency": "CNY", "member": {"member_id": members[n % len(members)]}}
                for n in range(size)]})
            started = time.perf_counter()
            status = http.post("/v1/transactions/batch", content=body).status_code
            answers.put((status, time.perf_counter() - started))
    answers.put(None)


def tills(base: str, members: list[str], rate: float, seconds: float,
          office: list[str] | None, size: int) -> tuple[Load, list[tuple[int, float]]]:
    """The tills' load, alone or (with `office` members) beside the back office's batches."""
    context = multiprocessing.get_context("spawn")
    stop, answers, answered = context.Event(), context.Queue(), []
    poster = None
    if office:
        poster = context.Process(target=back_office, args=(base, office, size, stop, answers))
        poster.start()
        time.sleep(1.5)  # started, and its first batch under way
    try:
        load = drive(base, "/v1/transactions", members, tally_purchase, 16, seconds, rate=rate,
                     headers=HEADERS)
    finally:
        stop.set()
        if poster is not None:
            while (answer := answers.get()) is not None:
                answered.append(answer)
            poster.join()
    return load, answered


def row(name: str, load: Load, rate: float, answered: list[tuple[int, float]], size: int) -> tuple:
    details = (f"asked {rate:,.0f}/s; p50 {load.percentile(.5):.1f} ms, p99 "
               f"{load.percentile(.99):.1f} ms, p99.9 {load.percentile(.999):.1f} ms; "
               f"errors {load.errors}")
    if answered:
        seconds = sum(took for _, took in answered)
        statuses = sorted({status for status, _ in answered})
        details += (f"; {len(answered)} batches of {size:,} ({len(answered) * size / seconds:,.0f} "
                    f"purchases/s, {max(took for _, took in answered):.2f} s the slowest, "
                    f"status {statuses})")
    return (name, f"{load.rate:,.0f}/s", details)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rate", type=float, default=500.0, help="till purchases a second")
    parser.add_argument("--seconds", type=float, default=8.0, help="per load")
    parser.add_argument("--batch", type=int, default=5000, help="purchases per batch")
    parser.add_argument("--rounds", type=int, default=2)
    options = parser.parse_args()
    url = fresh_database("tally_bench_mixed")
    command = [sys.executable, "-c", "from tally.cli import main; main()", "serve", "--port",
               str(PORT), "--no-access-log"]
    server = serve(command, {"DATABASE_URL": url, "TALLY_API_KEYS": "pos:bench"}, PORT, "/healthz")
    base = f"http://127.0.0.1:{PORT}"
    try:
        with httpx.Client(base_url=base, headers=HEADERS) as http:
            members, office = ([http.post("/v1/members", json={}).json()["member_id"]
                                for _ in range(400)] for _ in range(2))
        drive(base, "/v1/transactions", members, tally_purchase, 16, 2.0, headers=HEADERS)  # warm
        alone, beside = [], []
        for _ in range(options.rounds):
            alone.append(tills(base, members, options.rate, options.seconds, None, options.batch))
            beside.append(tills(base, members, options.rate, options.seconds, office, options.batch))
    finally:
        server.terminate()
        server.wait(10)
    report([row("Tills alone", Load.combined([load for load, _ in alone]), options.rate, [], 0),
            row("Tills beside back-office batches", Load.combined([load for load, _ in beside]),
                options.rate, [taken for _, answered in beside for taken in answered],
                options.batch)], name="mixed")


if __name__ == "__main__":
    main()
