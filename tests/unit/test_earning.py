from decimal import Decimal

from domain.earning import Item, purchase_points
from tests.unit.factories import rules


def test_a_purchase_earns_one_point_per_whole_currency_unit_rounded_down():
    assert purchase_points(rules(), Decimal("120.99"), [], "base") == 120


def test_category_multipliers_apply_per_item_and_the_total_is_floored_once():
    program = rules(earn={"points": 1, "per_amount": "1.00", "category_multipliers": {"coffee": "1.5"}})
    items = [Item("A1", "coffee", Decimal("33.33")), Item("B7", "bakery", Decimal("10.01"))]
    # 33.33 × 1.5 = 49.995, + 10.01 = 60.005 → 60
    assert purchase_points(program, Decimal("43.34"), items, "base") == 60


def test_the_tier_multiplier_of_the_tier_held_applies():
    assert purchase_points(rules(), Decimal("100.00"), [], "silver") == 125
    assert purchase_points(rules(), Decimal("100.00"), [], "platinum") == 200


def test_per_amount_divides_before_the_points_multiply():
    program = rules(earn={"points": 3, "per_amount": "10.00", "category_multipliers": {}})
    assert purchase_points(program, Decimal("129.99"), [], "base") == 38


def test_points_are_exact_when_per_amount_does_not_divide_evenly():
    # 10 / 3 × 3 is 10; in 60-digit decimals it came to 9.99… and floored to 9
    program = rules(earn={"points": 3, "per_amount": "3.00", "category_multipliers": {}})
    assert purchase_points(program, Decimal("10.00"), [], "base") == 10
    assert purchase_points(program, Decimal("10.00"), [Item("A1", None, Decimal("10.00"))], "base") == 10
    assert purchase_points(program, Decimal("9.99"), [], "base") == 9
