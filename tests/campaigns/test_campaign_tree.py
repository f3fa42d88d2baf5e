"""The tree belongs to its campaign: after 2025 is activated, a rename and a move on the units
screen change 2025's tree only. 2024's entries keep their 2024 unit names, parents and scopes (the
old city still sees and reviews its moved county's 2024 entries; the new city does not), and the
2025 board's 2024 figures count each city's 2024 subtree."""
from sqlalchemy import func, select, text

from qmonth.board.rows import build_board
from qmonth.extensions import db
from qmonth.models import Activity, ActivityState, CampaignUnit, Reminder, ReminderRecipient

from tests.campaigns.test_campaign_context import campaign_named, start_2025
from tests.helpers import build_activity, campaign, clear_activities, token, unit
from tests.units.test_tree_upgrade import old_database_url  # noqa: F401 (fixture)

LICHENG_2024 = "历城区住房城乡建设局"
LICHENG_2025 = "济南市历城区住房和城乡建设局"


def _entries_2024():
    clear_activities()
    licheng = build_activity("jinan-licheng-zj", "历城区质量讲堂", state=ActivityState.SUBMITTED)
    zhangqiu = build_activity("jinan-zhangqiu-zj", "章丘区工地观摩", state=ActivityState.SUBMITTED)
    return licheng.id, zhangqiu.id


def _rename_and_move(client, login_as) -> None:
    """On the units screen, as the province: rename 历城区's bureau, move 章丘区's under 青岛."""
    login_as("province")
    response = client.post("/admin/units/jinan-licheng-zj/rename", data={
        "csrf_token": token(client, "/admin/units"), "name": LICHENG_2025})
    assert response.status_code == 302
    response = client.post("/admin/units/jinan-zhangqiu-zj/move", data={
        "csrf_token": token(client, "/admin/units"), "parent": "qingdao-zj"})
    assert response.status_code == 302
    db.session.expire_all()
    assert unit("jinan-zhangqiu-zj").parent_id == unit("qingdao-zj").id


def test_activating_2025_keeps_2024s_tree_as_it_stood(client, login_as):
    assert unit("jinan-licheng-zj").name == LICHENG_2024
    start_2025(client, login_as)
    _rename_and_move(client, login_as)
    year_2024 = campaign_named("2024-shandong")
    kept = db.session.get(CampaignUnit, (year_2024.id, unit("jinan-licheng-zj").id))
    assert kept.name == LICHENG_2024
    moved = db.session.get(CampaignUnit, (year_2024.id, unit("jinan-zhangqiu-zj").id))
    assert moved.parent_id == unit("jinan-zj").id and moved.path.startswith(unit("jinan-zj").path)
    # The whole tree, once: activating 2025 again (or anything else) does not write it twice.
    rows = db.session.scalar(select(func.count()).select_from(CampaignUnit))
    assert rows == db.session.scalar(select(func.count()).select_from(CampaignUnit).where(
        CampaignUnit.campaign_id == year_2024.id)) > 50
    assert not db.session.scalar(select(func.count()).select_from(CampaignUnit).where(
        CampaignUnit.campaign_id == campaign_named("2025-shandong").id))


def test_a_2024_entry_shows_its_2024_unit_name_after_a_rename(client, login_as):
    licheng, _zhangqiu = _entries_2024()
    start_2025(client, login_as)
    _rename_and_move(client, login_as)
    page = client.get(f"/activities/{licheng}").get_data(as_text=True)
    assert f"{LICHENG_2024} · " in page and LICHENG_2025 not in page
    # A 2025 entry of the same unit carries the new name.
    fresh = build_activity("jinan-licheng-zj", "历城区2025年讲堂", state=ActivityState.SUBMITTED,
                           starts_on=campaign().starts_on)
    assert f"{LICHENG_2025} · " in client.get(f"/activities/{fresh.id}").get_data(as_text=True)


def test_the_old_city_keeps_its_moved_countys_2024_entries_and_the_new_city_gets_2025s(client, login_as):
    _licheng, zhangqiu = _entries_2024()
    start_2025(client, login_as)
    _rename_and_move(client, login_as)
    fresh = build_activity("jinan-zhangqiu-zj", "章丘区2025年观摩", state=ActivityState.SUBMITTED,
                           starts_on=campaign().starts_on).id

    login_as("jinan-zj-admin")
    page = client.get(f"/activities/{zhangqiu}")
    assert page.status_code == 200 and "章丘区工地观摩" in page.get_data(as_text=True)
    assert client.get(f"/activities/{fresh}").status_code == 404
    assert "章丘区2025年观摩" not in client.get("/activities/").get_data(as_text=True)
    # It is still 济南's to review: the parent in 2024's tree accepts.
    response = client.post(f"/reviews/{zhangqiu}/accept", data={"csrf_token": token(client, f"/activities/{zhangqiu}")})
    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.get(Activity, zhangqiu).state is ActivityState.ACCEPTED

    login_as("qingdao-zj-admin")
    assert client.get(f"/activities/{zhangqiu}").status_code == 404
    assert client.post(f"/reviews/{zhangqiu}/accept", data={
        "csrf_token": token(client, "/activities/")}).status_code == 404
    assert client.get(f"/activities/{fresh}").status_code == 200
    assert "章丘区2025年观摩" in client.get("/activities/").get_data(as_text=True)


