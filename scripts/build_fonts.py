#!/usr/bin/env python3
"""Rebuild the vendored Chinese print fonts in static/fonts/ from Debian packages.

Not run at setup time: the output files are committed.  This script only
documents (and can reproduce) how they were made.

Sources (Debian 12 "bookworm"):
  * texlive-lang-chinese  -> Fandol OTFs, copied byte-for-byte (GPL-3 + font exception)
  * fonts-noto-cjk        -> Noto Serif CJK SC, subset to GBK and Noto's other
                             non-Han, non-Hangul characters (SIL OFL 1.1).
                             Noto CJK maps every GBK character except U+2252 "≒";
                             that glyph is composed from Noto's own "＝" (U+FF1D)
                             bars and one dot of "∵" (U+2235) and added to the
                             subset, so a single fallback file covers all of GBK.
  * fonts-hanazono        -> HanaMinA / HanaMinB, subset to the Han characters
                             beyond GBK (CJK Ext A-F, compatibility ideographs and
                             their supplement, radicals, strokes) that the files
                             above lack (Hanazono Font License or SIL OFL 1.1).
  * fonts-babelstone-han  -> BabelStone Han, subset to the Han characters none of
                             the above has (mostly CJK Ext G) (Arphic Public
                             License + CC BY-SA).

Usage (on Debian 12 with fonts-noto-cjk installed):

    .venv/bin/python scripts/build_fonts.py                 # runs `apt-get download`
    .venv/bin/python scripts/build_fonts.py --deb /tmp/texlive-lang-chinese_*.deb \
        --deb /tmp/fonts-hanazono_*.deb --deb /tmp/fonts-babelstone-han_*.deb

The .debs are only unpacked into a temporary folder, never installed (an
installed Hanazono would let fontconfig hide gaps of the bundled set).
The whole run takes ~3-4 min and ~1.5 GB RAM; the output is byte-for-byte
reproducible (SHA-256 sums in static/fonts/README.md).
"""
from __future__ import annotations

import argparse
import bisect
import glob
import gzip
import hashlib
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from fontTools import subset
from fontTools.pens.boundsPen import BoundsPen
from fontTools.pens.recordingPen import RecordingPen
from fontTools.pens.t2CharStringPen import T2CharStringPen
from fontTools.pens.transformPen import TransformPen
from fontTools.ttLib import TTCollection, TTFont

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from qmonth.fontcoverage import HAN_RANGES  # noqa: E402  (one definition of "Han")

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "static" / "fonts"

FANDOL_DIR = "usr/share/texlive/texmf-dist/fonts/opentype/public/fandol"
FANDOL_DOC = "usr/share/doc/texlive-doc/fonts/fandol"
# Only the faces the print CSS uses (FandolSong-Regular would not fit the
# 40 MB budget together with the Noto fallback; 小标宋 maps to FandolSong-Bold).
FANDOL_FILES = [
    "FandolSong-Bold.otf",     # qm-song  (title, 小标宋 substitute)
    "FandolFang-Regular.otf",  # qm-fang  (body, 仿宋)
    "FandolHei-Regular.otf",   # qm-hei   (level-1 headings, 黑体)
    "FandolHei-Bold.otf",      # qm-hei   bold
    "FandolKai-Regular.otf",   # qm-kai   (level-2 headings, 楷体)
]

NOTO_TTC = "/usr/share/fonts/opentype/noto/NotoSerifCJK-Regular.ttc"
NOTO_FACE = "Noto Serif CJK SC"
NOTO_OUT = "NotoSerifCJKsc-Regular-GBK.otf"
NOTO_FAMILY = "Noto Serif CJK SC GBK"
NOTO_PSNAME = "NotoSerifCJKsc-Regular-GBK"
NOTO_COPYRIGHT = "/usr/share/doc/fonts-noto-cjk/copyright"

# Left out of the Noto subset: 11 000 syllables no Chinese report needs (refused at input).
HANGUL_RANGES = ((0x1100, 0x11FF), (0x3130, 0x318F), (0xA960, 0xA97F), (0xAC00, 0xD7FF))
# Han beyond GBK: (file, family in the PDF and in fontconfig, PostScript name).
EXT_FONTS = [
    ("HanaMinA-QMExt.ttf", "HanaMinA QM Ext", "HanaMinA-QMExt"),
    ("HanaMinB-QMExt.ttf", "HanaMinB QM Ext", "HanaMinB-QMExt"),
    ("BabelStoneHan-QMExt.ttf", "BabelStone Han QM Ext", "BabelStoneHan-QMExt"),
]


