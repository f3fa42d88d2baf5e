"""Two requests on one activity at the same moment: one consistent outcome, one audit record per
real change, and a Chinese message for the one that came second, never a 500.

PostgreSQL lets two requests run at once, so each test forces the interleaving: the first
request stops at a chosen point (between reading the row and writing it), the second runs
until it has finished or PostgreSQL makes it wait for a row lock, and only then does the
first go on. SQLite needs no such test: writing requests begin IMMEDIATE and run one at a
time (see create_app). Double clicks (two identical POSTs) are checked on both databases.
"""
from __future__ import annotations

import re
import threading
import time

import pytest
from sqlalchemy import func, select, text

from qmonth.activities import services as activity_services
from qmonth.activities import views as activity_views
from qmonth.board import services as board_services
from qmonth.extensions import db
from qmonth.models import Activity, ActivityState, AuditEvent, Bulletin, Reminder
from qmonth.reports import services as report_services

from tests.conftest import DEMO_PASSWORD
from tests.helpers import csrf_token_from, token
from tests.activities.test_activity_form import valid_fields

CHANGED_MEANWHILE = "该活动已被他人处理，请刷新后重试。"
TIMEOUT = 30  # seconds; only reached when something is wrong


@pytest.fixture
def postgresql(database):
    if database != "postgresql":
        pytest.skip("SQLite runs writing requests one at a time (BEGIN IMMEDIATE): nothing to interleave")


def signed_in(app, username: str):
    """A browser of its own, signed in through the login form."""
    client = app.test_client()
    token = csrf_token_from(client.get("/login").get_data(as_text=True))
    response = client.post("/login", data={"username": username, "password": DEMO_PASSWORD, "csrf_token": token})
    assert response.status_code == 302
    return client



def waiting_for_a_lock() -> bool:
    """PostgreSQL's own view: is a request of this database waiting for another's lock?"""
    with db.engine.connect() as connection:  # a new transaction each time: the view is a snapshot
        return connection.scalar(text(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'"
        )) > 0


def interleave(monkeypatch, module, name: str, first, second) -> tuple:
    """Run `first` until it calls module.name, then `second` until it ends or waits for a lock that
    `first` holds, then let `first` go on. Returns what each returned."""
    paused, go = threading.Event(), threading.Event()
    real = getattr(module, name)

    def pausing(*args, **kwargs):
        if threading.current_thread().name == "first" and not paused.is_set():
            paused.set()
            assert go.wait(TIMEOUT), "never released"
        return real(*args, **kwargs)

    monkeypatch.setattr(module, name, pausing)
    results = {}

    def run(label, action):
        try:
            results[label] = action()
        except BaseException as error:  # reported by the main thread below
            results[label] = error

    threads = {label: threading.Thread(target=run, args=(label, action), name=label)
               for label, action in (("first", first), ("second", second))}
    threads["first"].start()
    deadline = time.monotonic() + TIMEOUT
    while not paused.wait(0.01):
        assert threads["first"].is_alive(), f"the first request ended without reaching the pause: {results}"
        assert time.monotonic() < deadline, "the first request never reached the pause"
    threads["second"].start()
    deadline = time.monotonic() + TIMEOUT
    while threads["second"].is_alive() and not waiting_for_a_lock():
        assert time.monotonic() < deadline, "the second request neither finished nor waited"
        time.sleep(0.01)
    go.set()
    for thread in threads.values():
        thread.join(TIMEOUT)
        assert not thread.is_alive()
    for label, result in results.items():
        assert not isinstance(result, BaseException), f"{label}: {result!r}"
    return results["first"], results["second"]


def audit_actions(activity_id: int) -> list[str]:
    return list(db.session.scalars(select(AuditEvent.action).where(
        AuditEvent.object_type == "activity", AuditEvent.object_id == activity_id).order_by(AuditEvent.id)))


def stored(activity_id: int) -> Activity | None:
    db.session.expire_all()
    return db.session.get(Activity, activity_id)


def page(response) -> str:
    assert response.status_code < 500, response.get_data(as_text=True)[:500]
    return response.get_data(as_text=True)


# Review: accept against return -----------------------------------------------------------

REASON = "请补充参训人员签到表。"


