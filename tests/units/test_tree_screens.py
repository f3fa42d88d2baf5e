"""The tree screens (/admin/units): a node's admin adds, renames, moves and retires the units below
it; bad input comes back in Chinese, with what was typed, and changes nothing."""
from __future__ import annotations

from sqlalchemy import func, select

from qmonth.extensions import db
from qmonth.models import ActivityState, Unit

from tests.helpers import build_activity, clear_activities, token, unit


def _count_units() -> int:
    return db.session.scalar(select(func.count(Unit.id)))


def test_a_city_admin_sees_its_counties_and_adds_one(client, login_as):
    login_as("jinan-zj-admin")
    page = client.get("/admin/units").get_data(as_text=True)
    assert "历下区住房城乡建设局" in page and "商河县住房城乡建设局" in page and "青岛" not in page
    response = client.post("/admin/units/new", data={
        "csrf_token": token(client, "/admin/units"), "parent": "jinan-zj", "name": "起步区建设管理部",
        "code": "jinan-qibu-zj"})
    assert response.status_code == 302
    new = unit("jinan-qibu-zj")
    assert new.parent_id == unit("jinan-zj").id and new.path == f"{unit('jinan-zj').path}{new.id}/"
    assert "起步区建设管理部" in client.get("/admin/units").get_data(as_text=True)


def test_a_duplicate_code_is_refused_and_the_input_kept(client, login_as):
    login_as("jinan-zj-admin")
    before = _count_units()
    response = client.post("/admin/units/new", data={
        "csrf_token": token(client, "/admin/units"), "parent": "jinan-zj", "name": "新的市中区局",
        "code": "jinan-shizhong-zj"})
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "单位代码 jinan-shizhong-zj 已被“市中区住房城乡建设局”使用" in html
    assert 'value="新的市中区局"' in html and 'value="jinan-shizhong-zj"' in html
    assert _count_units() == before


def test_a_parent_outside_the_subtree_is_refused(client, login_as):
    login_as("jinan-zj-admin")
    before = _count_units()
    response = client.post("/admin/units/new", data={
        "csrf_token": token(client, "/admin/units"), "parent": "qingdao-zj", "name": "崂山区住建局",
        "code": "qingdao-laoshan-zj"})
    assert response.status_code == 422 and _count_units() == before


def test_moving_a_city_under_its_own_county_is_refused_in_chinese(client, login_as):
    login_as("province")
    response = client.post("/admin/units/jinan-zj/move", data={
        "csrf_token": token(client, "/admin/units"), "parent": "jinan-lixia-zj"})
    assert response.status_code == 409
    assert "形成循环" in response.get_data(as_text=True)
    assert unit("jinan-zj").parent_id == unit("shandong-zjt").id


def test_retiring_a_county_with_entries_is_refused_and_nothing_changes(client, login_as):
    clear_activities()
    build_activity("jinan-lixia-zj", "历下区质量安全讲堂", state=ActivityState.SUBMITTED)
    login_as("jinan-zj-admin")
    response = client.post("/admin/units/jinan-lixia-zj/retire", data={"csrf_token": token(client, "/admin/units")})
    assert response.status_code == 409
    assert "已登记 1 项活动，不能撤销" in response.get_data(as_text=True)
    db.session.expire_all()
    assert unit("jinan-lixia-zj").retired_at is None


def test_an_empty_name_is_refused_and_a_rename_is_shown(client, login_as):
    login_as("jinan-zj-admin")
    response = client.post("/admin/units/jinan-laiwu-zj/rename", data={
        "csrf_token": token(client, "/admin/units"), "name": "  "})
    assert response.status_code == 422 and "请填写新名称" in response.get_data(as_text=True)
    response = client.post("/admin/units/jinan-laiwu-zj/rename", data={
        "csrf_token": token(client, "/admin/units"), "name": "莱芜区住房和城乡建设局"})
    assert response.status_code == 302
    db.session.expire_all()
    assert unit("jinan-laiwu-zj").name == "莱芜区住房和城乡建设局"


def test_a_node_changes_only_the_units_below_it(client, login_as):
    login_as("jinan-zj-admin")
    csrf = token(client, "/admin/units")
    assert client.post("/admin/units/jinan-zj/rename", data={"csrf_token": csrf, "name": "x"}).status_code == 403
    assert client.post("/admin/units/qingdao-zj/rename", data={"csrf_token": csrf, "name": "x"}).status_code == 404
    login_as("jinan-lixia-zj-admin")
    page = client.get("/admin/units").get_data(as_text=True)
    assert "历下区住房城乡建设局" in page and "市中区住房城乡建设局" not in page
    csrf = token(client, "/admin/units")
    assert client.post("/admin/units/jinan-shizhong-zj/retire", data={"csrf_token": csrf}).status_code == 404
    login_as("jinan-lixia-zj")
    assert client.get("/admin/units").status_code == 403


def test_the_roots_form_offers_the_notices_actions_and_prefills_one(client, login_as):
    login_as("province")
    page = client.get("/activities/new").get_data(as_text=True)
    assert "通知列明的本厅活动（16 项）" in page
    assert "2024年山东省“技能兴鲁”职业技能大赛" in page and "第二轮质量安全辅助巡查" in page
    picked = client.get("/activities/new?action=6").get_data(as_text=True)
    assert 'value="2024年山东省“技能兴鲁”职业技能大赛"' in picked
    assert '<option selected value="competition">' in picked
    login_as("jinan-zj")
    assert "通知列明的本厅活动" not in client.get("/activities/new").get_data(as_text=True)


def test_the_province_registers_its_own_activity(client, login_as):
    from tests.helpers import csrf_token_from, user

    clear_activities()
    login_as("province")
    page = client.get("/activities/new?action=2").get_data(as_text=True)
    response = client.post("/activities/new", data={
        "csrf_token": csrf_token_from(page), "form_key": _form_key(page),
        "title": "质量安全讲堂：解读《建设工程见证检测标准》", "kind": "training", "tasks": ["2"],
        "organiser": "山东省住房和城乡建设厅", "starts_on": "2024-09-12", "ends_on": "2024-09-12",
        "action": "draft"})
    assert response.status_code in (302, 303), response.get_data(as_text=True)[:500]
    from qmonth.models import Activity

    activity = db.session.scalar(select(Activity).order_by(Activity.id.desc()))
    assert activity.unit_id == unit("shandong-zjt").id and activity.author_id == user("province").id


def _form_key(html: str) -> str:
    import re

    match = re.search(r'name="form_key"[^>]*value="([^"]*)"', html) or re.search(
        r'value="([^"]*)"[^>]*name="form_key"', html)
    return match.group(1) if match else ""
