"""A partition day as a UTC time interval."""

from datetime import UTC, date, datetime, timedelta


def day_bounds(day: date) -> tuple[datetime, datetime]:
    """The half-open UTC interval [start, end) of a partition day."""
    start = datetime(day.year, day.month, day.day, tzinfo=UTC)
    return start, start + timedelta(days=1)
