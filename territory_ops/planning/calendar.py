"""When passes run: the first business day of a month, quarterly full and monthly micro.

A business day is a weekday that is not a public holiday of the configured country (the
``holidays`` package) nor one of the extra dates. Full passes run in January, April, July and
October; micro passes in the other eight months, so the two never fall on one day.
"""

from __future__ import annotations

from collections.abc import Container
from datetime import date, timedelta
from functools import lru_cache

from territory_ops.planning.config import ScheduleSettings

FULL_PASS_MONTHS: tuple[int, ...] = (1, 4, 7, 10)
MICRO_PASS_MONTHS: tuple[int, ...] = tuple(m for m in range(1, 13) if m not in FULL_PASS_MONTHS)


def holiday_dates(settings: ScheduleSettings, years: range) -> frozenset[date]:
    return _country_holidays(settings.holiday_country, tuple(years)) | set(settings.extra_holidays)


@lru_cache(maxsize=32)
def _country_holidays(country: str, years: tuple[int, ...]) -> frozenset[date]:
    # building a country's calendar costs ~0.3 s; a schedule asks for it on every tick
    if not country:
        return frozenset()
    import holidays

    return frozenset(holidays.country_holidays(country, years=list(years)))


def first_business_day(year: int, month: int, holidays: Container[date]) -> date:
    day = date(year, month, 1)
    while day.weekday() >= 5 or day in holidays:
        day += timedelta(days=1)
    return day


def pass_kind_of_month(month: int) -> str:
    return "full" if month in FULL_PASS_MONTHS else "micro"


def scheduled_pass(day: date, settings: ScheduleSettings) -> str | None:
    """ "full" / "micro" when ``day`` is its month's first business day, else None."""
    holidays = holiday_dates(settings, range(day.year, day.year + 1))
    if day != first_business_day(day.year, day.month, holidays):
        return None
    return pass_kind_of_month(day.month)


def next_month_start(day: date) -> date:
    """The first day of the month after ``day``."""
    return date(day.year + day.month // 12, day.month % 12 + 1, 1)


def next_quarter_start(day: date) -> date:
    """The first day of the planning quarter after ``day``'s (quarters open with a full pass)."""
    later = [m for m in FULL_PASS_MONTHS if m > day.month]
    return date(day.year, later[0], 1) if later else date(day.year + 1, FULL_PASS_MONTHS[0], 1)
