"""Hostile numbers and dates in paths, query strings and forms: a 404 or a field error, never a 500."""
import re
from datetime import date, datetime, timezone

import pytest
from sqlalchemy import func, select

from qmonth.extensions import db
from qmonth.models import Activity, ActivityState, Bulletin, Campaign, Unit, UnitReopening

from tests.helpers import csrf_token_from
from tests.activities.test_activity_form import form_page, valid_fields

BAD_IDS = ["0", "-1", "--1", "2147483648", "9223372036854775808", "1" * 30, "٣", "١", "²", "003"]

# Values for the path's other parts, so only the number is wrong.
OTHER_PARTS = {"variant": "screen", "code": "jinan-zj", "field": "overview", "form_key": "0" * 32}


def int_routes(app):
    """(method, rule) for every route with a number in its path."""
    for rule in app.url_map.iter_rules():
        if "<int:" not in rule.rule:
            continue
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            yield method, rule.rule


def path_with(rule: str, number: str) -> str:
    path = re.sub(r"<int:\w+>", number, rule)
    return re.sub(r"<(?:\w+:)?(\w+)>", lambda m: OTHER_PARTS.get(m.group(1), "x"), path)


@pytest.mark.parametrize("number", BAD_IDS)
def test_every_numbered_route_answers_not_found_for_an_impossible_id(app, client, login_as, number):
    login_as("province")
    token = csrf_token_from(client.get("/board/campaigns").get_data(as_text=True))
    routes = list(int_routes(app))
    assert len(routes) > 20
    answers = {}
    for method, rule in routes:
        response = client.open(path_with(rule, number), method=method, headers={"X-CSRFToken": token},
                               data={"csrf_token": token})
        answers[f"{method} {rule}"] = response.status_code
    assert answers == {route: 404 for route in answers}


