"""Checks on the vendored Chinese print fonts (static/fonts, static/css/fonts.css)."""
import re
import unicodedata
from functools import lru_cache
from pathlib import Path

from fontTools.ttLib import TTFont

ROOT = Path(__file__).resolve().parents[2]
FONT_DIR = ROOT / "static" / "fonts"
FONTS_CSS = ROOT / "static" / "css" / "fonts.css"
# 38.4 MB of GBK faces + 38.7 MB of Han beyond GBK (CJK Ext A-G), read strictly (decimal);
# see static/fonts/README.md for the sizes.
MAX_BYTES = 78 * 1000 * 1000
EXPECTED_FAMILIES = {"qm-song", "qm-fang", "qm-hei", "qm-kai", "qm-fallback", "qm-ext-a", "qm-ext-b", "qm-ext-g"}
EXTENSION_FAMILIES = ["qm-ext-a", "qm-ext-b", "qm-ext-g"]
PRINT_CSS = ROOT / "static" / "css" / "print.css"


def _font_faces():
    """[(family, file name)] for every @font-face in fonts.css."""
    css = re.sub(r"/\*.*?\*/", "", FONTS_CSS.read_text(encoding="utf-8"), flags=re.S)
    faces = []
    for block in re.findall(r"@font-face\s*{(.*?)}", css, flags=re.S):
        family = re.search(r"font-family:\s*([^;]+);", block).group(1).strip().strip("'\"")
        for url in re.findall(r"url\(\s*['\"]?([^'\")]+)['\"]?\s*\)", block):
            assert url.startswith("../fonts/"), url
            faces.append((family, url[len("../fonts/"):]))
    return faces


def _font_files():
    return sorted(p for p in FONT_DIR.iterdir() if p.suffix.lower() in (".otf", ".ttf"))


@lru_cache(maxsize=None)
def _cmaps():
    """{file name: set of code points}, loaded once (lazy: only cmap is parsed)."""
    cmaps = {}
    for path in _font_files():
        font = TTFont(path, lazy=True)
        cmaps[path.name] = frozenset(font.getBestCmap())
        font.close()
    return cmaps


@lru_cache(maxsize=None)
def _gbk_required():
    """GBK repertoire (non-ASCII), minus exempt characters.

    Returns (required code points, private-use code points).
    """
    required, pua = [], []
    for cp in range(0x80, 0x110000):
        if 0xD800 <= cp <= 0xDFFF:
            continue
        ch = chr(cp)
        try:
            ch.encode("gbk")
        except UnicodeEncodeError:
            continue
        cat = unicodedata.category(ch)
        if cat == "Co":
            pua.append(cp)
        elif cat in ("Cc", "Cs", "Cn") or ch.isspace():
            continue
        else:
            required.append(cp)
    return tuple(required), tuple(pua)


def test_total_size_within_budget():
    total = sum(p.stat().st_size for p in FONT_DIR.rglob("*") if p.is_file())
    assert total <= MAX_BYTES, f"static/fonts is {total} bytes > {MAX_BYTES}"


def test_no_web_font_formats():
    bad = [p.name for p in FONT_DIR.rglob("*") if p.suffix.lower() in (".woff", ".woff2")]
    assert not bad, bad


def test_licence_files_present():
    for name in ("LICENSE-Fandol.txt", "LICENSE-OFL-Noto.txt", "LICENSE-Hanazono.txt", "LICENSE-BabelStone.txt",
                 "README.md"):
        assert (FONT_DIR / name).is_file(), name


def test_css_fonts_exist_and_parse():
    faces = _font_faces()
    assert {family for family, _ in faces} == EXPECTED_FAMILIES
    for family, name in faces:
        path = FONT_DIR / name
        assert path.is_file(), f"{family}: {name} missing"
        font = TTFont(path, lazy=True)
        assert font["head"].unitsPerEm > 0
        assert font["maxp"].numGlyphs > 1
        assert font.getBestCmap(), name
        font.close()
    # every vendored font file is referenced by the CSS
    assert {p.name for p in _font_files()} == {name for _, name in faces}


def test_the_input_checks_coverage_is_each_fonts_own_cmap():
    """qmonth.fontcoverage reads the cmaps with plain glyph names (fast); the code points must be
    exactly those fontTools maps with the fonts' real glyph names."""
    from qmonth.fontcoverage import font_cmaps

    assert font_cmaps() == _cmaps()


