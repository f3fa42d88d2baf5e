"""Non-characters and lone surrogates are no text: every input refuses them by code point,
a search drops them, and a file writer shows an older row's as U+FFFD.

The HTTP paths (every form, the search box) are in test_bad_input_corpus.py; the files
in test_text_in_files.py.
"""
from __future__ import annotations

import re
from datetime import datetime, timezone
from urllib.parse import urlencode

import pytest
from sqlalchemy import select
from werkzeug.datastructures import MultiDict
from wtforms import Form, StringField

from qmonth.activities.export import inert
from qmonth.admin.services import AccountError, create_user
from qmonth.extensions import db
from qmonth.models import Activity, Bulletin, ReportState, Role, Unit, UnitReport
from qmonth.photos.services import display_name
from qmonth.textnorm import CleanText, control_character_problem, file_text, is_invalid_code_point, search_text

from tests.conftest import DEMO_PASSWORD
from tests.activities.test_activity_form import form_page, valid_fields
from tests.helpers import token
from tests.board.support import make_report

INVALID = [0xD800, 0xDBFF, 0xDC00, 0xDFFF, 0xFDD0, 0xFDEF, 0xFFFE, 0xFFFF,
           *(plane << 16 | last for plane in (1, 2, 14, 15, 16) for last in (0xFFFE, 0xFFFF))]
# Next to them, and valid: the replacement character, private use, Extension B and emoji.
VALID = "\ufdcf\ufdf0\ufffd\ufffc\ue000\U000ffffd𠮷𪚥🏗️👷\U0001fffd\U00030000"


@pytest.mark.parametrize("code", INVALID, ids=lambda code: f"U+{code:04X}")
def test_an_invalid_code_point_is_refused_by_name(code):
    message = f"内容包含无效字符（U+{code:04X}），请删除后重试。"
    assert control_character_problem(f"质量{chr(code)}月") == message
    assert control_character_problem(f"第一行\n{chr(code)}", multiline=True) == message


def test_the_characters_around_them_are_text():
    # Some of these are refused too, by name, because no bundled font prints them (fontcoverage).
    assert not any(is_invalid_code_point(char) for char in VALID)
    assert file_text(VALID) == VALID


def test_a_form_field_refuses_a_lone_surrogate():
    class NameForm(Form):
        name = StringField(validators=[CleanText()])

    form = NameForm(formdata=MultiDict({"name": "张\ud800明"}))
    assert not form.validate()
    assert form.errors == {"name": ["内容包含无效字符（U+D800），请删除后重试。"]}


def test_a_search_drops_them_and_searches_for_the_rest():
    assert search_text("质量\uffff安全\ud800讲堂\x00月", 60) == "质量安全讲堂 月"


def test_a_file_writer_gets_u_fffd_in_their_place():
    assert file_text("旧\ud800\udc00\x0b\x1f\x08\ufffe\U0010ffff标题\t\n") == "旧" + "\ufffd" * 7 + "标题\t\n"
    assert file_text(42) == 42 and file_text(None) is None
    assert inert(file_text("=\uffff")) == "'=\ufffd"


def test_an_uploaded_file_name_loses_them():
    assert display_name("现场\uffff照片\ud800.jpg") == "现场照片.jpg"


def test_the_command_line_cannot_create_an_account_with_a_surrogate_in_its_name(app):
    # Undecodable bytes on a command line reach Python as lone surrogates.
    with pytest.raises(AccountError, match="U\\+DCFF"):
        create_user(actor=None, username="jinan-zj-new", display_name="张\udcff明", role=Role.REPORTER,
                    unit=db.session.scalar(select(Unit).where(Unit.code == "jinan-zj")), password="Zhiliang-2024-x")


@pytest.mark.parametrize("body", [b"title=%ED%A0%80", b"title=\xed\xa0\x80"], ids=["percent-encoded", "raw bytes"])
def test_surrogate_bytes_in_a_form_never_reach_the_database(client, login_as, body):
    login_as("jinan-zj")
    _, token, key = form_page(client)
    fields = valid_fields(csrf_token=token, form_key=key)
    del fields["title"]
    response = client.post("/activities/new", data=urlencode(fields, doseq=True).encode() + b"&" + body,
                           content_type="application/x-www-form-urlencoded")
    assert response.status_code in (302, 422)
    titles = list(db.session.scalars(select(Activity.title)))
    assert not any(0xD800 <= ord(char) <= 0xDFFF for title in titles for char in title)


def test_a_bulletin_refuses_them_in_its_title_and_lead_and_keeps_the_input(client, login_as):
    login_as("province")
    response = client.post("/reports/bulletins/new", data={"csrf_token": token(client, "/reports/bulletins/")})
    edit = response.headers["Location"]
    for field in ("title", "lead"):
        form = {"csrf_token": token(client, edit), "title": "各地质量月活动亮点", "lead": "现将各地经验编发如下。",
                field: "质量\uffff月", "op": "save"}
        response = client.post(edit, data=form)
        page = response.get_data(as_text=True)
        assert response.status_code == 422 and "内容包含无效字符（U+FFFF）" in page, field
        bulletin = db.session.scalar(select(Bulletin).order_by(Bulletin.id.desc()))
        db.session.refresh(bulletin)
        assert "\uffff" not in (bulletin.title or "") + (bulletin.lead or ""), field


def test_the_province_cannot_send_a_report_back_with_them_in_the_reason(client, login_as):
    make_report("jinan-zj", submitted_at=datetime(2024, 9, 19, tzinfo=timezone.utc))
    login_as("province")
    response = client.post("/reports/jinan-zj/reopen", data={"csrf_token": token(client, "/reports/jinan-zj"),
                                                              "reason": "请补充\ufdd0问题分析。"}, follow_redirects=True)
    assert "内容包含无效字符（U+FDD0）" in response.get_data(as_text=True)
    assert db.session.scalar(select(UnitReport.state).where(UnitReport.unit.has(code="jinan-zj"))) \
        is ReportState.SUBMITTED


def test_login_refuses_them_in_the_username(client):
    response = client.post("/login", data={"username": "jinan-zj\ufffe", "password": DEMO_PASSWORD,
                                           "csrf_token": token(client, "/login")})
    assert response.status_code == 422 and "内容包含无效字符（U+FFFE）" in response.get_data(as_text=True)
    assert 'value="jinan-zj\ufffe"' in response.get_data(as_text=True)


def test_the_audit_search_drops_them(client, login_as):
    login_as("province")
    page = client.get("/admin/audit", query_string={"user": "jinan\U0010ffff-zj"}).get_data(as_text=True)
    assert re.search(r'<input type="text" name="user" value="jinan-zj"', page)
