"""The audit trail: logins, refusals, reopenings and reminders are recorded and can be searched."""
import re
from datetime import datetime, timezone

from sqlalchemy import delete, func, select

from qmonth.audit import record
from qmonth.extensions import db
from qmonth.models import AuditEvent

from tests.helpers import csrf_token_from
from tests.helpers import token, unit, user


def events(action: str) -> list[AuditEvent]:
    db.session.expire_all()
    return list(db.session.scalars(select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)))


def rows(page: str) -> list[str]:
    return re.findall(r'<tr id="event-\d+" class="audit-([a-z_-]+)"', page)


def test_logins_are_recorded_whether_they_succeed_or_fail(client, login_as):
    login_as("heze-sw")
    [ok] = events("auth.login")
    assert (ok.actor, ok.unit_id) == (user("heze-sw"), unit("heze-sw").id)

    client.post("/logout", data={"csrf_token": token(client)})
    csrf = csrf_token_from(client.get("/login").get_data(as_text=True))
    assert client.post("/login", data={"username": "heze-sw", "password": "wrong-password",
                                       "csrf_token": csrf}).status_code == 422
    assert client.post("/login", data={"username": "nobody", "password": "x" * 12,
                                       "csrf_token": csrf}).status_code == 422
    wrong, unknown = events("auth.login_failed")
    assert wrong.actor is None and (wrong.object_type, wrong.object_id) == ("user", user("heze-sw").id)
    assert wrong.unit_id == unit("heze-sw").id and wrong.changes == {"username": "heze-sw"}
    assert unknown.object_id is None and unknown.changes == {"username": "nobody"}
    assert "wrong-password" not in str(wrong.changes)


def test_refused_requests_are_recorded_but_missing_files_are_not(client, login_as):
    login_as("heze-sw")
    assert client.get("/board/").status_code == 403
    assert client.get("/admin/audit").status_code == 403
    [board, audit] = events("access.denied")
    assert (board.actor, board.unit_id, board.changes["path"]) == (user("heze-sw"), unit("heze-sw").id, "/board/")
    assert board.changes["method"] == "GET" and audit.changes["endpoint"] == "admin.audit"
    before = db.session.scalar(select(func.count(AuditEvent.id)))
    assert client.get("/static/css/nope.css").status_code == 404
    assert client.get("/activities/999999").status_code == 404
    assert db.session.scalar(select(func.count(AuditEvent.id))) == before


def test_a_burst_of_refused_requests_is_one_audit_row_but_every_one_is_in_the_security_log(app, client, login_as):
    from datetime import timedelta
    from pathlib import Path

    login_as("heze-sw")
    for number in range(50):
        response = client.get(f"/board/?sort=name&page={number}")
        assert response.status_code == 403 and "您没有权限访问此页面" in response.get_data(as_text=True)
    [board] = events("access.denied")
    assert board.changes["path"] == "/board/?sort=name&page=0"
    security_log = (Path(app.instance_path) / "security.log").read_text(encoding="utf-8")
    assert security_log.count("event=access.denied") == 50

    assert client.get("/admin/audit").status_code == 403  # another page is another row
    assert [event.changes["path"] for event in events("access.denied")] == ["/board/?sort=name&page=0", "/admin/audit"]
    app.config["CLOCK_OFFSET"] += timedelta(hours=1, minutes=1)  # and an hour later, the same page again
    assert client.get("/board/").status_code == 403
    assert len(events("access.denied")) == 3


def test_the_log_shows_each_action_in_chinese_with_beijing_time(app, client, login_as):
    login_as("heze-sw")
    client.get("/board/")  # refused
    login_as("province")
    csrf = token(client, "/board/")
    client.post("/board/reminders", data={"csrf_token": csrf, "target": "selected", "units": ["heze-sw"],
                                          "message": "请尽快报送总结报告。"})
    client.post("/board/units/heze-sw/reopen", data={"csrf_token": csrf, "due_date": "2024-10-20",
                                                     "reason": "网络故障"})
    db.session.execute(delete(AuditEvent).where(AuditEvent.action.like("activity.%")))
    event = record("activity.accept", actor=user("province"), unit_id=unit("heze-sw").id, from_state="submitted",
                   to_state="accepted")
    event.at = datetime(2024, 9, 20, 2, 0, 5, tzinfo=timezone.utc)
    db.session.commit()

    page = client.get("/admin/audit").get_data(as_text=True)
    for label in ("登录", "拒绝访问", "催报", "开放补报", "采纳"):
        assert f'<span class="badge badge-action">{label}</span>' in page, label
    assert "2024-09-20 10:00:05" in page
    assert "已报送 → 已采纳" in page and "请尽快报送总结报告。" in page and "网络故障" in page
    assert "可填报 → 可填报" in page  # reopened before the deadline (the demo clock is 20 September)
    assert "/board/" in page


def test_the_log_filters_by_unit_user_action_and_date(app, client, login_as):
    db.session.execute(delete(AuditEvent))  # the demo entries' trail
    db.session.commit()
    login_as("heze-sw")
    login_as("jinan-zj")
    client.post("/logout", data={"csrf_token": token(client)})
    csrf = csrf_token_from(client.get("/login").get_data(as_text=True))
    client.post("/login", data={"username": "heze-sw", "password": "wrong-password", "csrf_token": csrf})
    login_as("province")

    by_action = client.get("/admin/audit?action=auth.login_failed").get_data(as_text=True)
    assert rows(by_action) == ["auth-login_failed"]
    by_unit = client.get("/admin/audit?unit=heze-sw&action=auth.login").get_data(as_text=True)
    assert rows(by_unit) == ["auth-login"] and "菏泽市水务局" in by_unit
    by_user = client.get("/admin/audit?user=heze-sw").get_data(as_text=True)
    assert sorted(rows(by_user)) == ["auth-login", "auth-login_failed"]
    assert rows(client.get("/admin/audit?user=no-such-user").get_data(as_text=True)) == []
    # The demo clock stands on 20 September 2024 (Beijing time).
    assert len(rows(client.get("/admin/audit?date_from=2024-09-20&date_to=2024-09-20&action=auth.login")
                    .get_data(as_text=True))) == 3
    assert rows(client.get("/admin/audit?date_from=2024-09-21").get_data(as_text=True)) == []
    assert rows(client.get("/admin/audit?date_to=2024-09-19").get_data(as_text=True)) == []


def test_the_log_is_paged(app, client, login_as):
    db.session.execute(delete(AuditEvent))
    for number in range(120):
        record("activity.edit", actor=user("heze-sw"), unit_id=unit("heze-sw").id,
               changes={"title": ["a", str(number)]})
    db.session.commit()
    login_as("province")
    first = client.get("/admin/audit").get_data(as_text=True)
    assert len(rows(first)) == 50 and "共 121 条" in first
    assert 'href="/admin/audit?page=3"' in first
    third = client.get("/admin/audit?page=3").get_data(as_text=True)
    assert len(rows(third)) == 21
    assert len(rows(client.get("/admin/audit?page=99").get_data(as_text=True))) == 21


def test_the_log_is_for_the_province_only(client, login_as):
    for username in ("heze-sw-admin", "heze-sw"):
        login_as(username)
        assert client.get("/admin/audit").status_code == 403
