"""Stored events are a storage contract: an old version is upcast when it is read back."""

from __future__ import annotations

from uuid import uuid4

from eventsourcing.domain import Aggregate
from eventsourcing.persistence import StoredEvent
from eventsourcing.utils import get_topic

from tests.integration.ledgers import open_ledger


class Voucher(Aggregate):
    """A test aggregate whose creation fact gained a field (`points`) in version 2."""

    class Issued(Aggregate.Created):
        class_version = 2
        code: str
        points: int

        @staticmethod
        def upcast_v1_v2(state: dict) -> None:
            state["points"] = 0

        def apply(self, voucher: "Voucher") -> None:
            voucher.code, voucher.points = self.code, self.points


def test_a_version_1_fact_stored_as_orjson_is_read_back_as_version_2(database_url, clean_db):
    ledger = open_ledger(database_url)
    voucher_id = uuid4()
    v1_state = {"timestamp": ledger.clock(), "originator_topic": get_topic(Voucher), "code": "WELCOME"}
    ledger.recorder.insert_events([StoredEvent(
        originator_id=voucher_id, originator_version=1, topic=get_topic(Voucher.Issued),
        state=ledger.mapper.transcoder.encode(v1_state))])
    voucher = ledger.repository.get(voucher_id)
    assert (voucher.code, voucher.points) == ("WELCOME", 0)
    ledger.close()


def test_a_version_2_fact_round_trips_with_its_class_version_stored(database_url, clean_db):
    ledger = open_ledger(database_url)
    voucher = Voucher._create(Voucher.Issued, id=uuid4(), code="VIP", points=30)
    ledger.save(voucher)
    stored = ledger.recorder.select_events(voucher.id)[0]
    assert ledger.mapper.transcoder.decode(stored.state)["class_version"] == 2
    assert ledger.repository.get(voucher.id).points == 30
    ledger.close()
