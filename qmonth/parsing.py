"""Numbers and dates from paths, query strings and forms: read strictly, bounded, never a 500.

Python's int() and date.fromisoformat() are generous in ways a request must not be:
int("٣") is 3, int() of 5,000 digits raises, "²".isdigit() is true but int("²") fails,
and fromisoformat() takes "20240901" and "2024-W36-1". Every number or date a user
can send goes through the functions here instead.
"""
from __future__ import annotations

import re
from datetime import date

from werkzeug.routing import IntegerConverter, ValidationError

# Every id and count column is a PostgreSQL `integer`: 2147483647 is the largest id there can be.
INT_MAX = 2_147_483_647

# Chinese input methods type full-width digits (１２０) and separators (，－): read them as ASCII.
FULL_WIDTH = str.maketrans("０１２３４５６７８９，－", "0123456789,-")

ISO_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def positive_int(value, maximum: int = INT_MAX) -> int | None:
    """A whole number 1..maximum written in plain ASCII digits (an id, a page), else None."""
    text = value.strip() if isinstance(value, str) else ""
    if not (text.isascii() and text.isdigit()) or len(text) > len(str(maximum)):
        return None
    number = int(text)
    return number if 1 <= number <= maximum else None


def positive_ints(values, maximum: int = INT_MAX) -> list[int]:
    """The plain positive numbers among values, in order and without repeats; the rest is dropped."""
    numbers = (positive_int(value, maximum) for value in values)
    return list(dict.fromkeys(number for number in numbers if number is not None))


class NumberError(ValueError):
    """A typed count that is not one: the message is the Chinese sentence for the field."""


def typed_count(raw, label: str, maximum: int) -> int | None:
    """A count >= 0 as typed in a form (full-width digits and thousands separators allowed).

    None when empty; NumberError with a Chinese message when it is not a whole number
    from 0 to maximum.
    """
    text = (raw or "").strip().translate(FULL_WIDTH).replace(",", "") if isinstance(raw, str) else ""
    if not text:
        return None
    digits = text[1:] if text.startswith("-") else text
    if not (digits.isascii() and digits.isdigit()):
        raise NumberError(f"{label}应为整数。")
    if text.startswith("-") and digits.strip("0"):
        raise NumberError(f"{label}不能小于 0。")
    # Compare lengths first: int() of thousands of digits is slow, and past 4,300 digits it raises.
    if len(digits.lstrip("0")) > len(str(maximum)) or int(digits) > maximum:
        raise NumberError(f"{label}不能超过 {maximum}。")
    return int(digits)


class DateError(ValueError):
    """A typed date that is malformed or outside the window allowed: the message is in Chinese."""


def iso_day(text: str) -> date:
    """Exactly YYYY-MM-DD in ASCII digits, as <input type=date> sends it; ValueError otherwise."""
    if not ISO_DAY.fullmatch(text):
        raise ValueError(f"not a YYYY-MM-DD date: {text!r}")
    return date.fromisoformat(text)


def typed_day(raw, label: str, earliest: date, latest: date) -> date | None:
    """A YYYY-MM-DD date in [earliest, latest]; None when empty, DateError with a Chinese message otherwise."""
    text = raw.strip() if isinstance(raw, str) else ""
    if not text:
        return None
    try:
        day = iso_day(text)
    except ValueError:
        example = date((earliest.year + latest.year) // 2, 9, 15)
        raise DateError(f"{label}格式不正确，应为“年-月-日”，如 {example:%Y-%m-%d}。") from None
    if not earliest <= day <= latest:
        raise DateError(f"{label}须在 {earliest:%Y-%m-%d} 至 {latest:%Y-%m-%d} 之间。")
    return day


def day_or_none(raw, earliest: date, latest: date) -> date | None:
    """A list filter's date: the same strict reading, and None (filter dropped) for anything wrong."""
    try:
        return typed_day(raw, "", earliest, latest)
    except DateError:
        return None


def year_window(year: int, before: int = 1, after: int = 1) -> tuple[date, date]:
    """From 1 January `before` years ahead of `year` to 31 December `after` years past it."""
    return date(year - before, 1, 1), date(year + after, 12, 31)


class IdConverter(IntegerConverter):
    """`<int:…>` in every route: ASCII digits, no leading zero, 1..INT_MAX; anything else is a 404.

    Werkzeug's own converter matches any Unicode digit (/activities/٣ opened activity 3) and
    any size (a 30-digit id reached the database and failed there with a 500).
    """

    regex = r"[1-9][0-9]{0,9}"

    def to_python(self, value: str) -> int:
        number = positive_int(value)
        if number is None:
            raise ValidationError()
        return number