FONT_EXCEPTION = """\
As a special exception, if you create a document which uses this font, and
embed this font or unaltered portions of this font into the document, this
font does not by itself cause the resulting document to be covered by the
GNU General Public License. This exception does not however invalidate any
other reasons why the document might be covered by the GNU General Public
License. If you modify this font, you may extend this exception to your
version of the font, but you are not obligated to do so. If you do not
wish to do so, delete this exception statement from your version.
"""


def gbk_repertoire() -> list[int]:
    """All non-ASCII code points c with chr(c).encode('gbk') succeeding."""
    cps = []
    for cp in range(0x80, 0x110000):
        if 0xD800 <= cp <= 0xDFFF:
            continue
        try:
            chr(cp).encode("gbk")
        except UnicodeEncodeError:
            continue
        cps.append(cp)
    return cps


def sh(*cmd: str, cwd: str | None = None) -> str:
    print("+", " ".join(cmd), file=sys.stderr)
    return subprocess.run(cmd, cwd=cwd, check=True, capture_output=True, text=True).stdout


def pkg_version(pkg: str) -> str:
    return sh("dpkg-query", "-W", "-f=${Version}", pkg).strip()


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def deb822_license(copyright_path: str, files_pattern: str = "*") -> str:
    """Extract the `Files: <pattern>` stanza and its License text from a
    machine-readable debian/copyright file, un-indented."""
    text = Path(copyright_path).read_text(encoding="utf-8")
    paras = re.split(r"\n\s*\n", text)
    files_para = next(p for p in paras if re.match(rf"Files:\s*{re.escape(files_pattern)}\s*$", p, re.M))
    lic_name = re.search(r"^License:\s*(\S+)", files_para, re.M).group(1)
    body = None
    if not re.search(r"^License:.*\n ", files_para, re.M):  # licence text in standalone para
        body = next(p for p in paras if p.startswith(f"License: {lic_name}"))
    def unfold(p: str) -> str:
        out = []
        for line in p.splitlines():
            if line.startswith(" "):
                line = line[1:]
                out.append("" if line == "." else line)
            else:
                out.append(line)
        return "\n".join(out)
    res = unfold(files_para)
    if body:
        res += "\n\n" + unfold(body)
    return res + "\n"


def rename(font: TTFont, family: str, psname: str, note: str) -> None:
    """Give a modified font its own names (so it never collides with the
    system-installed original in fontconfig and is recognisable in PDFs)."""
    name = font["name"]
    for rec in list(name.names):
        if rec.nameID in (1, 3, 4, 6, 16, 17, 18, 21, 22):
            name.removeNames(nameID=rec.nameID)
    name.setName(family, 1, 3, 1, 0x409)
    name.setName("Regular", 2, 3, 1, 0x409)
    name.setName(f"{psname};{note}", 3, 3, 1, 0x409)
    name.setName(family, 4, 3, 1, 0x409)
    name.setName(psname, 6, 3, 1, 0x409)
    # Mac-platform copies, for tools that only read those.
    name.setName(family, 1, 1, 0, 0)
    name.setName(family, 4, 1, 0, 0)
    name.setName(psname, 6, 1, 0, 0)
    if "CFF " in font:
        cff = font["CFF "].cff
        cff.fontNames = [psname]
        top = cff.topDictIndex[0]
        for attr in ("FullName", "FamilyName"):
            if hasattr(top, attr):
                setattr(top, attr, family)
    if "post" in font and font["post"].formatType == 2.0:
        pass  # glyph names unaffected


