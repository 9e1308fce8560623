from domain.calendar import add_months, local_day
from tests.unit.factories import at


def test_31_january_plus_one_month_is_28_february():
    assert add_months(at("2027-01-31"), 1) == at("2027-02-28")


def test_31_january_plus_one_month_in_a_leap_year_is_29_february():
    assert add_months(at("2028-01-31"), 1) == at("2028-02-29")


def test_twelve_months_keeps_the_day_and_time():
    assert add_months(at("2026-03-15T10:30"), 12) == at("2027-03-15T10:30")


def test_a_shanghai_day_starts_at_16_00_utc_the_day_before():
    assert local_day(at("2026-11-21T15:59"), "Asia/Shanghai").isoformat() == "2026-11-21"
    assert local_day(at("2026-11-21T16:00"), "Asia/Shanghai").isoformat() == "2026-11-22"
