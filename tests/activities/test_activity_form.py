"""Registering an activity: the form, its validation and exactly-once creation."""
import re

import pytest
from sqlalchemy import func, select

from qmonth.extensions import db
from qmonth.models import Activity, ActivityState, AuditEvent

from tests.helpers import csrf_token_from


def form_page(client, path="/activities/new"):
    html = client.get(path).get_data(as_text=True)
    key = re.search(r'name="form_key" type="hidden" value="([0-9a-f]+)"', html) or re.search(
        r'id="form_key" name="form_key" type="hidden" value="([0-9a-f]+)"', html)
    return html, csrf_token_from(html), (key.group(1) if key else "")


def valid_fields(**overrides):
    fields = {
        "title": "济南市2024年“质量月”质量安全讲堂",
        "kind": "training",
        "tasks": ["2"],
        "organiser": "济南市住房和城乡建设局",
        "co_organisers": "济南市建筑业协会",
        "starts_on": "2024-09-12",
        "ends_on": "2024-09-12",
        "county": "历下区",
        "address": "经十路 9999 号",
        "participants": "260",
        "description": "邀请专家解读《建设工程见证检测标准》。",
        "results": "参训人员掌握了见证检测要点。",
        "contact_name": "王磊",
        "contact_phone": "0531-51760000",
        "fig_mode": "线上线下结合",
        "fig_trainees": "260",
        "fig_class_hours": "4",
        "fig_standards": "GB 50300",
        "no_fee_declared": "y",
        "action": "save",
    }
    fields.update(overrides)
    return fields


def post_new(client, **overrides):
    _html, token, key = form_page(client)
    return client.post("/activities/new", data={"csrf_token": token, "form_key": key, **valid_fields(**overrides)})


def count_activities():
    return db.session.scalar(select(func.count(Activity.id)))


def test_reporter_saves_a_draft_with_the_kinds_figures(client, login_as):
    login_as("jinan-zj")
    before = count_activities()
    response = post_new(client)
    assert response.status_code == 302
    activity = db.session.scalar(select(Activity).order_by(Activity.id.desc()))
    assert count_activities() == before + 1
    assert activity.state is ActivityState.DRAFT
    assert activity.unit.code == "jinan-zj" and activity.author.username == "jinan-zj"
    assert activity.figures == {"mode": "线上线下结合", "trainees": 260, "class_hours": 4, "standards": "GB 50300"}
    assert [t.number for t in activity.tasks] == [2]
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "草稿已保存。" in page
    assert "260 人次" in page and "4 学时" in page


def test_submitting_at_once_needs_the_declaration(client, login_as):
    login_as("jinan-zj")
    before = count_activities()
    response = post_new(client, no_fee_declared="", action="submit")
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "报送前须确认活动坚持自愿参与原则" in html
    assert count_activities() == before
    assert 'value="济南市2024年“质量月”质量安全讲堂"' in html  # input intact
    assert "邀请专家解读《建设工程见证检测标准》。" in html

    ok = post_new(client, action="submit")
    assert ok.status_code == 302
    activity = db.session.scalar(select(Activity).order_by(Activity.id.desc()))
    assert activity.state is ActivityState.SUBMITTED and activity.submitted_at is not None


def test_a_draft_does_not_need_the_declaration(client, login_as):
    login_as("jinan-zj")
    before = count_activities()
    assert post_new(client, no_fee_declared="", action="save").status_code == 302
    assert count_activities() == before + 1
    draft = db.session.scalar(select(Activity).order_by(Activity.id.desc()).limit(1))
    assert draft.state is ActivityState.DRAFT and draft.no_fee_declared is False


