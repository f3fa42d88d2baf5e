"""Which search terms PostgreSQL may compare with LIKE instead of ILIKE (qmonth/activities/listing.py).

Pure Python, run once: the database side is tests/activities/test_activity_list.py::
test_postgresql_search_finds_what_ilike_finds.
"""
import unicodedata

from qmonth.activities.pgsearch import CASELESS_CATEGORIES, has_no_case


def test_terms_without_case_are_untouched_by_case_folding():
    """No character's lower, upper, title or folded case holds a character `has_no_case` accepts,
    unless it is that very character unchanged: for such terms LIKE and ILIKE agree."""
    assert has_no_case("培训𪚥（第１期）—「」") and not has_no_case("培训a") and not has_no_case("Ⓐ")
    for code_point in range(0x110000):
        char = chr(code_point)
        for mapped in (char.lower(), char.upper(), char.title(), char.casefold()):
            if mapped != char:
                assert not any(unicodedata.category(c) in CASELESS_CATEGORIES for c in mapped + char), hex(code_point)
