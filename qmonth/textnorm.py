"""Text normalisation shared by every form: trimmed, NFC, no control characters."""
from __future__ import annotations

import unicodedata

# Characters a user may legitimately type in a multi-line field.
_ALLOWED_CONTROLS_MULTILINE = {"\n", "\r", "\t"}


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
    """A Chinese message if the text holds control or invisible formatting characters."""
    for char in value:
        if multiline and char in _ALLOWED_CONTROLS_MULTILINE:
            continue
        category = unicodedata.category(char)
        if char == "\x00":
            return "内容包含空字符（NUL），请删除后重试。"
        if category == "Cc" or char in ("\u2028", "\u2029"):
            return "内容包含不可见的控制字符，请删除后重试。"
        if char in _BIDI_OVERRIDES:
            return "内容包含文字方向控制字符，请删除后重试。"
    return None


# Right-to-left overrides and isolates can disguise text (e.g. a file name "gpj.exe").
_BIDI_OVERRIDES = {"\u202a", "\u202b", "\u202c", "\u202d", "\u202e", "\u2066", "\u2067", "\u2068", "\u2069"}