@pytest.mark.parametrize("overrides, field, message", [
    ({"title": "   "}, "title", "请填写活动名称。"),
    ({"title": "长" * 101}, "title", "活动名称不能超过 100 个字。"),
    ({"kind": ""}, "kind", "请选择活动类型。"),
    ({"kind": "no-such-kind"}, "kind", "请选择活动类型。"),
    ({"tasks": []}, "tasks", "请至少选择一项重点任务。"),
    ({"starts_on": "2024-08-31"}, "starts_on", "开始日期须在活动期间内（2024-09-01 至 2024-09-30）。"),
    ({"ends_on": "2024-10-01"}, "ends_on", "结束日期须在活动期间内（2024-09-01 至 2024-09-30）。"),
    ({"starts_on": "2024-09-20", "ends_on": "2024-09-19"}, "ends_on", "结束日期不能早于开始日期。"),
    ({"starts_on": "2024/9/20"}, "starts_on", "开始日期格式不正确"),
    ({"participants": "-5"}, "participants", "参与人次不能小于 0。"),
    ({"participants": "十二"}, "participants", "参与人次应为整数。"),
    ({"participants": "3.5"}, "participants", "参与人次应为整数。"),
    ({"fig_trainees": "-1"}, "fig_trainees", "培训人数不能小于 0。"),
    ({"fig_class_hours": "abc"}, "fig_class_hours", "培训学时应为整数。"),
    ({"fig_mode": "函授"}, "fig_mode", "请从列表中选择培训方式。"),
    ({"county": "历下\x07区"}, "county", "内容包含不可见的控制字符"),
    ({"address": "经十路\u202e号"}, "address", "内容包含文字方向控制字符"),
    ({"description": "内容\x00"}, "description", "内容包含空字符（NUL）"),
    ({"description": "字" * 5001}, "description", "活动内容不能超过 5000 个字。"),
])
def test_each_validation_rule_has_its_chinese_message(client, login_as, overrides, field, message):
    login_as("jinan-zj")
    before = count_activities()
    response = post_new(client, **overrides)
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert message in html
    assert count_activities() == before
    # The message sits next to its field, and what was typed is still there.
    assert "王磊" in html and "0531-51760000" in html


def test_text_is_trimmed_and_nfc_normalised(client, login_as):
    login_as("jinan-zj")
    post_new(client, title="  Cafe\u0301 质量讲堂  ", description="第一行\r\n第二行")
    activity = db.session.scalar(select(Activity).order_by(Activity.id.desc()))
    assert activity.title == "Caf\u00e9 质量讲堂"
    assert activity.description == "第一行\n第二行"


def test_the_same_form_posted_twice_creates_one_activity(client, login_as):
    login_as("jinan-zj")
    _html, token, key = form_page(client)
    data = {"csrf_token": token, "form_key": key, **valid_fields()}
    before = count_activities()
    first = client.post("/activities/new", data=data)
    second = client.post("/activities/new", data=data)
    third = client.post("/activities/new", data=data)
    assert count_activities() == before + 1
    assert first.headers["Location"] == second.headers["Location"] == third.headers["Location"]
    created_id = int(first.headers["Location"].rsplit("/", 1)[1])
    creates = db.session.scalar(select(func.count(AuditEvent.id)).where(
        AuditEvent.action == "activity.create", AuditEvent.object_id == created_id))
    assert creates == 1


def test_an_expired_csrf_token_keeps_the_input(client, login_as):
    login_as("jinan-zj")
    _html, _token, key = form_page(client)
    before = count_activities()
    response = client.post("/activities/new", data={"csrf_token": "expired-token", "form_key": key, **valid_fields()})
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "页面已过期，已为您保留填写的内容" in html
    assert "邀请专家解读《建设工程见证检测标准》。" in html and 'value="历下区"' in html
    assert 'value="线上线下结合" selected' in html
    assert count_activities() == before
    fresh = csrf_token_from(html)
    assert fresh != "expired-token"
    again = client.post("/activities/new", data={"csrf_token": fresh, "form_key": key, **valid_fields()})
    assert again.status_code == 302
    assert count_activities() == before + 1


def test_an_expired_session_keeps_the_input_and_logs_in_again(app, client, login_as):
    login_as("jinan-zj")
    _html, token, key = form_page(client)
    # The session ends while the clerk is typing (e.g. a restart with a new key).
    fresh_client = app.test_client()
    response = fresh_client.post("/activities/new", data={"csrf_token": token, "form_key": key, **valid_fields()})
    html = response.get_data(as_text=True)
    assert response.status_code == 401
    assert "登录已超时。填写的内容已保留" in html
    assert "邀请专家解读《建设工程见证检测标准》。" in html
    before = count_activities()
    resumed = fresh_client.post("/activities/new", data={
        "csrf_token": csrf_token_from(html), "form_key": key, "relogin_username": "jinan-zj",
        "relogin_password": "qmonth-demo", **valid_fields()})
    assert resumed.status_code == 302
    assert count_activities() == before + 1
    activity = db.session.scalar(select(Activity).order_by(Activity.id.desc()))
    assert activity.author.username == "jinan-zj"


