-- The ledger runs short primary-key queries; PostgreSQL's JIT compiler, triggered by the
-- large row estimates of the events table, adds 10-100 ms to each of them. Turn it off for
-- this database (new connections). Without the privilege to do so, carry on unchanged.
DO $$
BEGIN
    EXECUTE format('ALTER DATABASE %I SET jit = off', current_database());
EXCEPTION WHEN insufficient_privilege THEN
    RAISE NOTICE 'jit left on: no privilege to alter database %', current_database();
END
$$;
