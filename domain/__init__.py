"""Tally's business rules: pure code, no web, database or environment."""