@pytest.mark.parametrize("winner", ["accept", "return"])
def test_an_accept_racing_a_return_records_only_the_first(app, postgresql, make_activity, monkeypatch, winner):
    activity_id = make_activity("jinan-zj", state=ActivityState.SUBMITTED).id
    reviewers = {action: signed_in(app, "province") for action in ("accept", "return")}
    tokens = {action: token(client) for action, client in reviewers.items()}

    def review(action):
        def post():
            return reviewers[action].post(f"/reviews/{activity_id}/{action}", follow_redirects=True, data={
                "csrf_token": tokens[action], "reason": REASON, "next": "/reviews/"})
        return post

    loser = "return" if winner == "accept" else "accept"
    # The first reviewer stops once its checks passed, as it writes the audit record.
    first, second = interleave(monkeypatch, activity_services, "record", review(winner), review(loser))

    expected = ActivityState.ACCEPTED if winner == "accept" else ActivityState.RETURNED
    assert stored(activity_id).state is expected
    assert audit_actions(activity_id) == [f"activity.{winner}"]
    assert ("已采纳：" if winner == "accept" else "已退回：") in page(first)
    assert CHANGED_MEANWHILE in page(second)
    assert stored(activity_id).return_reason == ("" if winner == "accept" else REASON)


def test_a_bulk_accept_skips_an_entry_returned_meanwhile(app, postgresql, make_activity, monkeypatch):
    activity_id = make_activity("jinan-zj", state=ActivityState.SUBMITTED).id
    reviewers = [signed_in(app, "province") for _ in range(2)]
    tokens = [token(client) for client in reviewers]

    def return_it():
        return reviewers[0].post(f"/reviews/{activity_id}/return", follow_redirects=True, data={
            "csrf_token": tokens[0], "reason": REASON})

    def accept_ticked():
        return reviewers[1].post("/reviews/bulk-accept", follow_redirects=True, data={
            "csrf_token": tokens[1], "ids": [str(activity_id)]})

    _first, second = interleave(monkeypatch, activity_services, "record", return_it, accept_ticked)

    assert stored(activity_id).state is ActivityState.RETURNED
    assert audit_actions(activity_id) == ["activity.return"]
    assert "已采纳 0 项活动。另有 1 项不在待审核状态，未处理。" in page(second)


# The bureau: submit twice, edit or delete what was accepted meanwhile -------------------------

def test_a_double_click_on_submit_submits_once(app, postgresql, make_activity, monkeypatch):
    activity_id = make_activity("jinan-zj").id
    clicks = [signed_in(app, "jinan-zj") for _ in range(2)]
    tokens = [token(client) for client in clicks]

    def submit(number):
        return lambda: clicks[number].post(f"/activities/{activity_id}/submit", follow_redirects=True,
                                           data={"csrf_token": tokens[number]})

    first, second = interleave(monkeypatch, activity_services, "record", submit(0), submit(1))

    assert stored(activity_id).state is ActivityState.SUBMITTED
    assert audit_actions(activity_id) == ["activity.submit"]
    for response in (first, second):
        assert "活动已报送，等待省厅审核。" in page(response)


def submitted_and_accepted_meanwhile(app, activity_id: int):
    """What happens while the slow request waits: the bureau submits from another tab, the province accepts."""
    other_tab, reviewer = signed_in(app, "jinan-zj"), signed_in(app, "province")

    def run():
        assert other_tab.post(f"/activities/{activity_id}/submit", data={"csrf_token": token(other_tab)}).status_code == 302
        assert reviewer.post(f"/reviews/{activity_id}/accept", data={"csrf_token": token(reviewer)}).status_code == 302

    return run


def test_a_slow_edit_does_not_overwrite_an_entry_accepted_meanwhile(app, postgresql, make_activity, monkeypatch):
    activity_id = make_activity("jinan-zj", title="质量安全讲堂").id
    editor = signed_in(app, "jinan-zj")
    form = token(editor, f"/activities/{activity_id}/edit")

    def save():
        return editor.post(f"/activities/{activity_id}/edit", data={
            "csrf_token": form, **valid_fields(title="改过的标题：质量安全讲堂")})

    # The save stops after the view has read and checked the draft, before the service writes.
    first, _ = interleave(monkeypatch, activity_views, "update_activity", save,
                          submitted_and_accepted_meanwhile(app, activity_id))

    entry = stored(activity_id)
    assert entry.state is ActivityState.ACCEPTED and entry.title == "质量安全讲堂"
    assert audit_actions(activity_id) == ["activity.submit", "activity.accept"]
    assert first.status_code == 409
    html = page(first)
    assert CHANGED_MEANWHILE in html and "改过的标题：质量安全讲堂" in html  # what was typed is kept


