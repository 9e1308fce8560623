"""The baselines Tally is measured against, behind the same FastAPI stack.

`naive` is an eventsourcing app doing one save per purchase (no guards, no group of facts);
`plain_sql` is a ledger in two tables: UPDATE the balance, INSERT a journal row, from a sync
endpoint in FastAPI's thread pool; `plain_sql_async` the same from an async endpoint on an
async pool, as Tally's purchase endpoint is. Run as `uvicorn bench.baselines:naive_app
--factory` (or `plain_sql_app`, `plain_sql_async_app`) with BENCH_DATABASE_URL.
"""

from __future__ import annotations

import os
from contextlib import asynccontextmanager
from decimal import Decimal
from uuid import UUID

from eventsourcing.application import Application
from eventsourcing.domain import Aggregate, event
from fastapi import FastAPI
from psycopg_pool import AsyncConnectionPool, ConnectionPool
from pydantic import BaseModel

from tally.storage import eventsourcing_env


class Purchase(BaseModel):
    transaction_id: str
    member_id: UUID
    amount: str


class Account(Aggregate):
    @event("Opened")
    def __init__(self) -> None:
        self.balance = 0

    @event("Earned")
    def earn(self, transaction_id: str, points: int) -> None:
        self.balance += points


class NaiveLedger(Application):
    name = "Naive"


def naive_app() -> FastAPI:
    ledger = NaiveLedger(eventsourcing_env(os.environ["BENCH_DATABASE_URL"], 10))
    app = FastAPI()

    @app.post("/accounts", status_code=201)
    def open_account() -> dict:
        account = Account()
        ledger.save(account)
        return {"member_id": str(account.id)}

    @app.post("/purchases", status_code=201)
    def purchase(body: Purchase) -> dict:
        account = ledger.repository.get(body.member_id)
        account.earn(body.transaction_id, int(Decimal(body.amount)))
        ledger.save(account)
        return {"points": int(Decimal(body.amount)), "balance": account.balance}

    return app


SCHEMA = """
CREATE TABLE IF NOT EXISTS sql_accounts (member_id uuid PRIMARY KEY, balance bigint NOT NULL);
CREATE TABLE IF NOT EXISTS sql_journal (transaction_id text PRIMARY KEY, member_id uuid NOT NULL,
    points bigint NOT NULL, recorded_at timestamptz NOT NULL DEFAULT now());
"""


JOURNAL = "INSERT INTO sql_journal (transaction_id, member_id, points) VALUES (%s, %s, %s)"
BALANCE = "UPDATE sql_accounts SET balance = balance + %s WHERE member_id = %s RETURNING balance"
OPEN = "INSERT INTO sql_accounts VALUES (gen_random_uuid(), 0) RETURNING member_id"


def plain_sql_app() -> FastAPI:
    pool = ConnectionPool(os.environ["BENCH_DATABASE_URL"], min_size=10, max_size=10, open=True)
    with pool.connection() as conn:
        conn.execute(SCHEMA)
    app = FastAPI()

    @app.post("/accounts", status_code=201)
    def open_account() -> dict:
        with pool.connection() as conn:
            row = conn.execute(OPEN).fetchone()
        return {"member_id": str(row[0])}

    @app.post("/purchases", status_code=201)
    def purchase(body: Purchase) -> dict:
        points = int(Decimal(body.amount))
        with pool.connection() as conn, conn.transaction():
            conn.execute(JOURNAL, (body.transaction_id, body.member_id, points))
            balance = conn.execute(BALANCE, (points, body.member_id)).fetchone()[0]
        return {"points": points, "balance": balance}

    return app


def plain_sql_async_app() -> FastAPI:
    url = os.environ["BENCH_DATABASE_URL"]
    pool = AsyncConnectionPool(url, min_size=10, max_size=10, open=False)

    @asynccontextmanager
    async def lifespan(_: FastAPI):
        async with pool:
            async with pool.connection() as conn:
                await conn.execute(SCHEMA)
            yield

    app = FastAPI(lifespan=lifespan)

    @app.post("/accounts", status_code=201)
    async def open_account() -> dict:
        async with pool.connection() as conn:
            row = await (await conn.execute(OPEN)).fetchone()
        return {"member_id": str(row[0])}

    @app.post("/purchases", status_code=201)
    async def purchase(body: Purchase) -> dict:
        points = int(Decimal(body.amount))
        async with pool.connection() as conn, conn.transaction():
            await conn.execute(JOURNAL, (body.transaction_id, body.member_id, points))
            balance = (await (await conn.execute(BALANCE, (points, body.member_id))).fetchone())[0]
        return {"points": points, "balance": balance}

    return app
