"""The bad-input corpus, through HTTP, for every text field a user types into.

Each value is either refused with a Chinese message while the form keeps what was typed,
or stored and shown literally: escaped in HTML, as text in XLSX and CSV (formulas made
inert), as text in the PDF. Never a 500.
"""
from __future__ import annotations

import csv
import io
import re
import subprocess
import unicodedata
import uuid

import pytest
from markupsafe import escape
from openpyxl import load_workbook
from sqlalchemy import select

from qmonth.extensions import db
from qmonth.models import (
    ADDRESS_MAX, CO_ORGANISERS_MAX, CONTACT_NAME_MAX, CONTACT_PHONE_MAX, COUNTY_MAX, DESCRIPTION_MAX, ORGANISER_MAX,
    RESULTS_MAX, TITLE_MAX, Activity, ActivityState,
)

from tests.activities.test_activity_form import form_page, valid_fields


def corpus(maximum: int) -> dict[str, str]:
    return {
        "empty": "",
        "maximum length": "质" * maximum,
        "maximum + 1": "质" * (maximum + 1),
        "200,000 characters": "量" * 200_000,
        "NUL": "质量\x00月",
        "CR/LF": "第一行\r\n第二行",
        "U+2028": "第一行\u2028第二行",
        "zero-width": "质\u200b量\u200d月",
        "right-to-left override": "质量\u202e月",
        "emoji": "质量月🏗️👷",
        "combining marks": "Cafe\u0301 质量",
        "script tag": "<script>alert(1)</script>",
        "attribute breakout": '"><img src=x onerror=alert(1)>',
        "javascript URL": "javascript:alert(1)",
        "spreadsheet formula": '=HYPERLINK("http://example.invalid","点击")',
        "formula starters": "+1+1 -2 @SUM(A1)",
        "minus first": "-2+3",
        "at sign first": "@SUM(A1:A9)",
        "Extension B": "𠮷野家 𪚥",
        "emoji sequences": "👨\u200d👩\u200d👧🇨🇳✅",
        "right-to-left text": "مرحبا עברית 质量月",
        **{f"U+{code:04X}": f"质量{chr(code)}月" for code in NONCHARACTERS},
    }


# One of each kind of Unicode non-character: the first and last of the U+FDD0 block,
# U+FFFE and U+FFFF, and the last two code points of a supplementary and the last plane.
NONCHARACTERS = (0xFDD0, 0xFDEF, 0xFFFE, 0xFFFF, 0x1FFFE, 0x2FFFF, 0x10FFFE, 0x10FFFF)
# Values that must be refused whatever the field; the rest may be stored, literally.
NONCHARACTER_NAMES = {f"U+{code:04X}" for code in NONCHARACTERS}
ALWAYS_REFUSED = {"maximum + 1", "200,000 characters", "NUL", "U+2028", "right-to-left override",
                  *NONCHARACTER_NAMES}
DANGEROUS_MARKUP = ("<script>alert(1)</script>", "<img src=x onerror=alert(1)>")

ACTIVITY_FIELDS = {  # field: (maximum, multi-line, required to save a draft)
    "title": (TITLE_MAX, False, True),
    "organiser": (ORGANISER_MAX, False, False),
    "co_organisers": (CO_ORGANISERS_MAX, False, False),
    "county": (COUNTY_MAX, False, False),
    "address": (ADDRESS_MAX, False, False),
    "description": (DESCRIPTION_MAX, True, False),
    "results": (RESULTS_MAX, True, False),
    "contact_name": (CONTACT_NAME_MAX, False, False),
    "contact_phone": (CONTACT_PHONE_MAX, False, False),
}


def expected_stored(value: str, multiline: bool) -> str:
    value = unicodedata.normalize("NFC", value.replace("\r\n", "\n"))
    return value if multiline else value.replace("\n", " ")


def has_chinese_error(html: str) -> bool:
    errors = re.findall(r'class="field-error"[^>]*>([^<]+)<', html)
    return any(re.search(r"[\u4e00-\u9fff]", error) for error in errors)


@pytest.mark.parametrize("field", sorted(ACTIVITY_FIELDS))
def test_activity_text_fields_refuse_or_store_literally(client, login_as, field):
    maximum, multiline, required = ACTIVITY_FIELDS[field]
    login_as("jinan-zj")
    _, token, _ = form_page(client)
    for name, value in corpus(maximum).items():
        # Each value is a new entry: a form key of its own, made as the form makes one.
        marker = f"语料-{field}-{name}"
        fields = valid_fields(title=marker, csrf_token=token, form_key=uuid.uuid4().hex, action="save")
        fields[field] = value
        response = client.post("/activities/new", data=fields)
        html = response.get_data(as_text=True)
        case = f"{field} = {name}"
        assert response.status_code in (302, 422), case
        refused = response.status_code == 422
        if name in ALWAYS_REFUSED or (name == "empty" and required):
            assert refused, case
        if refused:
            assert has_chinese_error(html), case
            kept = value if multiline else value.replace("\r\n", "\n")
            assert str(escape(kept)) in html or str(escape(kept.replace("\n", "\r\n"))) in html, \
                f"{case}: the typed text is not in the form again"
            continue
        assert name not in ALWAYS_REFUSED, case
        title = value if field == "title" else marker
        activity = db.session.scalar(select(Activity).where(Activity.title == expected_stored(title, False)))
        assert activity is not None, case
        assert getattr(activity, field) == expected_stored(value, multiline).strip(), case
        detail = client.get(f"/activities/{activity.id}").get_data(as_text=True)
        for markup in DANGEROUS_MARKUP:
            assert markup not in detail, case
        if getattr(activity, field):
            shown = str(escape(getattr(activity, field)))
            assert shown in detail or shown.replace("\n", "<br>") in detail, f"{case}: not shown literally"