def test_deleting_a_draft_accepted_meanwhile_is_refused(app, postgresql, make_activity, monkeypatch):
    activity_id = make_activity("jinan-zj").id
    bureau = signed_in(app, "jinan-zj")
    form = token(bureau, f"/activities/{activity_id}/delete")

    def delete():
        return bureau.post(f"/activities/{activity_id}/delete", data={"csrf_token": form}, follow_redirects=True)

    first, _ = interleave(monkeypatch, activity_views, "delete_activity", delete,
                          submitted_and_accepted_meanwhile(app, activity_id))

    entry = stored(activity_id)
    assert entry is not None and entry.state is ActivityState.ACCEPTED
    assert audit_actions(activity_id) == ["activity.submit", "activity.accept"]
    assert CHANGED_MEANWHILE in page(first)


def test_a_double_click_on_delete_deletes_once(app, postgresql, make_activity, monkeypatch):
    activity_id = make_activity("jinan-zj").id
    clicks = [signed_in(app, "jinan-zj") for _ in range(2)]
    tokens = [token(client, f"/activities/{activity_id}/delete") for client in clicks]

    def delete(number):
        return lambda: clicks[number].post(f"/activities/{activity_id}/delete", follow_redirects=True,
                                           data={"csrf_token": tokens[number]})

    first, second = interleave(monkeypatch, activity_services, "record", delete(0), delete(1))

    assert stored(activity_id) is None
    assert audit_actions(activity_id) == ["activity.delete"]
    assert "草稿已删除。" in page(first) and "该活动已被删除。" in page(second)


# Double clicks on the province's buttons: one reminder, one bulletin ------------------------

MESSAGE = "请于10月10日前报送本单位“质量月”活动总结报告。"


def reminder_form(client) -> dict:
    html = client.get("/board/").get_data(as_text=True)
    key = re.search(r'name="form_key" value="([0-9a-f]{32})"', html)
    assert key, "no form key in the reminder form"
    return {"csrf_token": csrf_token_from(html), "form_key": key.group(1), "target": "selected",
            "units": ["heze-sw", "jinan-zj"], "message": MESSAGE}


def bulletin_form(client) -> dict:
    html = client.get("/reports/bulletins/").get_data(as_text=True)
    key = re.search(r'name="form_key" value="([0-9a-f]{32})"', html)
    assert key, "no form key on the bulletin button"
    return {"csrf_token": csrf_token_from(html), "form_key": key.group(1)}


def reminders_sent() -> int:
    return db.session.scalar(select(func.count(Reminder.id)))


def test_a_double_click_sends_one_reminder(app):
    province = signed_in(app, "province")
    form = reminder_form(province)
    answers = [province.post("/board/reminders", data=form, follow_redirects=True) for _ in range(2)]
    assert reminders_sent() == 1
    assert db.session.scalar(select(func.count(AuditEvent.id)).where(AuditEvent.action == "reminder.send")) == 2
    for answer in answers:
        assert "已向 2 个单位发送催报。" in page(answer)
    # The next rendering of the form is a new reminder.
    province.post("/board/reminders", data=reminder_form(province))
    assert reminders_sent() == 2


def test_a_double_click_by_htmx_sends_one_reminder(app):
    province = signed_in(app, "province")
    form = reminder_form(province)
    answers = [province.post("/board/reminders", data=form, headers={"HX-Request": "true"}) for _ in range(2)]
    assert reminders_sent() == 1
    for answer in answers:
        assert "已向 2 个单位发送催报。" in page(answer)
    fresh_key = re.search(r'name="form_key" value="([0-9a-f]{32})"', page(answers[0])).group(1)
    assert fresh_key != form["form_key"]