def test_the_2025_boards_2024_figures_count_each_citys_2024_subtree(client, login_as):
    clear_activities()
    build_activity("jinan-zhangqiu-zj", "章丘区工地观摩", state=ActivityState.ACCEPTED)
    build_activity("jinan-zj", "济南市质量宣传", state=ActivityState.SUBMITTED)
    start_2025(client, login_as)
    _rename_and_move(client, login_as)
    rows = {row.unit.code: row for row in build_board(campaign()).rows}
    assert rows["jinan-zj"].previous_counted == 2  # its own and 章丘区's, as in 2024
    assert rows["qingdao-zj"].previous_counted == 0  # 章丘区 joined it in 2025


def test_the_upgrade_gives_campaigns_before_the_active_one_their_tree(database, old_database_url, tmp_path):
    """Migration e2c7a95b1d43 on a database with 2024 run and 2025 active: 2024 gets today's tree
    (the best record of it there is), 2025 none (it reads the live one)."""
    from flask_migrate import upgrade

    from qmonth.campaigns.services import clone_campaign
    from qmonth.models import Campaign, Unit, User

    from tests.conftest import CAMPAIGN_FILE, _make_app

    instance = tmp_path / "old-instance"
    instance.mkdir()
    app = _make_app(instance, old_database_url)
    with app.app_context():
        upgrade(revision="7c1e5a3f9d20")
        # Today's models fill the old schema: the later column stands in meanwhile.
        db.session.execute(text("ALTER TABLE campaign ADD COLUMN held_units JSON"))
        runner = app.test_cli_runner()
        assert runner.invoke(args=["campaign", "load", str(CAMPAIGN_FILE)]).exit_code == 0
        source = db.session.scalar(select(Campaign).where(Campaign.year == 2024))
        clone_campaign(source, by=db.session.scalar(select(User).limit(1)))
        db.session.execute(Campaign.__table__.update().values(is_active=Campaign.year == 2025))
        db.session.commit()
        units = db.session.scalar(select(func.count()).select_from(Unit))
        db.session.execute(text("ALTER TABLE campaign DROP COLUMN held_units"))
        db.session.commit()
        db.session.remove()

        upgrade()

        by_campaign = dict(db.session.execute(select(CampaignUnit.campaign_id, func.count())
                                              .group_by(CampaignUnit.campaign_id)).all())
        year_2024 = db.session.scalar(select(Campaign.id).where(Campaign.year == 2024))
        assert by_campaign == {year_2024: units}
        db.session.remove()
        db.engine.dispose()


def test_the_root_returning_a_moved_countys_2024_entry_tells_its_2024_city(client, login_as):
    _licheng, zhangqiu = _entries_2024()
    start_2025(client, login_as)
    _rename_and_move(client, login_as)
    response = client.post(f"/reviews/{zhangqiu}/return", data={
        "csrf_token": token(client, f"/activities/{zhangqiu}"), "reason": "请补充现场照片。"})
    assert response.status_code == 302
    db.session.expire_all()
    told = set(db.session.scalars(select(ReminderRecipient.unit_id).join(Reminder).where(
        Reminder.message.contains("章丘区工地观摩"))))
    assert told == {unit("jinan-zhangqiu-zj").id, unit("jinan-zj").id}


def test_uploading_2024s_file_again_in_2025_leaves_the_live_tree_as_2025_has_it(client, login_as):
    """The units of a past campaign's file are that year's tree (kept in campaign_unit): loading it
    again to correct its catalogue does not rename 2025's units back."""
    import io

    from tests.conftest import CAMPAIGN_FILE

    start_2025(client, login_as)
    renamed = "济南市住房和城乡建设局（2025年更名）"
    response = client.post("/admin/units/jinan-zj/rename", data={
        "csrf_token": token(client, "/admin/units"), "name": renamed})
    assert response.status_code == 302
    text = CAMPAIGN_FILE.read_text(encoding="utf-8")
    response = client.post("/board/campaigns/upload", data={
        "csrf_token": token(client, "/board/campaigns"),
        "file": (io.BytesIO(text.encode("utf-8")), "2024-shandong.toml")}, content_type="multipart/form-data")
    assert response.status_code == 302
    db.session.expire_all()
    assert unit("jinan-zj").name == renamed
    year_2024 = campaign_named("2024-shandong")
    assert db.session.get(CampaignUnit, (year_2024.id, unit("jinan-zj").id)).name == "济南市住房和城乡建设局"
    assert campaign_named("2025-shandong").is_active
