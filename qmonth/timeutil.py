"""Times are stored in UTC and shown and judged in Asia/Shanghai."""
from datetime import datetime, timezone
from zoneinfo import ZoneInfo

from sqlalchemy import DateTime
from sqlalchemy.types import TypeDecorator

LOCAL_TZ = ZoneInfo("Asia/Shanghai")


def utcnow() -> datetime:
    """Now, in UTC; shifted by the demo clock when the app runs with one (DEMO_CLOCK)."""
    now = datetime.now(timezone.utc)
    offset = _clock_offset()
    return now + offset if offset else now


def _clock_offset():
    from flask import current_app

    try:
        return current_app.config.get("CLOCK_OFFSET")
    except RuntimeError:  # outside an app context: the real clock
        return None


def demo_clock_offset(demo_clock: str):
    """The offset that makes the clock read `demo_clock` now and then run on from there.

    A demo of a past campaign (the 2024 one, shown in a later year) needs "now" inside
    the campaign so that the deadline lock and countdown behave as they did then.
    """
    start = datetime.fromisoformat(demo_clock)
    if start.tzinfo is None:
        start = start.replace(tzinfo=LOCAL_TZ)
    return start - datetime.now(timezone.utc)


def to_local(moment: datetime | None) -> datetime | None:
    if moment is None:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(LOCAL_TZ)


class UTCDateTime(TypeDecorator):
    """Stores aware datetimes as naive UTC and gives them back aware.

    SQLite keeps no zone, so every value is normalised to UTC on the way in.
    """

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given; use an aware one")
        return value.astimezone(timezone.utc).replace(tzinfo=None)

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        return value.replace(tzinfo=timezone.utc)


def format_local(moment: datetime | None, pattern: str = "%Y-%m-%d %H:%M") -> str:
    local = to_local(moment)
    return local.strftime(pattern) if local else ""


def format_date_cn(value) -> str:
    """2024年9月1日, as official documents write dates."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        value = to_local(value)
    return f"{value.year}年{value.month}月{value.day}日"
