import pytest

from domain.errors import InvalidProgram
from domain.identities import normalise
from domain.errors import InvalidInput
from tests.unit.factories import rules


def problems_of(**overrides):
    with pytest.raises(InvalidProgram) as refusal:
        rules(**overrides)
    return {problem["field"] for problem in refusal.value.errors}


def test_the_default_program_is_valid_and_has_four_tiers():
    assert [tier.name for tier in rules().tiers] == ["base", "silver", "gold", "platinum"]


def test_tiers_must_start_at_zero_and_rise_with_unique_names():
    tiers = [{"name": "a", "min_spend": "10.00", "earn_multiplier": "1"},
             {"name": "a", "min_spend": "5.00", "earn_multiplier": "1"}]
    assert problems_of(tiers=tiers) == {"tiers", "tiers.0.min_spend"}


def test_every_problem_is_listed_not_just_the_first():
    found = problems_of(timezone="Mars/Olympus", return_policy="never", downgrade="down",
                        earn={"points": 1, "per_amount": "0", "category_multipliers": {"x": "-1"}})
    assert found == {"timezone", "return_policy", "downgrade", "earn.per_amount",
                     "earn.category_multipliers.x"}


def test_a_float_where_a_decimal_string_belongs_is_a_problem():
    assert problems_of(earn={"points": 1, "per_amount": 1.5, "category_multipliers": {}}) == {"earn.per_amount"}


def test_phone_numbers_lose_spaces_dashes_dots_and_parentheses_but_keep_the_plus():
    assert normalise("phone", " +86 (138) 0000-00.00 ") == "+8613800000000"


def test_emails_are_trimmed_and_lower_cased():
    assert normalise("email", "  Ana@Example.COM ") == "ana@example.com"


def test_an_unknown_identity_kind_is_refused():
    with pytest.raises(InvalidInput):
        normalise("passport", "X1")
