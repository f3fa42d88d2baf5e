"""Text normalisation shared by every form: trimmed, NFC, no control characters.

Non-characters (U+FFFE, U+FFFF, U+FDD0–U+FDEF and the last two code points of every
plane) and lone surrogates are no text at all: forms refuse them, naming the code
point since they are invisible. XML-based files (XLSX, Word) cannot hold some of
them, so `file_text` turns whatever an older row still holds into U+FFFD.

No NUL character ever reaches the database: forms refuse it with the other control
characters (a message next to the field), and `refuse_nul_parameters`, hooked onto
the engine, refuses whatever a form did not check. PostgreSQL cannot store NUL in
text and fails the statement (a 500 if nothing stopped it); SQLite would keep it
silently.
"""
from __future__ import annotations

import re
import unicodedata

from werkzeug.exceptions import BadRequest
from wtforms.validators import ValidationError

from .fontcoverage import unprintable_character_problem

# Characters a user may legitimately type in a multi-line field.
_ALLOWED_CONTROLS_MULTILINE = {"\n", "\r", "\t"}

NUL_MESSAGE = "内容包含空字符（NUL），请删除后重试。"
REPLACEMENT_CHARACTER = "\ufffd"


def normalise_text(value: str | None, *, multiline: bool = False) -> str:
    """Trim, unify line breaks and compose to NFC (so 'é' typed two ways is one string)."""
    if value is None:
        return ""
    value = value.replace("\r\n", "\n").replace("\r", "\n")
    value = unicodedata.normalize("NFC", value)
    if not multiline:
        value = value.replace("\n", " ").replace("\t", " ")
    return value.strip()


def control_character_problem(value: str, *, multiline: bool = False) -> str | None:
    """A Chinese message if the text holds control or invisible formatting characters, or a
    character no bundled font prints (everything typed is printed, so it is refused by name)."""
    return invisible_character_problem(value, multiline=multiline) or unprintable_character_problem(value)


def invisible_character_problem(value: str, *, multiline: bool = False) -> str | None:
    """A Chinese message if the text holds control, direction or invalid characters."""
    for char in value:
        if multiline and char in _ALLOWED_CONTROLS_MULTILINE:
            continue
        category = unicodedata.category(char)
        if char == "\x00":
            return NUL_MESSAGE
        if category == "Cc" or char in ("\u2028", "\u2029"):
            return "内容包含不可见的控制字符，请删除后重试。"
        if char in _BIDI_OVERRIDES:
            return "内容包含文字方向控制字符，请删除后重试。"
        if is_invalid_code_point(char):
            return f"内容包含无效字符（U+{ord(char):04X}），请删除后重试。"
    return None


def is_invalid_code_point(char: str) -> bool:
    """A non-character or a lone surrogate: no text a person typed, and no file can hold all of them."""
    code = ord(char)
    return 0xD800 <= code <= 0xDFFF or 0xFDD0 <= code <= 0xFDEF or code & 0xFFFE == 0xFFFE


def file_text(value):
    """`value` ready for a file writer: in text, control characters other than tab and line
    breaks, non-characters and surrogates become U+FFFD (XML refuses several of them, and
    the rest is no text); anything else is returned unchanged. Input refuses all of these,
    so only rows stored before that rule still hold them."""
    if not isinstance(value, str):
        return value
    return _UNFIT_FOR_FILES.sub(REPLACEMENT_CHARACTER, value)


def search_text(value: str | None, limit: int) -> str:
    """A search box's text: control characters become spaces and invalid code points are
    dropped (a search ignores them instead of failing), runs of spaces become one,
    composed to NFC, at most `limit`. Characters the fonts lack stay: a search prints nothing."""
    value = unicodedata.normalize("NFC", value or "")
    # Invalid code points are dropped (they sit inside a word); controls separate words.
    value = "".join("" if is_invalid_code_point(char) else " " if invisible_character_problem(char) else char
                    for char in value)
    return " ".join(value.split())[:limit]


class CleanText:
    """Form validator: refuses control characters, for one-line or multi-line text."""

    def __init__(self, multiline: bool = False):
        self.multiline = multiline

    def __call__(self, form, field):
        problem = control_character_problem(field.raw_data[0] if field.raw_data else "", multiline=self.multiline)
        if problem:
            raise ValidationError(problem)


class NulCharacterRefused(BadRequest):
    """A NUL character on its way into the database (see the module's docstring)."""

    qmonth_message = "请求中包含空字符（NUL），无法处理。请删除后重试。"


def refuse_nul_parameters(conn, cursor, statement, parameters, context, executemany) -> None:
    """Engine hook (before_cursor_execute): no bound text value may hold a NUL."""
    if _holds_nul(parameters):
        raise NulCharacterRefused()


def _holds_nul(value) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_holds_nul(item) for item in value.values())
    if isinstance(value, (list, tuple)):
        return any(_holds_nul(item) for item in value)
    return False


# XML 1.0 refuses C0 controls but tab and line breaks, surrogates, U+FFFE and U+FFFF;
# the other non-characters go too, as input refuses them with the rest.
_UNFIT_FOR_FILES = re.compile(
    "[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufdd0-\ufdef"
    + "".join(f"{chr(plane << 16 | 0xFFFE)}{chr(plane << 16 | 0xFFFF)}" for plane in range(17)) + "]")

# Right-to-left overrides and isolates can disguise text (e.g. a file name "gpj.exe").
_BIDI_OVERRIDES = {"\u202a", "\u202b", "\u202c", "\u202d", "\u202e", "\u2066", "\u2067", "\u2068", "\u2069"}