def test_tricky_text_is_literal_in_csv_xlsx_and_pdf(client, login_as, make_activity):
    titles = ["<script>alert(1)</script>", '"><img src=x onerror=alert(1)>', "javascript:alert(1)",
              '=HYPERLINK("http://example.invalid","点击")', "Café 质量月", "质\u200b量月"]
    # Accepted, so that the bureau's report (which leaves drafts out) prints them too.
    made = [make_activity("jinan-zj", title=title, description=f"说明：{title}", state=ActivityState.ACCEPTED)
            for title in titles]
    login_as("jinan-zj")

    rows = list(csv.reader(io.StringIO(client.get("/activities/export.csv").get_data(as_text=True).lstrip("\ufeff"))))
    csv_titles = {row[rows[0].index("活动名称")] for row in rows[1:]}
    workbook = load_workbook(io.BytesIO(client.get("/activities/export.xlsx").get_data()))
    sheet = workbook.active
    headers = [cell.value for cell in sheet[1]]
    xlsx_titles = {row[headers.index("活动名称")] for row in sheet.iter_rows(min_row=2, values_only=True)}
    for title in titles:
        inert = "'" + title if title.startswith("=") else title
        assert inert in csv_titles and inert in xlsx_titles, title
    assert not any(isinstance(cell.value, str) and cell.data_type == "f" for row in sheet.iter_rows() for cell in row)

    pdf = client.get("/reports/jinan-zj.pdf")
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF")
    text = subprocess.run(["pdftotext", "-", "-"], input=pdf.data, capture_output=True, check=True).stdout.decode()
    squashed = re.sub(r"\s+", "", text)
    for activity in made:
        literal = re.sub(r"\s+", "", activity.title.replace("\u200b", ""))
        assert literal in squashed.replace("\u200b", ""), activity.title


SHORT_TEXTS = {  # the other text inputs: (method, path, field, actor, extra form data)
    "return reason": ("reviews.return_", "reason", "province", {}),
    "reminder message": ("board.send", "message", "province", {"units": ["jinan-zj"]}),
    "reopen reason": ("board.reopen", "reason", "province", {"due_at": "2024-10-20T18:00"}),
    "photo caption": ("photos.caption", "caption", "reporter_a", {}),
    "report section": ("reports.save_section", "problems", "admin_a", {"revision": "1"}),
    "new user's name": ("admin.new_user", "display_name", "admin_a",
                        {"username": "jinan-zj-new", "role": "reporter", "password": "Zhiliang-2024-x",
                         "confirm_password": "Zhiliang-2024-x"}),
    "search box": ("activities.index", "q", "province", {}),
}


@pytest.mark.parametrize("what", sorted(SHORT_TEXTS))
def test_other_text_inputs_never_fail_with_a_server_error(app, make_activity, what):
    from tests.access.access_world import ACTORS, build_world, sign_in, url_for_rule

    endpoint, field, actor, extra = SHORT_TEXTS[what]
    rule = next(rule for rule in app.url_map.iter_rules() if rule.endpoint == endpoint)
    # A fresh world after each accepted value (a returned entry cannot be returned again); a
    # refusal changes nothing. The report's revision and the new user's name outlive a world:
    # after their first acceptance a value is refused for those, but only once its text passed.
    world, changed = {}, True
    for name, value in corpus(200).items():
        if changed:
            world = build_world(make_activity)
        client = sign_in(app, ACTORS[actor])
        url = url_for_rule(app, rule, world["a"])
        if endpoint == "activities.index":
            response = client.get(url, query_string={field: value})
        else:
            data = {"csrf_token": client.token, field: value, **extra}
            response = client.post(url, data=data, headers={"HX-Request": "true"})
        body = response.get_data(as_text=True)
        assert response.status_code < 500, f"{what} = {name}"
        changed = endpoint != "activities.index" and response.status_code < 400
        for markup in DANGEROUS_MARKUP:
            assert markup not in body, f"{what} = {name}"
        if name in ("NUL", "200,000 characters") and response.status_code >= 400:
            assert re.search(r"[\u4e00-\u9fff]", body), f"{what} = {name}: no Chinese message"
        if name in NONCHARACTER_NAMES:
            if endpoint == "activities.index":  # a search drops them and searches for the rest
                assert response.status_code == 200 and 'value="质量月"' in body, f"{what} = {name}"
            else:
                assert response.status_code == 422 and f"内容包含无效字符（{name}）" in body, f"{what} = {name}"
