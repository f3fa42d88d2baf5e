"""The PDFs embed subset fonts that print every GBK character, subset by HarfBuzz."""
from __future__ import annotations

import logging
import unicodedata

from qmonth.reports import printing
from qmonth.reports.printing import PrintDocument

from tests.helpers import CollectLogs
from tests.reports.support import pdf_fonts, pdf_text, squash


def gbk_sample(every: int = 50) -> list[str]:
    """Every `every`-th character of the GBK repertoire (non-ASCII, printable)."""
    chars = []
    for code in range(0x80, 0x10000):
        if 0xD800 <= code <= 0xDFFF:
            continue
        char = chr(code)
        try:
            char.encode("gbk")
        except UnicodeEncodeError:
            continue
        if unicodedata.category(char) in ("Cc", "Cs", "Cn", "Co") or char.isspace():
            continue
        chars.append(char)
    return chars[::every]


def sample_document(app, chars: list[str]) -> PrintDocument:
    # Short lines of 20 characters, spaced, so pdftotext keeps every character apart.
    lines = ["".join(chars[i:i + 20]) for i in range(0, len(chars), 20)]
    body = "".join(f"<p>{line}</p>" for line in lines)
    html = ('<!doctype html><html lang="zh-CN"><head><meta charset="utf-8">'
            '<link rel="stylesheet" href="/static/css/fonts.css"><link rel="stylesheet" href="/static/css/print.css">'
            f'</head><body><h1 class="doc-title">生僻字</h1><h2>一、黑体</h2><h3>（一）楷体</h3>{body}</body></html>')
    return PrintDocument(html=html, download_name="gbk.pdf", static_folder=app.static_folder)


def test_a_sample_of_the_gbk_repertoire_prints_and_comes_back_as_text(app_without_database):
    chars = gbk_sample()
    assert len(chars) > 430  # 21 790 characters / 50
    pdf = printing.render_pdf(sample_document(app_without_database, chars))
    fonts = pdf_fonts(pdf)
    assert fonts, "no fonts in the PDF"
    assert all(font["emb"] == "yes" and font["sub"] == "yes" for font in fonts), fonts
    assert any("qm-fallback" in font["name"] for font in fonts)  # rare characters come from the fallback
    text = squash(pdf_text(pdf))
    missing = [f"U+{ord(c):04X}({c})" for c in chars if c not in text]
    assert not missing, f"{len(missing)} characters did not come back: {' '.join(missing[:80])}"


def test_fonts_are_subset_by_harfbuzz_not_fonttools(app_without_database):
    # A handler of our own rather than caplog: the suite also runs with `-p no:logging`. The
    # loggers are switched on for the render in case a logging set-up elsewhere turned them off.
    collect = CollectLogs()
    names = [name for name in logging.root.manager.loggerDict if name.startswith(("weasyprint", "fontTools"))]
    loggers = [logging.getLogger(name) for name in {"weasyprint", "fontTools", *names}]
    saved = [(logger.level, logger.disabled) for logger in loggers]
    for logger in loggers:
        logger.disabled = False
    for root in (logging.getLogger("weasyprint"), logging.getLogger("fontTools")):
        root.addHandler(collect)
        root.setLevel(logging.DEBUG)
    try:
        printing.render_pdf(sample_document(app_without_database, list("质量月活动总结报告堃喆槑龥亖伩囧")))
    finally:
        for root in (logging.getLogger("weasyprint"), logging.getLogger("fontTools")):
            root.removeHandler(collect)
        for logger, (level, disabled) in zip(loggers, saved):
            logger.setLevel(level)
            logger.disabled = disabled
    bad = [m for m in collect.messages if "Using fontTools" in m or "Unable to subset" in m]
    assert not bad, bad
    assert not [m for m in collect.messages if "cannot be loaded" in m or "Failed to load" in m], collect.messages
    assert collect.messages, "the handler saw WeasyPrint's log"