def test_kind_swap_returns_the_new_kinds_fields_and_keeps_shared_values(client, login_as):
    login_as("jinan-zj")
    response = client.get("/activities/figures?kind=publicity&fig_reach=5000",
                          headers={"HX-Request": "true"})
    html = response.get_data(as_text=True)
    assert html.lstrip().startswith('<fieldset id="figures"')
    assert "<html" not in html
    assert "宣传渠道" in html and "公众号" in html
    # The 12 slogans are offered for publicity.
    assert html.count('name="fig_slogans"') == 12
    assert "以匠心筑精品 共享美好生活" in html
    assert 'name="fig_reach" type="text" inputmode="numeric" autocomplete="off" value="5000"' in html
    inspection = client.get("/activities/figures?kind=inspection", headers={"HX-Request": "true"}).get_data(as_text=True)
    assert "督导检查项目" in inspection and "宣传渠道" not in inspection


def test_slogans_chosen_are_stored_as_numbers(client, login_as):
    login_as("jinan-zj")
    post_new(client, kind="publicity", tasks=["1"], fig_slogans=["4", "12", "99"], fig_channels=["公众号", "假渠道"])
    activity = db.session.scalar(select(Activity).order_by(Activity.id.desc()))
    assert activity.figures["slogans"] == [4, 12]
    assert activity.figures["channels"] == ["公众号"]
    page = client.get(f"/activities/{activity.id}").get_data(as_text=True)
    assert "提升工程品质 共享美好生活" in page


def test_leaving_a_field_checks_it(client, login_as):
    login_as("jinan-zj")
    _html, token, _key = form_page(client)
    response = client.post("/activities/check?field=starts_on", data={**valid_fields(starts_on="2024-10-05")},
                           headers={"HX-Request": "true", "X-CSRFToken": token})
    html = response.get_data(as_text=True)
    assert html.strip().startswith('<p class="field-error" id="err-starts_on">')
    assert "开始日期须在活动期间内" in html
    fine = client.post("/activities/check?field=title", data=valid_fields(),
                       headers={"HX-Request": "true", "X-CSRFToken": token}).get_data(as_text=True)
    assert fine.strip() == '<p class="field-error" id="err-title"></p>'


def test_the_form_never_sets_state_unit_or_author(client, login_as):
    login_as("jinan-zj")
    post_new(client, state="accepted", unit_id="5", author_id="1", is_highlight="y", unit="heze-sw",
             campaign_id="99")
    activity = db.session.scalar(select(Activity).order_by(Activity.id.desc()))
    assert activity.state is ActivityState.DRAFT
    assert activity.unit.code == "jinan-zj" and activity.author.username == "jinan-zj"
    assert activity.is_highlight is False


def test_editing_records_the_changed_fields(client, login_as, make_activity):
    activity = make_activity("jinan-zj", title="旧名称")
    login_as("jinan-zj")
    html, token, _ = form_page(client, f"/activities/{activity.id}/edit")
    assert 'value="旧名称"' in html
    response = client.post(f"/activities/{activity.id}/edit", data={
        "csrf_token": token, **valid_fields(title="新名称", participants="300")})
    assert response.status_code == 302
    event = db.session.scalar(select(AuditEvent).where(
        AuditEvent.action == "activity.edit", AuditEvent.object_id == activity.id))
    assert event.changes["title"] == ["旧名称", "新名称"]
    assert event.changes["participants"] == [120, 300]
    assert "title" in event.changes and "unit" not in event.changes


def test_submitted_entries_cannot_be_edited(client, login_as, make_activity):
    activity = make_activity("jinan-zj", state=ActivityState.SUBMITTED)
    login_as("jinan-zj")
    assert client.get(f"/activities/{activity.id}/edit").status_code == 302
    _html, token, _ = form_page(client)
    response = client.post(f"/activities/{activity.id}/edit", data={"csrf_token": token, **valid_fields(title="改")})
    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.get(Activity, activity.id).title == "质量安全讲堂"


def test_province_registers_its_own_activities(client, login_as):
    """The issuing department is the root of the tree, and registers its own actions."""
    login_as("province")
    response = client.get("/activities/new")
    assert response.status_code == 200 and "山东省住房和城乡建设厅" in response.get_data(as_text=True)