def add_approx_image_of(font: TTFont) -> str:
    """Add U+2252 ≒ (GBK A8 50) to the CID-keyed CFF subset of Noto Serif CJK.

    Noto CJK has no glyph for it.  Compose it from the font's own outlines:
    the two bars of ＝ (U+FF1D) plus a scaled copy of one dot of ∵ (U+2235)
    above the left end and below the right end.  (Putting a second font into
    the qm-fallback family with unicode-range does not work in WeasyPrint 70:
    faces with the same family/weight/style are merged into one PDF font and
    the wrong glyph is drawn.)
    """
    cmap = font.getBestCmap()
    gs = font.getGlyphSet()
    top = font["CFF "].cff.topDictIndex[0]
    charstrings = top.CharStrings
    eq, because = cmap[0xFF1D], cmap[0x2235]

    bars = RecordingPen()
    gs[eq].draw(bars)
    bp = BoundsPen(gs)
    gs[eq].draw(bp)
    x0, y0, x1, y1 = bp.bounds
    bar_thickness = 44  # Noto Serif CJK Regular math bars

    rec = RecordingPen()
    gs[because].draw(rec)
    dot, cur = RecordingPen(), []
    for op, args in rec.value:  # first contour of ∵ = one dot
        cur.append((op, args))
        if op in ("closePath", "endPath"):
            break
    dot.value = cur
    bp = BoundsPen(None)
    dot.replay(bp)
    dx0, dy0, dx1, dy1 = bp.bounds
    scale = 0.62                                   # dot diameter ~85 units
    diam = (dx1 - dx0) * scale
    gap = (y1 - y0 - 2 * bar_thickness) * 0.45     # dot-to-bar distance
    centres = ((x0 + diam / 2 + 10, y1 + gap + diam / 2),
               (x1 - diam / 2 - 10, y0 - gap - diam / 2))

    width = font["hmtx"][eq][0]
    private = charstrings[eq].private
    pen = T2CharStringPen(None if width == private.defaultWidthX else width - private.nominalWidthX, gs)
    bars.replay(pen)
    mx, my = (dx0 + dx1) / 2, (dy0 + dy1) / 2
    for cx, cy in centres:
        dot.replay(TransformPen(pen, (scale, 0, 0, scale, cx - mx * scale, cy - my * scale)))
    new = pen.getCharString(private=private, globalSubrs=charstrings.globalSubrs)

    name = "cid65534"  # unused CID (< CIDCount 65535), ROS Adobe-Identity-0
    assert name not in charstrings
    order = list(font.getGlyphOrder())
    charstrings.charStringsIndex.append(new)
    charstrings.charStrings[name] = len(charstrings.charStringsIndex) - 1
    top.charset.append(name)  # may be the very list object used as glyph order
    top.FDSelect.append(top.FDSelect[order.index(eq)])
    font.setGlyphOrder(order + [name])

    bp = BoundsPen(None)
    new.draw(bp)
    font["hmtx"].metrics[name] = (width, round(bp.bounds[0]))
    if "vmtx" in font:
        adv, tsb = font["vmtx"][eq]
        font["vmtx"].metrics[name] = (adv, tsb + round(y1 - bp.bounds[3]))
    for table in font["cmap"].tables:
        if table.isUnicode():
            table.cmap[0x2252] = name
    return name


def subset_font(font: TTFont, unicodes: list[int], features: list[str]) -> None:
    opts = subset.Options()
    opts.layout_features = features   # keep vertical forms only; drops locl/aalt closure
    opts.name_IDs = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14]
    opts.name_languages = [0x409, 0]
    opts.notdef_outline = True
    opts.recalc_timestamp = False
    s = subset.Subsetter(opts)
    s.populate(unicodes=unicodes)
    s.subset(font)


def unpack(package: str, debs: list[str], tmp: str) -> tuple[Path, str]:
    """Unpack the given (or freshly downloaded) .deb of `package`; return its root and version."""
    deb = next((d for d in debs if Path(d).name.startswith(f"{package}_")), None)
    if deb is None:
        sh("apt-get", "download", package, cwd=tmp)
        deb = glob.glob(os.path.join(tmp, f"{package}_*.deb"))[0]
    root = Path(tmp) / package
    sh("dpkg-deb", "-x", deb, str(root))
    return root, sh("dpkg-deb", "-f", deb, "Version").strip()


def han_code_points() -> list[int]:
    """Every code point of the Han blocks (qmonth/fontcoverage.py HAN_RANGES), assigned or not."""
    return [cp for lo, hi in HAN_RANGES for cp in range(lo, hi + 1)]


def build_extension_font(source: Path, wanted: set[int], spec: tuple[str, str, str], note: str,
                         out: Path) -> set[int]:
    """Subset a TrueType Han font to the wanted code points it has, renamed; return those code points."""
    file_name, family, psname = spec
    font = TTFont(source, recalcTimestamp=False)
    have = sorted(wanted & set(font.getBestCmap()))
    opts = subset.Options()
    opts.layout_features = []      # single ideographs: no shaping needed
    opts.hinting = False           # print only; PDF viewers do not run TrueType hints
    opts.name_IDs = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14]
    opts.name_languages = [0x409, 0]
    opts.notdef_outline = True
    opts.recalc_timestamp = False
    s = subset.Subsetter(opts)
    s.populate(unicodes=have)
    s.subset(font)
    rename(font, family, psname, note)
    font.save(out / file_name)
    check = TTFont(out / file_name, lazy=True)
    assert set(check.getBestCmap()) >= set(have)
    return set(have)


