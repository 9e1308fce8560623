"""Calendar arithmetic the rules need: months with month-end clamping, local days."""

from __future__ import annotations

import calendar as _calendar
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo


def add_months(moment: datetime, months: int) -> datetime:
    """`moment` plus calendar months; 31 Jan + 1 month is the last day of February."""
    index = moment.month - 1 + months
    year, month = moment.year + index // 12, index % 12 + 1
    day = moment.day
    if day > 28:
        day = min(day, _calendar.monthrange(year, month)[1])
    return moment.replace(year=year, month=month, day=day)


def add_days(moment: datetime, days: int) -> datetime:
    return moment + timedelta(days=days)


def local_day(moment: datetime, timezone: str) -> date:
    """The calendar day `moment` falls on in `timezone`."""
    return moment.astimezone(ZoneInfo(timezone)).date()
