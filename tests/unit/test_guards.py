"""Guards are created and replayed by lean code: the same fact and the same aggregate as the
library's own `_create` and creation `mutate` make."""

from __future__ import annotations

from decimal import Decimal
from uuid import uuid5

from eventsourcing.domain import BaseAggregate, CanInitAggregate

from domain.guards import NAMESPACE, IdentityClaim, Purchase, Receipt, ReferralCode, guard_id

PURCHASE = dict(channel="pos", transaction_id="T-1", request_hash="h", member_id="m",
                member_version=2, amount=Decimal("12.80"), currency="CNY", points_earned=12,
                lot_id="lot-2", result={"points_earned": 12, "_program_version": 1})


def made_by_the_library(guard):
    """The guard the library's own `_create` makes from the same fields and timestamp."""
    [fact] = guard.pending_events
    fields = {k: v for k, v in vars(fact).items() if k not in ("originator_id", "originator_version",
                                                                "originator_topic")}
    return BaseAggregate._create.__func__(type(guard), type(fact), id=guard.id, **fields)


def test_every_guard_is_built_as_the_library_builds_it_and_as_its_replay_rebuilds_it():
    for guard in (Purchase.record(**PURCHASE), IdentityClaim.claim("card", "C-1", "m"),
                  ReferralCode.assign("CODE", "m"), Receipt.issue("redemption", "R-1", "h", "m", 3, {})):
        library = made_by_the_library(guard)
        assert list(vars(library.pending_events[0]).items()) == list(vars(guard.pending_events[0]).items())
        [fact] = guard.collect_events()
        library.collect_events()
        assert guard == library == fact.mutate(None) == CanInitAggregate.mutate(fact, None)


def test_a_purchase_guard_starts_with_nothing_returned():
    purchase = Purchase.record(**PURCHASE)
    assert (purchase.returned, purchase.owed, purchase.returns) == (Decimal("0.00"), 0, {})
    assert purchase.id == Purchase.id_for("pos", "T-1") and purchase.version == 1


def test_a_guard_id_is_the_uuid5_of_its_kind_and_key():
    for kind, key in [("purchase", "pos:T-1"), ("identity", "card:C-ü"), ("referral", ""),
                      ("program", "current")]:
        expected = uuid5(NAMESPACE, f"{kind}:{key}")
        made = guard_id(kind, key)
        assert (made, made.version, made.variant, made.is_safe, str(made), hash(made)) == \
            (expected, 5, expected.variant, expected.is_safe, str(expected), hash(expected))