def covered(paths) -> set[int]:
    """The union of the cmaps of the given font files."""
    union: set[int] = set()
    for path in paths:
        font = TTFont(path, lazy=True)
        union |= set(font.getBestCmap())
        font.close()
    return union


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--deb", action="append", default=[],
                    help="a .deb of texlive-lang-chinese, fonts-hanazono or fonts-babelstone-han "
                         "(repeatable; default: apt-get download into a temp dir)")
    ap.add_argument("--out", default=str(OUT))
    args = ap.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)

    with tempfile.TemporaryDirectory() as tmp:
        root, tl_version = unpack("texlive-lang-chinese", args.deb, tmp)

        # 1. Fandol: verbatim copies.
        for fn in FANDOL_FILES:
            shutil.copyfile(root / FANDOL_DIR / fn, out / fn)
        readme = (root / FANDOL_DOC / "README").read_text(encoding="utf-8")
        gpl = gzip.open(root / FANDOL_DOC / "COPYING.gz", "rt", encoding="utf-8").read()
        (out / "LICENSE-Fandol.txt").write_text(
            "Fandol fonts (FandolSong, FandolHei, FandolFang, FandolKai), version 0.3\n"
            "Copyright (c) 2012-2013, the Fandol team (Clerk Ma & Jie Su).\n"
            f"Taken from Debian package texlive-lang-chinese {tl_version},\n"
            f"  /{FANDOL_DIR}/\n\n"
            f"==== /{FANDOL_DOC}/README (verbatim) ====\n\n{readme}\n"
            "==== GPL font exception ====\n\n"
            "The README above states the licence is \"GPL + GPL font exception\"; the\n"
            "package does not ship the exception wording itself.  The standard font\n"
            "exception (GPL FAQ, Free Software Foundation) reads:\n\n"
            f"{FONT_EXCEPTION}\n"
            f"==== /{FANDOL_DOC}/COPYING (verbatim) ====\n\n{gpl}",
            encoding="utf-8",
        )

        gbk = gbk_repertoire()

        # 2. Noto Serif CJK SC, subset to GBK (+ ASCII, NBSP) and the other non-Han, non-Hangul
        #    characters Noto has (accented Latin, ✓, ®, enclosed numbers…: what a form accepts
        #    must print), plus a composed ≒.
        coll = TTCollection(NOTO_TTC, lazy=True)
        idx = next(i for i, f in enumerate(coll.fonts) if f["name"].getDebugName(4) == NOTO_FACE)
        coll.close()
        noto = TTFont(NOTO_TTC, fontNumber=idx, recalcTimestamp=False)
        symbols = {cp for cp in noto.getBestCmap()
                   if not any(lo <= cp <= hi for lo, hi in HAN_RANGES + HANGUL_RANGES)}
        wanted = sorted(set(gbk) | set(range(0x20, 0x7F)) | {0xA0} | symbols)
        subset_font(noto, wanted, ["vert", "vrt2"])
        missing = [cp for cp in gbk if cp not in noto.getBestCmap() and not chr(cp).isspace()]
        print("GBK chars Noto CJK lacks:", " ".join(f"U+{cp:04X}" for cp in missing), file=sys.stderr)
        assert missing == [0x2252], "unexpected: Noto CJK changed; revisit add_approx_image_of()"
        add_approx_image_of(noto)
        rename(noto, NOTO_FAMILY, NOTO_PSNAME,
               f"GBK+symbols subset of fonts-noto-cjk {pkg_version('fonts-noto-cjk')}, U+2252 added")
        noto.save(out / NOTO_OUT)
        noto = TTFont(out / NOTO_OUT)  # round-trip check
        assert all(cp in noto.getBestCmap() for cp in gbk if not chr(cp).isspace())
        copyright0 = noto["name"].getDebugName(0)

        # 3. Han beyond GBK: Hanazono Mincho A (BMP, compatibility supplement), B (Ext B-F),
        #    then BabelStone Han for what both lack (mostly Ext G). Disjoint subsets, so the
        #    order of the families in a stack never matters and each unicode-range is exact.
        han = set(han_code_points())
        missing_han = han - covered(out / fn for fn in FANDOL_FILES + [NOTO_OUT])
        hana, hana_version = unpack("fonts-hanazono", args.deb, tmp)
        babel, babel_version = unpack("fonts-babelstone-han", args.deb, tmp)
        hana_dir = hana / "usr/share/fonts/truetype/hanazono"
        bmp_and_compat = {cp for cp in missing_han if cp < 0x10000 or 0x2F800 <= cp <= 0x2FA1F}
        ext_b_to_f = {cp for cp in missing_han if 0x20000 <= cp <= 0x2EE5F}
        got_a = build_extension_font(hana_dir / "HanaMinA.ttf", bmp_and_compat, EXT_FONTS[0],
                                     f"Han subset of fonts-hanazono {hana_version}", out)
        got_b = build_extension_font(hana_dir / "HanaMinB.ttf", ext_b_to_f, EXT_FONTS[1],
                                     f"Ext B-F subset of fonts-hanazono {hana_version}", out)
        got_g = build_extension_font(babel / "usr/share/fonts/truetype/babelstone/BabelStoneHan.ttf",
                                     missing_han - got_a - got_b, EXT_FONTS[2],
                                     f"Han subset of fonts-babelstone-han {babel_version}", out)
        fonts = FANDOL_FILES + [NOTO_OUT] + [spec[0] for spec in EXT_FONTS]
        for (file_name, family, _), got in zip(EXT_FONTS, (got_a, got_b, got_g)):
            others = covered(out / fn for fn in fonts if fn != file_name)
            print(f"{file_name}: {len(got)} code points; unicode-range: {unicode_range(got, others)}")
        left = missing_han - got_a - got_b - got_g
        print(f"Han code points in no bundled font: {len(left)}", file=sys.stderr)
        shutil.copyfile(hana / "usr/share/doc/fonts-hanazono/copyright", out / "LICENSE-Hanazono.txt")
        shutil.copyfile(babel / "usr/share/doc/fonts-babelstone-han/copyright", out / "LICENSE-BabelStone.txt")

    # 4. Licence texts for the subset fonts.
    (out / "LICENSE-OFL-Noto.txt").write_text(
        f"{NOTO_OUT}: modified version of Noto Serif CJK SC (subset to the GBK\n"
        "repertoire and its other non-Han, non-Hangul characters, U+2252 composed\n"
        "from the font's own outlines, renamed\n"
        f"\"{NOTO_FAMILY}\").  Copyright notice in the font (name ID 0):\n"
        f"  {copyright0}\n"
        f"From Debian package fonts-noto-cjk {pkg_version('fonts-noto-cjk')}; licence as stated in\n"
        f"{NOTO_COPYRIGHT}:\n\n" + deb822_license(NOTO_COPYRIGHT),
        encoding="utf-8",
    )

    total = 0
    for p in sorted(out.iterdir()):
        if p.suffix in (".otf", ".ttf"):
            total += p.stat().st_size
            print(f"{p.stat().st_size:>10}  {sha256(p)}  {p.name}")
    print(f"font bytes total: {total}")
    return 0


def unicode_range(code_points: set[int], others: set[int]) -> str:
    """A short CSS unicode-range for these code points: runs of them, joined across gaps
    that hold no code point of `others` (the other bundled fonts) and stay inside one
    Han block. WeasyPrint takes the range as the face's whole character set, so it must
    never claim a character another extension face draws; browsers load the face only
    for a page with a character in it, so it must not reach beyond the Han blocks."""
    runs: list[list[int]] = []
    others_sorted = sorted(others)
    for cp in sorted(code_points):
        if runs and bisect.bisect_right(others_sorted, runs[-1][1]) == bisect.bisect_left(others_sorted, cp) \
                and same_han_block(runs[-1][1], cp):
            runs[-1][1] = cp
        else:
            runs.append([cp, cp])
    return ", ".join(f"U+{lo:X}" if lo == hi else f"U+{lo:X}-{hi:X}" for lo, hi in runs)


def same_han_block(first: int, second: int) -> bool:
    return any(lo <= first and second <= hi for lo, hi in HAN_RANGES)


if __name__ == "__main__":
    sys.exit(main())
