"""A NUL character never reaches the database: each place a user types text refuses it
with a Chinese message, a search ignores it, and anything else is refused with a 400 —
never a 500. On PostgreSQL (scripts/test runs these there too) a NUL that got through
would fail the statement; SQLite would store it silently."""
from __future__ import annotations

import io

import pytest
from sqlalchemy import func, select

from qmonth.extensions import db
from qmonth.models import ActivityState, AuditEvent, Campaign, Photo, Reminder, Unit, User
from qmonth.textnorm import NulCharacterRefused

from tests.conftest import CAMPAIGN_FILE, DEMO_PASSWORD
from tests.helpers import token
from tests.reports.support import add_photo

NUL = "\x00"
REFUSED = "内容包含空字符（NUL）"



def htmx(client, path: str = "/") -> dict:
    return {"HX-Request": "true", "X-CSRFToken": token(client, path)}


def test_login_refuses_a_nul_in_the_username(client):
    response = client.post("/login", data={"username": f"jinan-zj{NUL}", "password": DEMO_PASSWORD,
                                           "csrf_token": token(client, "/login")})
    assert response.status_code == 422
    assert REFUSED in response.get_data(as_text=True)
    assert "/login" in client.get("/").headers["Location"]  # nobody is logged in


def test_a_nul_in_the_search_is_ignored(client, login_as, make_activity):
    make_activity("jinan-zj", title="钢筋焊接技能比武")
    login_as("jinan-zj")
    response = client.get("/activities/", query_string={"q": f"钢筋{NUL}焊接"})
    assert response.status_code == 200
    assert "钢筋焊接技能比武" in response.get_data(as_text=True)


def test_a_caption_with_a_nul_is_refused_and_the_old_one_kept(client, login_as, make_activity):
    photo = add_photo(make_activity("jinan-zj"), caption="观摩现场")
    login_as("jinan-zj")
    response = client.post(f"/photos/{photo.id}/caption", data={"caption": f"观摩{NUL}"}, headers=htmx(client))
    assert response.status_code == 422 and REFUSED in response.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Photo, photo.id).caption == "观摩现场"


def test_report_autosave_refuses_a_nul_and_keeps_the_saved_text(app, client, login_as):
    from tests.reports.test_reports import open_campaign, open_editor, report_of, save

    open_campaign()
    login_as("jinan-zj-admin")
    _, revision = open_editor(client)
    assert save(client, "problems", "检测能力不足。", revision).status_code == 200
    response = save(client, "problems", f"检测能力不足。{NUL}", revision + 1)
    assert response.status_code == 422
    assert f"未保存：{REFUSED}" in response.get_data(as_text=True)
    assert report_of("jinan-zj").problems == "检测能力不足。"
    signature = save(client, "signature", f"济南市{NUL}住建局", revision + 1)
    assert signature.status_code == 422 and REFUSED in signature.get_data(as_text=True)
    assert NUL not in report_of("jinan-zj").signature


def test_a_return_reason_with_a_nul_is_refused(client, login_as, make_activity):
    activity = make_activity(state=ActivityState.SUBMITTED)
    login_as("province")
    response = client.post(f"/reviews/{activity.id}/return", data={"reason": f"请补充照片{NUL}"},
                           headers=htmx(client))
    assert response.status_code == 422 and REFUSED in response.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(type(activity), activity.id).state is ActivityState.SUBMITTED


def test_a_reminder_with_a_nul_is_refused_and_not_sent(client, login_as):
    login_as("province")
    response = client.post("/board/reminders", data={
        "csrf_token": token(client, "/board/"), "target": "selected", "units": ["heze-sw"],
        "message": f"请尽快报送。{NUL}"})
    assert response.status_code == 422 and REFUSED in response.get_data(as_text=True)
    assert db.session.scalar(select(func.count(Reminder.id))) == 0


def test_an_account_name_with_a_nul_is_refused(client, login_as):
    login_as("province")
    response = client.post("/admin/users/new", data={
        "csrf_token": token(client, "/admin/users/new"), "username": "qingdao-zj-li", "display_name": f"李{NUL}明",
        "role": "reporter", "unit": "qingdao-zj", "password": "Sea-Breeze-2024"})
    assert response.status_code == 422 and REFUSED in response.get_data(as_text=True)
    assert db.session.scalar(select(User).where(User.username == "qingdao-zj-li")) is None


def test_a_campaign_file_with_an_escaped_nul_is_refused_with_its_line(client, login_as):
    text = CAMPAIGN_FILE.read_text(encoding="utf-8")
    theme_line = next(line for line in text.splitlines() if line.startswith("theme = "))
    escaped = theme_line[:-1] + '\\u0000"'  # TOML's escape: the file itself holds no NUL byte
    text = text.replace(theme_line, escaped)
    login_as("province")
    response = client.post("/board/campaigns/upload", data={
        "csrf_token": token(client, "/board/campaigns"), "file": (io.BytesIO(text.encode("utf-8")), "nul.toml")},
        content_type="multipart/form-data")
    page = response.get_data(as_text=True)
    line = text.splitlines().index(escaped) + 1
    assert response.status_code == 422 and f"第 {line} 行：theme：{REFUSED}" in page
    db.session.expire_all()
    assert NUL not in db.session.scalar(select(Campaign.theme).where(Campaign.is_active))


def test_a_campaign_text_longer_than_its_column_is_refused_not_cut(client, login_as):
    text = CAMPAIGN_FILE.read_text(encoding="utf-8")
    theme_line = next(line for line in text.splitlines() if line.startswith("theme = "))
    text = text.replace(theme_line, f'theme = "{"长" * 201}"')
    login_as("province")
    response = client.post("/board/campaigns/upload", data={
        "csrf_token": token(client, "/board/campaigns"), "file": (io.BytesIO(text.encode("utf-8")), "long.toml")},
        content_type="multipart/form-data")
    assert response.status_code == 422 and "theme 不能超过 200 个字" in response.get_data(as_text=True)


@pytest.mark.parametrize("path", ["/reviews/?unit=jinan-zj%00", "/admin/audit?unit=jinan-zj%00"])
def test_a_nul_no_form_checks_gets_a_400_with_a_message_not_a_500(client, login_as, path):
    login_as("province")
    page = client.get(path)
    assert page.status_code == 400 and "请求中包含空字符（NUL）" in page.get_data(as_text=True)
    fragment = client.get(path, headers={"HX-Request": "true"})
    assert fragment.status_code == 400 and "<html" not in fragment.get_data(as_text=True)
    assert client.get("/").status_code == 200  # the session is usable afterwards


def test_the_database_guard_refuses_a_nul_and_stores_nothing(app):
    unit = db.session.scalar(select(Unit).where(Unit.code == "jinan-zj"))
    name = unit.name
    unit.name = f"{name}{NUL}"
    with pytest.raises(NulCharacterRefused):
        db.session.commit()
    db.session.rollback()
    assert db.session.scalar(select(Unit.name).where(Unit.code == "jinan-zj")) == name
    events = db.session.scalar(select(func.count(AuditEvent.id)))
    with pytest.raises(NulCharacterRefused):
        db.session.execute(AuditEvent.__table__.insert(),
                           [{"action": "x", "reason": ""}, {"action": "x", "reason": f"a{NUL}"}])
    db.session.rollback()
    assert db.session.scalar(select(func.count(AuditEvent.id))) == events
