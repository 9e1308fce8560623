"""A timeline fact's `data`: its own fields, value objects as plain dicts, nothing else."""

from dataclasses import dataclass
from datetime import datetime, timezone
from decimal import Decimal
from types import SimpleNamespace
from uuid import uuid4

from domain.earning import Item
from domain.lots import Lot
from tally.timeline import fact_data

MOMENT = datetime(2026, 1, 2, tzinfo=timezone.utc)
LOT = Lot(lot_id="48062171e034-2", source="purchase", remaining=12, earned_at=MOMENT,
          available_at=MOMENT, expires_at=None, pending=False)


@dataclass(frozen=True)
class Note:
    text: str


def a_fact(**fields):
    return SimpleNamespace(originator_id=uuid4(), originator_version=2, timestamp=MOMENT,
                           occurred_at=MOMENT, actor={"name": "t-1"}, **fields)


def test_the_envelope_fields_are_left_out_and_scalars_kept_as_they_are():
    data = fact_data(a_fact(transaction_id="T-1", points=12, amount=Decimal("12.80"),
                            store_id=None, refunded_at=MOMENT))
    assert data == {"transaction_id": "T-1", "points": 12, "amount": Decimal("12.80"),
                    "store_id": None, "refunded_at": MOMENT}


def test_a_lot_becomes_a_dict_of_its_fields():
    assert fact_data(a_fact(lot=LOT))["lot"] == {
        "lot_id": "48062171e034-2", "source": "purchase", "remaining": 12, "earned_at": MOMENT,
        "available_at": MOMENT, "expires_at": None, "pending": False}


def test_a_lot_as_data_names_every_field_a_lot_has():
    assert list(fact_data(a_fact(lot=LOT))["lot"]) == list(Lot.__dataclass_fields__)


def test_value_objects_in_lists_and_dicts_and_of_one_field_become_dicts_too():
    data = fact_data(a_fact(items=[Item("A1", None, Decimal("2.50"))], taken={"lot": LOT},
                            note=Note("late")))
    assert data["items"] == [{"sku": "A1", "category": None, "amount": Decimal("2.50"),
                              "quantity": 1}]
    assert (data["taken"]["lot"]["remaining"], data["note"]) == (12, {"text": "late"})


def test_the_fact_itself_is_left_unchanged():
    fact = a_fact(lot=LOT, items=[])
    fact_data(fact)["items"].append("x")
    assert (fact.lot, fact.items, fact.originator_version) == (LOT, [], 2)
