"""Tally: an event-sourced loyalty ledger (application, settings, storage and CLI)."""
