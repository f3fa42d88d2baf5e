"""After the due time a bureau reads but does not write, until the province reopens it (补报)."""
import re
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from qmonth.deadlines import LOCKED_MESSAGE, ReportStatus, effective_due_at, is_locked, report_standings
from qmonth.extensions import db
from qmonth.models import Activity, ActivityState, Attachment, AuditEvent, Photo, UnitReopening, UnitReport

from tests.helpers import csrf_token_from
from tests.activities.test_activity_form import form_page, valid_fields
from tests.helpers import campaign, set_clock, token, unit
from tests.board.support import DAY, due, make_photo, make_reopening, make_report

STAGED_KEY = "0123456789abcdef0123456789abcdef"


def write_routes(app, activity_id: int, photo_id: int) -> list[str]:
    """Every write a locked unit must be refused: the activity routes, and every POST of photos and reports."""
    routes = [
        "/activities/new", "/activities/quick", f"/activities/{activity_id}/edit",
        f"/activities/{activity_id}/submit", f"/activities/{activity_id}/delete",
    ]
    values = {"activity_id": activity_id, "photo_id": photo_id, "attachment_id": 1, "form_key": STAGED_KEY,
              "code": "heze-sw", "field": "overview", "number": 1}
    with app.test_request_context():
        from flask import url_for

        for rule in app.url_map.iter_rules():
            if rule.endpoint.startswith(("photos.", "reports.")) and "POST" in rule.methods:
                routes.append(url_for(rule.endpoint, **{name: values[name] for name in rule.arguments}))
    return routes


def snapshot():
    db.session.expire_all()
    return (
        [(a.id, a.title, a.state, a.updated_at) for a in db.session.scalars(select(Activity).order_by(Activity.id))],
        [(p.id, p.caption, p.position, p.is_cover) for p in db.session.scalars(select(Photo).order_by(Photo.id))],
        db.session.scalar(select(func.count(Attachment.id))),
        [(r.id, r.state, r.revision, r.overview) for r in db.session.scalars(select(UnitReport))],
    )


@pytest.fixture
def draft(make_activity):
    activity = make_activity("heze-sw", title="菏泽市水利工程质量巡查")
    make_photo(activity, caption="巡查现场")
    return activity


def post_everything(app, client, draft):
    photo = db.session.scalar(select(Photo).where(Photo.activity_id == draft.id))
    csrf = token(client)
    results = {}
    for route in write_routes(app, draft.id, photo.id):
        response = client.post(route, data={"csrf_token": csrf, "caption": "改", "reason": "x", "overview": "改",
                                            "revision": "1", **valid_fields(title="篡改")},
                               headers={"X-CSRFToken": csrf})
        results[route] = response
    return results


def test_the_lock_refuses_every_write_after_the_due_time(app, client, login_as, draft):
    set_clock(app, due() + DAY)
    login_as("heze-sw-admin")
    client.get("/reports/heze-sw")  # the report exists as a draft, to be sure it stays one
    before = snapshot()
    results = post_everything(app, client, draft)
    assert len(results) >= 15
    for route, response in results.items():
        assert response.status_code == 403, route
        assert LOCKED_MESSAGE in response.get_data(as_text=True), route
    assert snapshot() == before
    denied = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "access.denied")).all()
    assert len(denied) == len(results) and all(event.reason == LOCKED_MESSAGE for event in denied)
    assert {event.changes["path"] for event in denied} == set(results)


def test_a_locked_unit_still_reads_and_the_forms_explain(app, client, login_as, draft):
    set_clock(app, due() + DAY)
    login_as("heze-sw")
    for path in ("/activities/", f"/activities/{draft.id}", "/reports/heze-sw", "/"):
        assert client.get(path).status_code == 200, path
    response = client.get("/activities/new")
    assert response.status_code == 302 and response.headers["Location"].endswith("/activities/")
    assert LOCKED_MESSAGE in client.get("/activities/").get_data(as_text=True)
    response = client.get(f"/activities/{draft.id}/edit")
    assert response.status_code == 302 and response.headers["Location"].endswith(f"/activities/{draft.id}")
    # Checking a field while typing changes nothing, and stays allowed.
    check = client.post("/activities/check?field=title", data={"csrf_token": token(client), "title": "x"})
    assert check.status_code == 200
    # Photo uploads from the page's script get the reason as JSON.
    upload = client.post(f"/activities/{draft.id}/photos", data={"csrf_token": token(client)},
                         headers={"X-Requested-With": "qmonth-upload"})
    assert upload.status_code == 403 and upload.get_json() == {"ok": False, "error": LOCKED_MESSAGE}


def test_writes_are_allowed_before_the_due_time(app, client, login_as, draft):
    set_clock(app, due() - DAY)
    login_as("heze-sw")
    response = client.post(f"/activities/{draft.id}/edit",
                           data={"csrf_token": token(client), **valid_fields(title="截止前修改")})
    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.get(Activity, draft.id).title == "截止前修改"


