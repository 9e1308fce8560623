"""Who is due for a tick: members with a lot to activate or expire, or a tier term ending."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

import psycopg
from psycopg.rows import tuple_row

# Three arms, each served by its own partial index (see migrations/0001_read_models.sql).
_DUE = """
SELECT member_id FROM lots WHERE pending AND available_at <= %(as_of)s
UNION SELECT member_id FROM lots WHERE NOT pending AND expires_at <= %(as_of)s
UNION SELECT member_id FROM members WHERE status = 'active' AND tier_expires_at <= %(as_of)s
"""


def members_due(conn: psycopg.Connection, as_of: datetime) -> list[UUID]:
    with conn.cursor(row_factory=tuple_row) as cursor:
        return [row[0] for row in cursor.execute(_DUE, {"as_of": as_of})]
