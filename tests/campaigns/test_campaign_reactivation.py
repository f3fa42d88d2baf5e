"""Making a past campaign the active one again: it would read the live tree, so it is refused
while the tree differs from the one that campaign ran on (a unit renamed, moved, retired or
added since), with the differences named on the campaigns page, and allowed when they are the
same."""
import pytest
from sqlalchemy import func, select

from qmonth.extensions import db
from qmonth.models import CampaignUnit

from tests.campaigns.test_campaign_context import campaign_named, start_2025
from tests.campaigns.test_campaign_tree import LICHENG_2024, LICHENG_2025, _rename_and_move
from tests.helpers import token, unit


def _frozen_rows(slug: str) -> int:
    return db.session.scalar(select(func.count()).select_from(CampaignUnit).where(
        CampaignUnit.campaign_id == campaign_named(slug).id))


def _activate(client, slug: str):
    return client.post(f"/board/campaigns/{campaign_named(slug).id}/activate",
                       data={"csrf_token": token(client, "/board/campaigns")})


def test_reactivating_2024_after_a_rename_and_a_move_is_refused_and_changes_nothing(client, login_as):
    start_2025(client, login_as)
    _rename_and_move(client, login_as)
    kept = _frozen_rows("2024-shandong")

    response = _activate(client, "2024-shandong")
    assert response.status_code == 409
    html = response.get_data(as_text=True)
    assert "2024年活动的单位结构与当前不同" in html and "不能重新启用；如需继续，请新建年度活动。" in html
    assert f"“{LICHENG_2024}”更名为“{LICHENG_2025}”" in html
    assert "“章丘区住房城乡建设局”由“济南市住房和城乡建设局”调整到“青岛市住房和城乡建设局”之下" in html

    db.session.expire_all()
    assert campaign_named("2025-shandong").is_active and not campaign_named("2024-shandong").is_active
    assert _frozen_rows("2024-shandong") == kept and _frozen_rows("2025-shandong") == 0


@pytest.mark.parametrize("change, named", [
    ("add", "新增“济南市起步区住房城乡建设局”"),
    ("retire", "“平阴县住房城乡建设局”已撤销"),
])
def test_a_unit_added_or_retired_since_also_refuses_reactivation(client, login_as, change, named):
    start_2025(client, login_as)
    login_as("province")
    if change == "add":
        response = client.post("/admin/units/new", data={
            "csrf_token": token(client, "/admin/units"), "parent": "jinan-zj", "code": "jinan-qibu-zj",
            "name": "济南市起步区住房城乡建设局"})
    else:
        response = client.post("/admin/units/jinan-pingyin-zj/retire", data={
            "csrf_token": token(client, "/admin/units")})
    assert response.status_code == 302

    response = _activate(client, "2024-shandong")
    assert response.status_code == 409
    assert named in response.get_data(as_text=True)
    db.session.expire_all()
    assert campaign_named("2025-shandong").is_active


def test_many_differences_are_summed_up(client, login_as):
    start_2025(client, login_as)
    login_as("province")
    for code in ("jinan-lixia-zj", "jinan-shizhong-zj", "jinan-huaiyin-zj", "jinan-tianqiao-zj"):
        client.post(f"/admin/units/{code}/rename", data={
            "csrf_token": token(client, "/admin/units"), "name": f"{unit(code).name}（新）"})
    html = _activate(client, "2024-shandong").get_data(as_text=True)
    assert "等 4 处变化" in html and "天桥区住房城乡建设局（新）" not in html


def test_reactivating_2024_with_the_tree_unchanged_works_and_keeps_its_later_tree(client, login_as):
    start_2025(client, login_as)
    login_as("province")
    response = _activate(client, "2024-shandong")
    assert response.status_code == 302
    db.session.expire_all()
    assert campaign_named("2024-shandong").is_active and not campaign_named("2025-shandong").is_active
    # 2024 reads the live tree again; 2025, left, keeps the tree it had.
    assert _frozen_rows("2024-shandong") == 0 and _frozen_rows("2025-shandong") > 50

    # A rename while 2024 is active again is 2024's: the tree it keeps is the one it ends with.
    client.post("/admin/units/jinan-licheng-zj/rename", data={
        "csrf_token": token(client, "/admin/units"), "name": LICHENG_2025})
    # 2025 ran on the old name, so it cannot come back; a new campaign (2026) takes over.
    assert _activate(client, "2025-shandong").status_code == 409
    client.post(f"/board/campaigns/{campaign_named('2025-shandong').id}/clone",
                data={"csrf_token": token(client, "/board/campaigns")})
    assert _activate(client, "2026-shandong").status_code == 302
    db.session.expire_all()
    licheng = unit("jinan-licheng-zj").id
    assert db.session.get(CampaignUnit, (campaign_named("2024-shandong").id, licheng)).name == LICHENG_2025
    assert db.session.get(CampaignUnit, (campaign_named("2025-shandong").id, licheng)).name == LICHENG_2024


def test_the_campaigns_page_says_beforehand_which_past_campaign_cannot_come_back(client, login_as):
    start_2025(client, login_as)
    login_as("province")
    year_2024 = campaign_named("2024-shandong").id
    html = client.get("/board/campaigns").get_data(as_text=True)
    assert f"/board/campaigns/{year_2024}/activate" in html  # the tree is as 2024 left it
    _rename_and_move(client, login_as)
    html = client.get("/board/campaigns").get_data(as_text=True)
    assert f"/board/campaigns/{year_2024}/activate" not in html
    assert f"单位结构已变化，不能重新启用（“{LICHENG_2024}”更名为“{LICHENG_2025}”" in html
