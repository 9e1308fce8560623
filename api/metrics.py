"""Prometheus text for /metrics: requests, latencies, and gauges read when scraped."""

from __future__ import annotations

import threading
from collections import defaultdict
from typing import Callable

BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)


class Metrics:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.requests: dict[tuple[str, str, int], int] = defaultdict(int)
        self.latency: dict[str, list[float]] = {}
        self.gauges: dict[str, tuple[str, Callable[[], float]]] = {}

    def add_gauge(self, name: str, help_text: str, read: Callable[[], float]) -> None:
        self.gauges[name] = (help_text, read)

    def observe(self, method: str, route: str, status: int, seconds: float) -> None:
        with self._lock:
            self.requests[(method, route, status)] += 1
            counts = self.latency.setdefault(route, [0.0] * (len(BUCKETS) + 2))
            for index, bound in enumerate(BUCKETS):
                if seconds <= bound:
                    counts[index] += 1
            counts[-2] += 1
            counts[-1] += seconds

    def render(self) -> str:
        lines = ["# HELP tally_requests_total HTTP requests by route and status.",
                 "# TYPE tally_requests_total counter"]
        with self._lock:
            for (method, route, status), count in sorted(self.requests.items()):
                lines.append(f'tally_requests_total{{method="{method}",route="{route}",'
                             f'status="{status}"}} {count}')
            lines += ["# HELP tally_request_seconds HTTP request latency.",
                      "# TYPE tally_request_seconds histogram"]
            for route, counts in sorted(self.latency.items()):
                for bound, count in zip(BUCKETS, counts):
                    lines.append(f'tally_request_seconds_bucket{{route="{route}",le="{bound}"}} {int(count)}')
                lines.append(f'tally_request_seconds_bucket{{route="{route}",le="+Inf"}} {int(counts[-2])}')
                lines.append(f'tally_request_seconds_count{{route="{route}"}} {int(counts[-2])}')
                lines.append(f'tally_request_seconds_sum{{route="{route}"}} {counts[-1]:.6f}')
        for name, (help_text, read) in sorted(self.gauges.items()):
            try:
                value = float(read())
            except Exception:  # a gauge that cannot be read now is left out of this scrape
                continue
            lines += [f"# HELP {name} {help_text}", f"# TYPE {name} gauge", f"{name} {value:g}"]
        return "\n".join(lines) + "\n"
