"""Date and time helpers: Airtable writes timestamps as ``YYYY-MM-DDTHH:MM:SS.000Z`` (§0)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timezone
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError


def now_utc() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


def format_timestamp(moment: datetime) -> str:
    moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def zone(name: str | None) -> timezone | ZoneInfo:
    if not name or name in ("utc", "client"):
        return UTC
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return UTC


def parse_datetime(text: str, time_zone: str | None = None) -> datetime:
    """Parse an ISO 8601 date or date-time; zone-less values are read in ``time_zone`` (§6.3).

    Raises ValueError when the text is not ISO 8601.
    """
    text = text.strip()
    if len(text) == 10:
        day = date.fromisoformat(text)
        parsed = datetime(day.year, day.month, day.day)
    else:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00").replace(" ", "T", 1))
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=zone(time_zone))
    return parsed.astimezone(UTC)


def from_epoch_ms(value: float) -> datetime:
    return datetime.fromtimestamp(value / 1000.0, tz=UTC)