def test_reopening_allows_writes_again_until_the_new_due_time(app, client, login_as, draft):
    set_clock(app, due() + DAY)
    login_as("province")
    page = client.get("/board/units/heze-sw").get_data(as_text=True)
    response = client.post("/board/units/heze-sw/reopen", data={
        "csrf_token": csrf_token_from(page), "due_date": "2024-10-20", "due_time": "18:00",
        "reason": "单位网络故障，未能按时报送。"})
    assert response.status_code == 302
    reopening = db.session.scalar(select(UnitReopening))
    assert reopening.reason == "单位网络故障，未能按时报送。"
    assert reopening.due_at == effective_due_at(unit("heze-sw"), campaign())
    assert reopening.due_at.isoformat() == "2024-10-20T10:00:00+00:00"  # 18:00 in Beijing
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "unit.reopen"))
    assert (event.unit_id, event.from_state, event.to_state, event.reason) == (
        unit("heze-sw").id, "locked", "open", "单位网络故障，未能按时报送。")
    assert event.changes["due_at"] == ["2024-10-10 23:59", "2024-10-20 18:00"]
    board = client.get("/board/").get_data(as_text=True)
    assert "补报至 10-20 18:00" in board

    login_as("heze-sw")
    response = client.post(f"/activities/{draft.id}/edit",
                           data={"csrf_token": token(client), **valid_fields(title="补报修改")})
    assert response.status_code == 302
    assert client.post(f"/activities/{draft.id}/submit", data={"csrf_token": token(client)}).status_code == 302
    db.session.expire_all()
    activity = db.session.get(Activity, draft.id)
    assert (activity.title, activity.state) == ("补报修改", ActivityState.SUBMITTED)

    # Other units stay locked; the reopened one locks again after its new due time.
    login_as("jinan-zj")
    assert client.post("/activities/new", data=valid_fields()).status_code == 403
    set_clock(app, reopening.due_at + timedelta(minutes=1))
    login_as("heze-sw")
    assert client.post("/activities/new", data=valid_fields()).status_code == 403


def test_signing_back_in_from_the_form_does_not_bypass_the_lock(app, client, login_as):
    set_clock(app, due() - DAY)
    login_as("heze-sw")
    _html, csrf, key = form_page(client)
    set_clock(app, due() + DAY)
    fresh = app.test_client()
    expired = fresh.post("/activities/new", data={"csrf_token": csrf, "form_key": key, **valid_fields()})
    assert expired.status_code == 401
    before = db.session.scalar(select(func.count(Activity.id)))
    response = fresh.post("/activities/new", data={
        "csrf_token": csrf_token_from(expired.get_data(as_text=True)), "form_key": key,
        "relogin_username": "heze-sw", "relogin_password": "qmonth-demo", **valid_fields()})
    assert response.status_code == 403 and LOCKED_MESSAGE in response.get_data(as_text=True)
    assert db.session.scalar(select(func.count(Activity.id))) == before


def test_reopening_needs_a_reason_and_a_later_time(app, client, login_as):
    set_clock(app, due() + DAY)
    login_as("province")
    csrf = token(client, "/board/units/heze-sw")
    cases = [
        ({"due_date": "2024-10-20", "reason": ""}, "请填写补报原因。"),
        ({"due_date": "2024-10-09", "reason": "补报"}, "新的截止时间应晚于当前时间。"),
        ({"due_date": "2024/10/20", "reason": "补报"}, "日期格式不正确"),
        ({"due_date": "2024-10-20", "due_time": "25:00", "reason": "补报"}, "时间格式不正确"),
    ]
    for data, message in cases:
        response = client.post("/board/units/heze-sw/reopen", data={"csrf_token": csrf, **data})
        assert response.status_code == 422 and message in response.get_data(as_text=True), message
    assert db.session.scalar(select(func.count(UnitReopening.id))) == 0
    login_as("heze-sw-admin")
    assert client.post("/board/units/heze-sw/reopen", data={
        "csrf_token": token(client), "due_date": "2024-10-20", "reason": "自行补报"}).status_code == 403


def test_is_locked_judges_the_moment_against_the_effective_due_time(app):
    heze, deadline = unit("heze-sw"), due()
    assert not is_locked(heze, campaign(), now=deadline - timedelta(seconds=1))
    assert not is_locked(heze, campaign(), now=deadline)
    assert is_locked(heze, campaign(), now=deadline + timedelta(seconds=1))
    make_reopening("heze-sw", created_at=deadline + DAY, due_at=deadline + 3 * DAY)
    assert effective_due_at(heze, campaign()) == deadline + 3 * DAY
    assert not is_locked(heze, campaign(), now=deadline + 2 * DAY)
    assert is_locked(heze, campaign(), now=deadline + 3 * DAY + timedelta(seconds=1))
    assert is_locked(unit("heze-cg"), campaign(), now=deadline + 2 * DAY)


def test_a_report_after_the_due_time_is_late_and_marked_when_it_came_in_while_reopened(app):
    deadline = due()
    make_reopening("heze-sw", created_at=deadline + DAY, due_at=deadline + 3 * DAY)
    reports = {code: make_report(code, submitted_at=deadline) for code in ("heze-sw", "heze-cg")}

    def standing(code, submitted_at):
        reports[code].submitted_at = submitted_at
        db.session.commit()
        return report_standings(campaign(), now=deadline + 10 * DAY)[unit(code).id]

    on_time = standing("heze-sw", deadline)
    assert on_time.status is ReportStatus.ON_TIME and on_time.label == "按时报送"
    reopened = standing("heze-sw", deadline + 2 * DAY)
    assert reopened.status is ReportStatus.LATE and reopened.label == "逾期报送（补报）"
    before_reopening = standing("heze-sw", deadline + DAY / 2)
    assert before_reopening.status is ReportStatus.LATE and before_reopening.label == "逾期报送"
    after_reopening = standing("heze-sw", deadline + 3 * DAY + timedelta(seconds=1))
    assert after_reopening.status is ReportStatus.LATE and not after_reopening.reopened
    never_reopened = standing("heze-cg", deadline + 2 * DAY)
    assert never_reopened.status is ReportStatus.LATE and not never_reopened.reopened


def test_the_unit_admins_home_page_says_the_unit_is_locked(app, client, login_as):
    set_clock(app, due() + DAY)
    login_as("heze-sw-admin")
    page = client.get("/").get_data(as_text=True)
    assert "本单位报送已截止" in page and re.search(r'<tr id="unit-heze-sw"', page)
