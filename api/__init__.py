"""Tally's HTTP interface (contract v1): a thin adapter over the Ledger's use cases."""