def test_a_double_click_starts_one_bulletin(app):
    province = signed_in(app, "province")
    form = bulletin_form(province)
    answers = [province.post("/reports/bulletins/new", data=form) for _ in range(2)]
    assert db.session.scalars(select(Bulletin.number)).all() == [1]
    assert [answer.headers["Location"] for answer in answers] == ["/reports/bulletins/1"] * 2
    assert db.session.scalar(select(func.count(AuditEvent.id)).where(AuditEvent.action == "bulletin.create")) == 1
    province.post("/reports/bulletins/new", data=bulletin_form(province))
    assert sorted(db.session.scalars(select(Bulletin.number))) == [1, 2]


def test_two_identical_reminder_posts_at_once_send_one(app, postgresql, monkeypatch):
    clicks = [signed_in(app, "province") for _ in range(2)]
    form = reminder_form(clicks[0])
    form_of_second = {**form, "csrf_token": token(clicks[1], "/board/")}

    first, second = interleave(monkeypatch, board_services, "record",
                               lambda: clicks[0].post("/board/reminders", data=form, follow_redirects=True),
                               lambda: clicks[1].post("/board/reminders", data=form_of_second, follow_redirects=True))

    assert reminders_sent() == 1
    assert db.session.scalar(select(func.count(AuditEvent.id)).where(AuditEvent.action == "reminder.send")) == 2
    for answer in (first, second):
        assert "已向 2 个单位发送催报。" in page(answer)


def test_two_identical_bulletin_posts_at_once_start_one(app, postgresql, monkeypatch):
    clicks = [signed_in(app, "province") for _ in range(2)]
    form = bulletin_form(clicks[0])
    form_of_second = {**form, "csrf_token": token(clicks[1], "/reports/bulletins/")}

    first, second = interleave(monkeypatch, report_services, "record",
                               lambda: clicks[0].post("/reports/bulletins/new", data=form),
                               lambda: clicks[1].post("/reports/bulletins/new", data=form_of_second))

    assert db.session.scalars(select(Bulletin.number)).all() == [1]
    assert first.headers["Location"] == second.headers["Location"] == "/reports/bulletins/1"
    assert db.session.scalar(select(func.count(AuditEvent.id)).where(AuditEvent.action == "bulletin.create")) == 1


def test_two_admins_switching_to_next_year_at_once_switch_once(app, postgresql, monkeypatch):
    from qmonth.campaigns import services as campaign_services
    from qmonth.models import Campaign, CampaignUnit, Unit

    from tests.campaigns.test_campaigns_admin import next_years_file, upload

    clicks = [signed_in(app, "province") for _ in range(2)]
    upload(clicks[0], next_years_file(rename_qingdao="青岛市住房和城乡建设局（𪚥）"))
    next_year = db.session.scalar(select(Campaign).where(Campaign.slug == "2025-shandong"))
    forms = [{"csrf_token": token(click, "/board/campaigns")} for click in clicks]

    first, second = interleave(
        monkeypatch, campaign_services, "apply_held_units",
        lambda: clicks[0].post(f"/board/campaigns/{next_year.id}/activate", data=forms[0], follow_redirects=True),
        lambda: clicks[1].post(f"/board/campaigns/{next_year.id}/activate", data=forms[1], follow_redirects=True))

    assert "已按活动文件调整单位" in page(first)
    assert "当前活动已切换为" in page(second) and "已按活动文件调整单位" not in page(second)
    db.session.expire_all()
    assert db.session.scalars(select(Campaign.slug).where(Campaign.is_active)).all() == ["2025-shandong"]
    assert db.session.scalar(select(func.count(Unit.id)).where(Unit.code == "hezexinqu-zj")) == 1
    units = db.session.scalar(select(func.count(Unit.id)))
    # 2024's tree was kept once, as it stood before the file's units: every unit but the new one.
    year_2024 = db.session.scalar(select(Campaign.id).where(Campaign.slug == "2024-shandong"))
    assert db.session.scalar(select(func.count()).select_from(CampaignUnit)
                             .where(CampaignUnit.campaign_id == year_2024)) == units - 1
    assert db.session.scalar(select(func.count(AuditEvent.id))
                             .where(AuditEvent.action == "campaign.activate")) == 1
