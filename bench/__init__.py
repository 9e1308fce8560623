"""Tally's benchmarks: `python -m bench` (see README, Benchmarks)."""
