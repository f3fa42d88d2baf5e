"""Which characters the bundled print fonts (static/fonts) can draw.

Every text a user types ends up in a printed report (PDF, Word). A character
no bundled font has would print as an empty box, and WeasyPrint would then
embed that font with a custom encoding that pypdf and pdfminer cannot read
(issue 12, items 12 and 13). So forms refuse such a character by name, and the
print path replaces any that is already stored with 〓 (U+3013, the mark
typesetters use for a missing character) so no glyph is ever missing.

The coverage is the union of the fonts' cmaps, read once, on first use.
"""
from __future__ import annotations

import unicodedata
from functools import cache
from pathlib import Path

from fontTools.ttLib import TTFont

FONT_DIR = Path(__file__).resolve().parent.parent / "static" / "fonts"

# The Han blocks: radicals, Kangxi radicals, description characters, strokes, Ext A,
# the unified ideographs, compatibility ideographs, then planes 2 and 3 (Ext B-I and
# the compatibility supplement). By block rather than by unicodedata's names, so
# Ext H and I (Unicode 15, newer than Python 3.11's tables) count as Han too.
HAN_RANGES = (
    (0x2E80, 0x2FDF), (0x2FF0, 0x2FFF), (0x31C0, 0x31EF), (0x3400, 0x4DBF),
    (0x4E00, 0x9FFF), (0xF900, 0xFAFF), (0x20000, 0x2FA1F), (0x30000, 0x323AF),
)
# Pictographs and dingbats, for a clearer message than "cannot print".
EMOJI_RANGES = ((0x2600, 0x27BF), (0x2B00, 0x2BFF), (0x1F000, 0x1FAFF))
# The Word document names these fonts for characters beyond the primary faces:
# the original family names, which an office PC may have installed.
WORD_FAMILIES = {
    "HanaMinA-QMExt.ttf": "HanaMinA",
    "HanaMinB-QMExt.ttf": "HanaMinB",
    "BabelStoneHan-QMExt.ttf": "BabelStone Han",
}
MISSING_MARK = "\u3013"  # 〓


def _in(ranges, code: int) -> bool:
    return any(low <= code <= high for low, high in ranges)


@cache
def font_cmaps() -> dict[str, frozenset[int]]:
    """{font file name: code points it maps}, for every font file in static/fonts."""
    cmaps = {}
    for path in sorted(FONT_DIR.iterdir()):
        if path.suffix.lower() in (".otf", ".ttf"):
            font = TTFont(path, lazy=True)
            # Only the code points are wanted, not glyph names: without a glyph order of its own,
            # fontTools reads the CFF charset and names every glyph first (0.6 s of each process's
            # first form check for these nine fonts; 0.15 s with plain names).
            font.setGlyphOrder([f"g{index}" for index in range(font["maxp"].numGlyphs)])
            cmaps[path.name] = frozenset(font.getBestCmap())
            font.close()
    return cmaps


@cache
def printable_code_points() -> frozenset[int]:
    """Every code point some bundled font draws."""
    return frozenset().union(*font_cmaps().values())


def is_drawn(char: str) -> bool:
    """Whether the character needs a glyph (spaces, controls, format characters and
    variation selectors do not: the text layout handles them without a font)."""
    code = ord(char)
    if 0xFE00 <= code <= 0xFE0F or 0xE0100 <= code <= 0xE01EF:
        return False
    return unicodedata.category(char)[0] not in "CZ" or unicodedata.category(char) in ("Co", "Cn", "Cs")


def is_printable(char: str) -> bool:
    """Whether the character prints as a real glyph from the bundled fonts (or needs none)."""
    return ord(char) in printable_code_points() or not is_drawn(char)


def unprintable_character_problem(value: str) -> str | None:
    """A Chinese message naming the first character no bundled font can print, or None."""
    for char in value:
        if is_printable(char):
            continue
        code = ord(char)
        label = f"U+{code:04X}"
        if unicodedata.category(char) in ("Cs", "Co", "Cn") and not _in(HAN_RANGES, code):
            return f"内容包含无法打印的字符（{label}），请删除后重试。"
        if _in(HAN_RANGES, code):
            return f"“{char}”（{label}）无法打印，请改用常用字或删除。"
        if _in(EMOJI_RANGES, code):
            return f"内容包含表情符号“{char}”（{label}），报告无法打印，请删除。"
        return f"“{char}”（{label}）无法打印，请改用其他字符或删除。"
    return None


def printable(text: str) -> str:
    """The text with every character no bundled font has replaced by 〓 (data stored
    before the input check), so the printed document never draws an empty box."""
    if all(is_printable(char) for char in text):
        return text
    return "".join(char if is_printable(char) else MISSING_MARK for char in text)


def word_family(char: str) -> str | None:
    """The family the Word document names for a character only an extension font has."""
    code = ord(char)
    for name, family in WORD_FAMILIES.items():
        if code in font_cmaps().get(name, ()):
            return family
    return None