def test_every_gbk_character_is_covered():
    required, pua = _gbk_required()
    assert len(required) > 21000  # sanity: Python's GBK codec has 21 791 non-ASCII chars
    union = frozenset().union(*_cmaps().values())
    missing = [cp for cp in required if cp not in union]
    detail = " ".join(f"U+{cp:04X}({chr(cp)})" for cp in missing[:500])
    assert not missing, f"{len(missing)} GBK characters in no vendored font: {detail}"
    # Private Use Area characters are exempt; Python's GBK codec maps none.
    print(f"GBK required={len(required)} PUA(exempt)={len(pua)}")


def test_fallback_alone_covers_gbk():
    """qm-fallback must cover every GBK char, whatever the primary face lacks."""
    required, _ = _gbk_required()
    fallback = [name for family, name in _font_faces() if family == "qm-fallback"]
    union = frozenset().union(*(_cmaps()[n] for n in fallback))
    missing = [cp for cp in required if cp not in union]
    assert not missing, " ".join(f"U+{cp:04X}({chr(cp)})" for cp in missing[:500])


def _assigned(low: int, high: int) -> set[int]:
    return {cp for cp in range(low, high + 1) if unicodedata.category(chr(cp)) != "Cn"}


def test_han_beyond_gbk_is_covered_block_by_block():
    """Names of people and places (GB 18030-2022) reach into CJK Ext A-G."""
    union = frozenset().union(*_cmaps().values())
    blocks = {  # block: (first, last, code points that must be covered, Unicode 14 tables)
        "URO": (0x4E00, 0x9FFF, 20992), "Ext A": (0x3400, 0x4DBF, 6592), "Ext B": (0x20000, 0x2A6DF, 42720),
        "Ext C": (0x2A700, 0x2B73F, 4153), "Ext D": (0x2B740, 0x2B81F, 222), "Ext E": (0x2B820, 0x2CEAF, 5762),
        "Ext F": (0x2CEB0, 0x2EBEF, 7473), "Compatibility": (0xF900, 0xFAFF, 472),
        "Compatibility Supplement": (0x2F800, 0x2FA1F, 542), "Ext G": (0x30000, 0x3134F, 3045),
    }
    for block, (low, high, required) in blocks.items():
        have = len(_assigned(low, high) & union)
        assert have >= required, f"{block}: {have} of {required}"
    assert 0x2A6A5 in union and 0x20BB7 in union  # 𪚥 𠮷


def _unicode_ranges():
    """{family: set of code points of its unicode-range} for the extension faces."""
    css = re.sub(r"/\*.*?\*/", "", FONTS_CSS.read_text(encoding="utf-8"), flags=re.S)
    ranges = {}
    for block in re.findall(r"@font-face\s*{(.*?)}", css, flags=re.S):
        family = re.search(r"font-family:\s*([^;]+);", block).group(1).strip()
        found = re.search(r"unicode-range:\s*([^;]+);", block)
        if found:
            points = set()
            for part in found.group(1).split(","):
                low, _, high = part.strip()[2:].partition("-")
                points |= set(range(int(low, 16), int(high or low, 16) + 1))
            ranges[family] = points
    return ranges


def test_extension_faces_load_only_for_their_characters_and_never_claim_anothers():
    # WeasyPrint takes unicode-range as the face's whole charset: a range claiming a character
    # another extension face draws would print it as a missing glyph.
    ranges = _unicode_ranges()
    assert set(ranges) == set(EXTENSION_FAMILIES)  # the large files only through unicode-range
    files = {family: name for family, name in _font_faces()}
    for family in EXTENSION_FAMILIES:
        assert _cmaps()[files[family]] <= ranges[family], family
        for other, cmap in _cmaps().items():
            if other != files[family]:
                assert not ranges[family] & cmap, (family, other)
    # so never for common text: no GBK character, no ASCII
    gbk, _ = _gbk_required()
    assert not set().union(*ranges.values()) & (set(gbk) | set(range(0x80)))


def test_every_print_font_stack_ends_with_the_extension_faces():
    for path in (PRINT_CSS, ROOT / "qmonth" / "charts.py"):
        stacks = re.findall(r"qm-fallback[^;\n\"]*", path.read_text(encoding="utf-8"))
        assert stacks, path
        for stack in stacks:
            assert stack.startswith("qm-fallback, qm-ext-a, qm-ext-b, qm-ext-g,"), (path.name, stack)
