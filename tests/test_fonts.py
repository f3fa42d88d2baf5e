"""Checks on the vendored Chinese print fonts (static/fonts, static/css/fonts.css)."""
import re
import unicodedata
from functools import lru_cache
from pathlib import Path

from fontTools.ttLib import TTFont

ROOT = Path(__file__).resolve().parent.parent
FONT_DIR = ROOT / "static" / "fonts"
FONTS_CSS = ROOT / "static" / "css" / "fonts.css"
MAX_BYTES = 40 * 1000 * 1000  # "40 MB", read strictly (decimal)
EXPECTED_FAMILIES = {"qm-song", "qm-fang", "qm-hei", "qm-kai", "qm-fallback"}


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
    for name in ("LICENSE-Fandol.txt", "LICENSE-OFL-Noto.txt", "README.md"):
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