def test_arabic_indic_digit_does_not_open_activity_three(app, client, login_as, make_activity):
    login_as("province")
    activity = make_activity(title="东营市质量开放日")
    assert client.get(f"/activities/{activity.id}").status_code == 200
    arabic = str(activity.id).translate(str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩"))
    response = client.get(f"/activities/{arabic}")
    assert response.status_code == 404
    assert "东营市质量开放日" not in response.get_data(as_text=True)


def test_largest_id_is_still_a_plain_not_found(client, login_as):
    login_as("province")
    response = client.get("/activities/2147483647")
    assert response.status_code == 404
    assert "Traceback" not in response.get_data(as_text=True)


@pytest.mark.parametrize("path", ["/reviews/", "/activities/", "/admin/audit", "/board/"])
@pytest.mark.parametrize("page", ["99999999999999999999", "2147483648", "²", "-3", "0"])
def test_a_huge_or_strange_page_number_shows_a_page(client, login_as, make_activity, path, page):
    make_activity(title="烟台市质量月观摩会", state=ActivityState.SUBMITTED)
    login_as("province")
    narrowed = {"q": "烟台市质量月观摩会"} if path == "/activities/" else {}
    response = client.get(path, query_string={"page": page, **narrowed})
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Traceback" not in html
    if path in ("/reviews/", "/activities/"):
        assert "烟台市质量月观摩会" in html  # the last (only) page, not an empty one


def submitted_ids(make_activity, count=2):
    return [make_activity(title=f"待审核{n}", state=ActivityState.SUBMITTED).id for n in range(count)]


def test_bulk_accept_ignores_ids_that_are_not_plain_numbers(client, login_as, make_activity):
    first, second = submitted_ids(make_activity)
    login_as("province")
    token = csrf_token_from(client.get("/reviews/").get_data(as_text=True))
    response = client.post("/reviews/bulk-accept", data={"csrf_token": token, "ids": ["²", "٣", str(first), "1" * 30]},
                           follow_redirects=True)
    assert response.status_code == 200
    assert "已采纳 1 项活动。" in response.get_data(as_text=True)
    assert db.session.get(Activity, first).state is ActivityState.ACCEPTED
    assert db.session.get(Activity, second).state is ActivityState.SUBMITTED


def test_bulk_accept_refuses_more_than_five_hundred_ids(client, login_as, make_activity):
    first, _second = submitted_ids(make_activity)
    login_as("province")
    token = csrf_token_from(client.get("/reviews/").get_data(as_text=True))
    ids = [str(first)] + [str(n) for n in range(100_000, 140_000)]
    response = client.post("/reviews/bulk-accept", data={"csrf_token": token, "ids": ids}, follow_redirects=True)
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "一次最多采纳 500 项" in html
    db.session.expire_all()
    assert db.session.get(Activity, first).state is ActivityState.SUBMITTED


@pytest.mark.parametrize("op", ["add:²", "add:٣", "up:99999999999999999999", "remove:-1", "add:"])
def test_bulletin_buttons_with_strange_numbers_change_nothing(client, login_as, op):
    login_as("province")
    token = csrf_token_from(client.get("/reports/bulletins/").get_data(as_text=True))
    created = client.post("/reports/bulletins/new", data={"csrf_token": token})
    path = created.headers["Location"]
    response = client.post(path, data={"csrf_token": token, "op": op, "title": "第一期", "item": ["²", "٣"]})
    assert response.status_code == 302
    bulletin = db.session.scalar(select(Bulletin).order_by(Bulletin.id.desc()))
    assert bulletin.activity_ids in (None, [])


@pytest.mark.parametrize("position", ["nan", "٢", "1e400", "-1", "99999999999999999999"])
def test_bulletin_order_boxes_with_strange_numbers_keep_the_order(client, login_as, make_activity, position):
    first = make_activity("jinan-zj", title="亮点甲", state=ActivityState.ACCEPTED, is_highlight=True)
    second = make_activity("qingdao-zj", title="亮点乙", state=ActivityState.ACCEPTED, is_highlight=True)
    login_as("province")
    token = csrf_token_from(client.get("/reports/bulletins/").get_data(as_text=True))
    path = client.post("/reports/bulletins/new", data={"csrf_token": token}).headers["Location"]
    items = [str(first.id), str(second.id)]
    response = client.post(path, data={"csrf_token": token, "op": "save", "title": "第一期", "item": items,
                                       f"position-{first.id}": position, f"position-{second.id}": "2"})
    assert response.status_code == 302
    bulletin = db.session.scalar(select(Bulletin).order_by(Bulletin.id.desc()))
    assert bulletin.activity_ids == [first.id, second.id]


# Number fields -------------------------------------------------------------------------------

HOSTILE_COUNTS = {
    "--1": "应为整数",
    "²": "应为整数",
    "٣": "应为整数",
    "1e3": "应为整数",
    "9" * 5000: "不能超过 10000000",
    "2147483648": "不能超过 10000000",
    "-5": "不能小于 0",
}


def count_activities():
    return db.session.scalar(select(func.count(Activity.id)))


def post_form(client, **overrides):
    _html, token, key = form_page(client)
    return client.post("/activities/new", data={"csrf_token": token, "form_key": key, **valid_fields(**overrides)})


@pytest.mark.parametrize("typed, message", HOSTILE_COUNTS.items(), ids=lambda v: v[:12])
@pytest.mark.parametrize("field", ["participants", "fig_trainees"])
def test_a_hostile_count_is_a_field_error_and_the_form_is_kept(client, login_as, field, typed, message):
    login_as("jinan-zj")
    before = count_activities()
    response = post_form(client, **{field: typed})
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert message in html
    assert "济南市2024年“质量月”质量安全讲堂" in html and "邀请专家解读《建设工程见证检测标准》。" in html
    assert count_activities() == before


def test_full_width_digits_are_read_as_numbers(client, login_as):
    login_as("jinan-zj")
    response = post_form(client, participants="１２０", fig_trainees="１，２００", fig_class_hours=" ４ ")
    assert response.status_code == 302
    activity = db.session.scalar(select(Activity).order_by(Activity.id.desc()))
    assert activity.participants == 120
    assert activity.figures["trainees"] == 1200 and activity.figures["class_hours"] == 4


def test_slogans_with_strange_numbers_are_ignored(client, login_as):
    login_as("jinan-zj")
    response = post_form(client, kind="publicity", tasks=["1"], fig_slogans=["²", "٣", "1" * 30, "2"])
    assert response.status_code == 302
    activity = db.session.scalar(select(Activity).order_by(Activity.id.desc()))
    assert activity.figures["slogans"] == [2]


def test_figure_preview_with_hostile_numbers_is_a_page(client, login_as):
    login_as("jinan-zj")
    response = client.get("/activities/figures", query_string={"kind": "publicity", "fig_banners": "--1",
                                                                "fig_slogans": "²", "fig_reach": "9" * 5000})
    assert response.status_code == 200
    assert "横幅、海报" in response.get_data(as_text=True)


def test_field_check_with_hostile_numbers_names_the_problem(client, login_as):
    login_as("jinan-zj")
    _html, token, _key = form_page(client)
    response = client.post("/activities/check?field=participants", data={"csrf_token": token, "participants": "--1"},
                           headers={"X-CSRFToken": token})
    assert response.status_code == 200
    assert "参与人次应为整数。" in response.get_data(as_text=True)


@pytest.mark.parametrize("path", ["/activities/new", "/activities/quick"])
def test_anonymous_post_with_a_hostile_count_gets_the_login_answer(client, make_activity, path):
    response = client.post(path, data=valid_fields(participants="--5", fig_trainees="²"))
    html = response.get_data(as_text=True)
    assert response.status_code == 401
    assert "登录已超时" in html and "济南市2024年“质量月”质量安全讲堂" in html
    assert "Traceback" not in html


def test_anonymous_edit_post_with_a_hostile_count_gets_the_login_answer(client, make_activity):
    activity = make_activity()
    response = client.post(f"/activities/{activity.id}/edit", data=valid_fields(participants="9" * 5000))
    assert response.status_code == 401
    assert "登录已超时" in response.get_data(as_text=True)


# Dates ---------------------------------------------------------------------------------------

HOSTILE_DAYS = ["0001-01-01", "9999-12-31", "2024-13-45", "²０２４-01-01", "٢٠٢٤-٠٩-٠١", "20240901", "2024-W36-1"]


@pytest.mark.parametrize("name", ["date_from", "date_to"])
@pytest.mark.parametrize("day", HOSTILE_DAYS)
def test_audit_viewer_names_a_bad_date_and_keeps_it(client, login_as, name, day):
    login_as("province")
    response = client.get("/admin/audit", query_string={name: day})
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "日期" in html and ("格式不正确" in html or "须在" in html)
    assert f'value="{day}"' in html


def test_audit_viewer_still_filters_by_a_sane_date(client, login_as):
    login_as("province")
    response = client.get("/admin/audit", query_string={"date_from": "2024-09-01", "date_to": "2024-09-30"})
    assert response.status_code == 200
    assert 'value="2024-09-01"' in response.get_data(as_text=True)


@pytest.mark.parametrize("day", HOSTILE_DAYS)
def test_activity_list_date_filters_never_fail(client, login_as, make_activity, day):
    make_activity(title="青岛市质量讲堂")
    login_as("jinan-zj")
    response = client.get("/activities/", query_string={"date_from": day, "date_to": day})
    assert response.status_code == 200
    assert "青岛市质量讲堂" in response.get_data(as_text=True)  # the bad date is dropped, not applied


@pytest.mark.parametrize("day", HOSTILE_DAYS)
@pytest.mark.parametrize("field", ["starts_on", "ends_on"])
def test_activity_dates_far_out_are_field_errors(client, login_as, field, day):
    login_as("jinan-zj")
    response = post_form(client, **{field: day})
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "格式不正确" in html or "须在活动期间内" in html
    assert f'value="{day}"' in html


def reopen(client, due_date, due_time="23:59"):
    page = client.get("/board/units/jinan-zj").get_data(as_text=True)
    return client.post("/board/units/jinan-zj/reopen", data={
        "csrf_token": csrf_token_from(page), "due_date": due_date, "due_time": due_time, "reason": "系统故障，补报。"})


@pytest.mark.parametrize("day", HOSTILE_DAYS + ["2026-01-01"])
def test_reopening_far_in_the_future_is_refused_and_the_unit_page_works(client, login_as, day):
    login_as("province")
    response = reopen(client, day)
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert re.search(r'id="err-due_date">[^<]*(格式不正确|须在|应晚于)', html), html
    assert db.session.scalar(select(func.count(UnitReopening.id))) == 0
    assert client.get("/board/units/jinan-zj").status_code == 200


def test_reopening_within_the_next_year_is_accepted(client, login_as):
    login_as("province")
    response = reopen(client, "2025-12-31")
    assert response.status_code == 302
    reopening = db.session.scalar(select(UnitReopening))
    assert reopening.due_at.astimezone(timezone.utc) == datetime(2025, 12, 31, 15, 59, 59, tzinfo=timezone.utc)


def test_unit_page_survives_a_reopening_stored_at_the_end_of_time(client, login_as, user_named):
    campaign = db.session.scalar(select(Campaign).where(Campaign.is_active))
    unit = db.session.scalar(select(Unit).where(Unit.code == "jinan-zj"))
    db.session.add(UnitReopening(campaign_id=campaign.id, unit_id=unit.id, reason="旧数据",
                                 due_at=datetime(9999, 12, 31, 15, 59, 59, tzinfo=timezone.utc),
                                 created_by_id=user_named("province").id,
                                 created_at=datetime(2024, 10, 11, tzinfo=timezone.utc)))
    db.session.commit()
    login_as("province")
    response = client.get("/board/units/jinan-zj")
    assert response.status_code == 200
    assert "旧数据" in response.get_data(as_text=True)


@pytest.mark.parametrize("day", HOSTILE_DAYS)
def test_bulletin_date_far_out_is_refused(client, login_as, day):
    login_as("province")
    token = csrf_token_from(client.get("/reports/bulletins/").get_data(as_text=True))
    path = client.post("/reports/bulletins/new", data={"csrf_token": token}).headers["Location"]
    response = client.post(path, data={"csrf_token": token, "op": "save", "title": "第一期", "issued_on": day})
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "日期" in html and ("格式不正确" in html or "须在" in html)
    assert f'value="{day}"' in html and 'value="第一期"' in html  # what was typed is kept
    bulletin = db.session.scalar(select(Bulletin).order_by(Bulletin.id.desc()))
    assert bulletin.issued_on == date(2024, 9, 20)  # the day it was created, unchanged


@pytest.mark.parametrize("day", HOSTILE_DAYS)
def test_report_signing_date_far_out_is_refused(client, login_as, day):
    login_as("jinan-zj-admin")
    page = client.get("/reports/jinan-zj")
    html = page.get_data(as_text=True)
    revision = re.search(r'name="revision"[^>]*value="(\d+)"', html) or re.search(r'value="(\d+)"[^>]*name="revision"', html)
    token = csrf_token_from(html)
    response = client.post("/reports/jinan-zj/sections/signed_on", headers={"X-CSRFToken": token, "HX-Request": "true"},
                           data={"signed_on": day, "revision": revision.group(1) if revision else "0"})
    assert response.status_code == 422
    text = response.get_data(as_text=True)
    assert "成文日期" in text


@pytest.mark.parametrize("revision", ["99999999999999999999", "2147483648", "٣", "²", "-1"])
def test_report_autosave_with_an_impossible_revision_asks_for_a_reload(client, login_as, revision):
    login_as("jinan-zj-admin")
    token = csrf_token_from(client.get("/reports/jinan-zj").get_data(as_text=True))
    response = client.post("/reports/jinan-zj/sections/signature", headers={"X-CSRFToken": token, "HX-Request": "true"},
                           data={"signature": "济南市住房和城乡建设局", "revision": revision})
    assert response.status_code in (409, 422)
    assert "未保存" in response.get_data(as_text=True)


# Campaign files ------------------------------------------------------------------------------

def campaign_text(**replacements) -> str:
    from tests.conftest import CAMPAIGN_FILE

    text = CAMPAIGN_FILE.read_text(encoding="utf-8").replace('slug = "2024-shandong"', 'slug = "hostile"')
    for old, new in replacements.items():
        assert old in text
        text = text.replace(old, new, 1)
    return text


def upload_campaign(client, text: str):
    import io

    token = csrf_token_from(client.get("/board/campaigns").get_data(as_text=True))
    return client.post("/board/campaigns/upload", data={
        "csrf_token": token, "file": (io.BytesIO(text.encode("utf-8")), "campaign.toml")},
        content_type="multipart/form-data")


@pytest.mark.parametrize("old, new, message", [
    ("year = 2024", "year = 9223372036854775807", "year 应为 0 至 2147483647 之间的整数"),
    ("year = 2024", "year = 9999", "year 应在 2000 至 2100 之间"),
    ("ends_on = 2024-09-30", "ends_on = 9999-12-31", "ends_on 应在 2023-01-01 至 2025-12-31 之间"),
    ("starts_on = 2024-09-01", "starts_on = 0001-01-01", "starts_on 应在 2023-01-01 至 2025-12-31 之间"),
    ("report_due_at = 2024-10-10T23:59:59+08:00", "report_due_at = 9999-12-31T23:59:59+08:00", "report_due_at 应在"),
    ("number = 1", "number = 2147483648", "number 应为 0 至 2147483647 之间的整数"),
])
def test_campaign_file_with_hostile_numbers_or_dates_is_refused(client, login_as, old, new, message):
    login_as("province")
    response = upload_campaign(client, campaign_text(**{old: new}))
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    assert db.session.scalar(select(Campaign).where(Campaign.slug == "hostile")) is None


def test_a_campaign_of_the_last_year_is_not_cloned_past_it(client, login_as):
    login_as("province")
    text = campaign_text(**{"year = 2024": "year = 2100", "starts_on = 2024-09-01": "starts_on = 2100-09-01",
                            "ends_on = 2024-09-30": "ends_on = 2100-09-30",
                            "report_due_at = 2024-10-10": "report_due_at = 2100-10-10",
                            "issued_on = 2024-08-29": "issued_on = 2100-08-29"})
    assert upload_campaign(client, text).status_code == 302
    campaign = db.session.scalar(select(Campaign).where(Campaign.slug == "hostile"))
    token = csrf_token_from(client.get("/board/campaigns").get_data(as_text=True))
    response = client.post(f"/board/campaigns/{campaign.id}/clone", data={"csrf_token": token}, follow_redirects=True)
    assert response.status_code == 200
    assert "活动年度不能晚于2100年。" in response.get_data(as_text=True)
    assert db.session.scalar(select(func.count(Campaign.id)).where(Campaign.year == 2101)) == 0


HOSTILE_BODY = {"participants": "--5", "fig_trainees": "9" * 5000, "fig_slogans": "²", "kind": "training",
                "ids": ["²", "1" * 30], "page": "9" * 30, "due_date": "9999-12-31", "revision": "²",
                "op": "add:²", "item": "٣", "issued_on": "0001-01-01", "signed_on": "²０２４-01-01"}


def test_anonymous_posts_with_hostile_numbers_get_the_anonymous_answer(app, client):
    answers = {}
    for rule in app.url_map.iter_rules():
        if "POST" not in rule.methods:
            continue
        path = path_with(rule.rule, "1")
        response = client.post(path, data=HOSTILE_BODY)
        html = response.get_data(as_text=True)
        assert "Traceback" not in html
        answers[rule.rule] = response.status_code
        if response.status_code == 302:
            assert "/login" in response.headers["Location"], rule.rule
    assert len(answers) > 25
    assert all(status in (302, 400, 401, 403, 404, 422) for status in answers.values()), answers
