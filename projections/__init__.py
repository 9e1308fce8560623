"""Read models projected from the ledger's facts: one module per read table.

Each projection folds a batch of facts into its rows and records how far it got in the same
transaction (exactly once, restartable, rebuildable from position 0).
"""
