"""Campaigns over the years: load a file, clone this year's for the next, choose the active one."""
import io
import re

from sqlalchemy import func, select, update

from qmonth.board.rows import build_board
from qmonth.extensions import db
from qmonth.campaigns.services import active_campaign
from qmonth.models import Activity, ActivityKind, AuditEvent, Campaign, Unit, UnitReport
from qmonth.timeutil import to_local
from qmonth.units import frozen_names

from tests.conftest import CAMPAIGN_FILE
from tests.helpers import token

CAMPAIGN_TEXT = CAMPAIGN_FILE.read_text(encoding="utf-8")


def campaign_named(slug: str) -> Campaign | None:
    db.session.expire_all()
    return db.session.scalar(select(Campaign).where(Campaign.slug == slug))


def catalogue(campaign: Campaign):
    return (
        [(g.number, g.title) for g in campaign.groups],
        [(t.number, t.title, t.text, t.group.number) for t in campaign.tasks],
        [(k.code, k.name, k.position, k.default_task_number, k.figures) for k in campaign.kinds],
        [(s.number, s.text) for s in campaign.slogans],
    )


def upload(client, text: str, name: str = "campaign.toml"):
    return client.post("/board/campaigns/upload", data={
        "csrf_token": token(client, "/board/campaigns"), "file": (io.BytesIO(text.encode("utf-8")), name)},
        content_type="multipart/form-data")


def post(client, path: str, **kwargs):
    return client.post(path, data={"csrf_token": token(client, "/board/campaigns")}, **kwargs)


def line_of(text: str, fragment: str) -> int:
    return text[:text.index(fragment)].count("\n") + 1


def test_cloning_2024_gives_2025_with_the_same_catalogue_and_no_entries(client, login_as):
    source = campaign_named("2024-shandong")
    login_as("province")
    response = post(client, f"/board/campaigns/{source.id}/clone")
    assert response.status_code == 302
    clone = campaign_named("2025-shandong")
    assert clone.year == 2025 and clone.title == "2025年全省住建系统“质量月”活动" and not clone.is_active
    assert (clone.starts_on.isoformat(), clone.ends_on.isoformat(), clone.issued_on.isoformat()) == (
        "2025-09-01", "2025-09-30", "2025-08-29")
    assert to_local(clone.report_due_at).isoformat() == "2025-10-10T23:59:59+08:00"
    assert (clone.theme, clone.issuer, clone.contact_people) == (source.theme, source.issuer, source.contact_people)
    assert catalogue(clone) == catalogue(source)
    assert len(clone.tasks) == 9 and len(clone.slogans) == 12
    assert db.session.scalar(select(func.count(Activity.id)).where(Activity.campaign_id == clone.id)) == 0
    assert db.session.scalar(select(func.count(UnitReport.id)).where(UnitReport.campaign_id == clone.id)) == 0
    assert db.session.scalar(select(AuditEvent).where(AuditEvent.action == "campaign.clone")).object_id == clone.id

    again = post(client, f"/board/campaigns/{source.id}/clone", follow_redirects=True)
    assert "2025年的活动已存在" in again.get_data(as_text=True)
    assert db.session.scalar(select(func.count(Campaign.id))) == 2


def test_choosing_the_active_campaign(app, client, login_as):
    source = campaign_named("2024-shandong")
    login_as("province")
    post(client, f"/board/campaigns/{source.id}/clone")
    clone = campaign_named("2025-shandong")
    response = post(client, f"/board/campaigns/{clone.id}/activate")
    assert response.status_code == 302
    db.session.expire_all()
    assert [c.slug for c in db.session.scalars(select(Campaign).where(Campaign.is_active))] == ["2025-shandong"]
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "campaign.activate"))
    assert event.changes == {"active": ["2024-shandong", "2025-shandong"]}

    # Everyone now works in 2025; the board compares each unit with 2024.
    board = client.get("/board/").get_data(as_text=True)
    assert "2025年全省住建系统" in board and "报送活动 本届/2024" in board
    with app.test_request_context():
        assert active_campaign().slug == "2025-shandong"
        assert build_board(active_campaign()).previous_year == 2024
    login_as("heze-sw")
    assert "2025年全省住建系统" in client.get("/").get_data(as_text=True)
    assert not re.search(r'<tr id="activity-\d+"', client.get("/activities/").get_data(as_text=True))


def test_a_broken_file_is_refused_with_its_line_and_nothing_is_loaded(client, login_as):
    login_as("province")
    before = db.session.scalar(select(func.count(Campaign.id)))

    broken = CAMPAIGN_TEXT.replace('slug = "2024-shandong"', 'slug = "2023-shandong', 1)
    response = upload(client, broken)
    assert response.status_code == 422
    assert f"第 {line_of(broken, 'slug = ')} 行" in response.get_data(as_text=True)

    wrong = CAMPAIGN_TEXT.replace('slug = "2024-shandong"', 'slug = "2023-shandong"').replace(
        "report_due_at = 2024-10-10T23:59:59+08:00", "report_due_at = 2024-10-10")
    page = upload(client, wrong).get_data(as_text=True)
    assert f"第 {line_of(wrong, 'report_due_at = ')} 行：report_due_at 应为带时区的日期时间" in page
    assert "活动文件未载入" in page
    assert db.session.scalar(select(func.count(Campaign.id))) == before

    assert "只能上传 .toml" in upload(client, CAMPAIGN_TEXT, name="campaign.txt").get_data(as_text=True)
    latin = client.post("/board/campaigns/upload", data={
        "csrf_token": token(client, "/board/campaigns"),
        "file": (io.BytesIO(CAMPAIGN_TEXT.encode("gb18030")), "gbk.toml")}, content_type="multipart/form-data")
    assert latin.status_code == 422 and "不是 UTF-8 编码" in latin.get_data(as_text=True)


def test_a_file_that_drops_a_kind_in_use_changes_nothing(client, login_as):
    login_as("province")
    blocks = CAMPAIGN_TEXT.split("\n[[kinds]]\n")
    without_training = "\n[[kinds]]\n".join(block for block in blocks if not block.startswith('code = "training"'))
    # The issuer's own actions of that kind go too: the file is consistent, only the database is not.
    without_training = without_training.replace('kind = "training"', 'kind = "site_tour"')
    assert len(without_training) < len(CAMPAIGN_TEXT)
    response = upload(client, without_training)
    assert response.status_code == 422 and "正在使用的类型" in response.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.scalar(select(ActivityKind).where(ActivityKind.code == "training")) is not None


def test_a_good_file_is_loaded(client, login_as):
    login_as("province")
    text = (CAMPAIGN_TEXT.replace('slug = "2024-shandong"', 'slug = "2023-shandong"')
            .replace("year = 2024", "year = 2023"))
    response = upload(client, text)
    assert response.status_code == 302
    loaded = campaign_named("2023-shandong")
    assert loaded.year == 2023 and not loaded.is_active and len(loaded.kinds) == 9
    assert campaign_named("2024-shandong").is_active
    page = client.get("/board/campaigns").get_data(as_text=True)
    assert "2023-shandong" in page and "当前活动" in page


def test_campaigns_are_managed_by_the_province(client, login_as):
    login_as("heze-sw-admin")
    assert client.get("/board/campaigns").status_code == 403
    source = campaign_named("2024-shandong")
    assert client.post(f"/board/campaigns/{source.id}/clone", data={"csrf_token": token(client)}).status_code == 403
    assert campaign_named("2025-shandong") is None


def next_years_file(*, rename_qingdao: str) -> str:
    """2025's campaign file: 青岛's bureau renamed, a new bureau added."""
    return (CAMPAIGN_TEXT.replace('slug = "2024-shandong"', 'slug = "2025-shandong"')
            .replace("year = 2024", "year = 2025")
            .replace('name = "青岛市住房和城乡建设局"', f'name = "{rename_qingdao}"')
            + '\n[[units]]\ncode = "hezexinqu-zj"\nname = "菏泽市新区住房和城乡建设局"\ncity = "菏泽"\ndept = "zj"\n')


def test_next_years_file_leaves_the_running_campaigns_units_alone_until_it_is_active(client, login_as):
    login_as("province")
    response = upload(client, next_years_file(rename_qingdao="青岛市住房和城乡建设局（𪚥）"))
    assert response.status_code == 302
    page = client.get("/board/campaigns").get_data(as_text=True)
    assert "单位暂未调整，将在2025年活动设为当前活动时按文件调整" in page
    assert "“青岛市住房和城乡建设局”更名为“青岛市住房和城乡建设局（𪚥）”" in page
    assert "新增“菏泽市新区住房和城乡建设局”" in page
    # 2024 runs on: its board and units keep the names the campaign began with, and gain no unit.
    assert db.session.scalar(select(Unit.name).where(Unit.code == "qingdao-zj")) == "青岛市住房和城乡建设局"
    assert db.session.scalar(select(Unit.id).where(Unit.code == "hezexinqu-zj")) is None
    board = client.get("/board/").get_data(as_text=True)
    assert "（𪚥）" not in board and "菏泽市新区" not in board
    next_year = campaign_named("2025-shandong")
    assert not next_year.is_active and len(next_year.kinds) == 9  # the catalogue itself is loaded
    # The 2025 row says what switching to it will change.
    row = re.search(rf'<p class="held-units" id="held-units-{next_year.id}">(.*?)</p>', page).group(1)
    assert "同时按活动文件调整单位" in row and "新增“菏泽市新区住房和城乡建设局”" in row

    response = post(client, f"/board/campaigns/{next_year.id}/activate")
    assert response.status_code == 302
    page = client.get("/board/campaigns").get_data(as_text=True)
    assert "已按活动文件调整单位（“青岛市住房和城乡建设局”更名为“青岛市住房和城乡建设局（𪚥）”；新增“菏泽市新区住房和城乡建设局”）" in page
    db.session.expire_all()
    assert db.session.scalar(select(Unit.name).where(Unit.code == "qingdao-zj")) == "青岛市住房和城乡建设局（𪚥）"
    added = db.session.scalar(select(Unit).where(Unit.code == "hezexinqu-zj"))
    root = db.session.get(Unit, next_year.root_unit_id)
    assert added.parent_id == root.id and added.city == "菏泽"
    assert campaign_named("2025-shandong").held_units == []
    assert "青岛市住房和城乡建设局（𪚥）" in client.get("/board/").get_data(as_text=True)
    # 2024's own tree still has the name it ran with, and no 菏泽市新区.
    qingdao = db.session.scalar(select(Unit.id).where(Unit.code == "qingdao-zj"))
    assert frozen_names(campaign_named("2024-shandong").id, {qingdao, added.id}) == {qingdao: "青岛市住房和城乡建设局"}
    entry = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "campaign.activate")
                              .order_by(AuditEvent.id.desc()))
    assert "新增“菏泽市新区住房和城乡建设局”" in entry.changes["unit_changes"]
    log = client.get("/admin/audit").get_data(as_text=True)
    assert "单位调整" in log and "“青岛市住房和城乡建设局”更名为“青岛市住房和城乡建设局（𪚥）”、新增“菏泽市新区住房和城乡建设局”" in log
    # Loading the same file again changes nothing more and holds nothing.
    assert upload(client, next_years_file(rename_qingdao="青岛市住房和城乡建设局（𪚥）")).status_code == 302
    assert "单位暂未调整" not in client.get("/board/campaigns").get_data(as_text=True)
    assert db.session.scalar(select(func.count(Unit.id)).where(Unit.code == "hezexinqu-zj")) == 1


def test_a_file_loaded_again_without_differences_holds_nothing(client, login_as):
    login_as("province")
    upload(client, next_years_file(rename_qingdao="青岛市住建局"))
    assert len(campaign_named("2025-shandong").held_units) == 45
    # The next version of the file keeps this year's names and adds nobody: nothing waits any more.
    upload(client, CAMPAIGN_TEXT.replace('slug = "2024-shandong"', 'slug = "2025-shandong"')
           .replace("year = 2024", "year = 2025"))
    db.session.expire_all()
    next_year = campaign_named("2025-shandong")
    assert next_year.held_units == []
    assert f"held-units-{next_year.id}" not in client.get("/board/campaigns").get_data(as_text=True)
    assert post(client, f"/board/campaigns/{next_year.id}/activate").status_code == 302
    assert "已按活动文件调整单位" not in client.get("/board/campaigns").get_data(as_text=True)
    db.session.expire_all()
    assert db.session.scalar(select(Unit.name).where(Unit.code == "qingdao-zj")) == "青岛市住房和城乡建设局"


def test_the_command_line_says_which_units_wait(app):
    path = app.instance_path + "/2025.toml"
    with open(path, "w", encoding="utf-8") as file:
        file.write(next_years_file(rename_qingdao="青岛市住建局"))
    result = app.test_cli_runner().invoke(args=["campaign", "load", path])
    assert result.exit_code == 0, result.output
    assert "2025-shandong: created" in result.output
    assert "units held while another campaign is active (2 differences" in result.output
    assert "applied when 2025-shandong is made the active campaign" in result.output
    assert "“青岛市住房和城乡建设局”更名为“青岛市住建局”" in result.output
    db.session.expire_all()
    assert db.session.scalar(select(Unit.name).where(Unit.code == "qingdao-zj")) == "青岛市住房和城乡建设局"


def test_a_file_naming_another_issuing_department_is_refused_and_nothing_is_loaded(app, client, login_as):
    """One installation, one issuing department: another issuer_code would have made a second,
    empty root for next year's campaign while the bureaus stayed under the first."""
    login_as("province")
    units_before = db.session.scalar(select(func.count(Unit.id)))
    for code in ("shandong-zjt-2025", "shandong-jst", "jinan-lixia-zj"):  # new codes; a county's
        text = next_years_file(rename_qingdao="青岛市住建局").replace(
            'issuer_code = "shandong-zjt"', f'issuer_code = "{code}"')
        response = upload(client, text)
        page = response.get_data(as_text=True)
        assert response.status_code == 422 and "活动文件未载入" in page
        assert (f"活动文件的发文单位代码（issuer_code）“{code}”与本系统的发文单位“山东省住房和城乡建设厅”"
                f"（代码 shandong-zjt）不一致") in page
        assert 'issuer_code 改为“shandong-zjt”。' in page
        assert campaign_named("2025-shandong") is None
        db.session.expire_all()
        assert db.session.scalar(select(func.count(Unit.id))) == units_before
        assert db.session.scalar(select(Unit.name).where(Unit.code == "qingdao-zj")) == "青岛市住房和城乡建设局"
        if code == "jinan-lixia-zj":
            assert db.session.scalar(select(Unit.parent_id).where(Unit.code == code)) == db.session.scalar(
                select(Unit.id).where(Unit.code == "jinan-zj"))
        else:
            assert db.session.scalar(select(Unit.id).where(Unit.code == code)) is None

    path = app.instance_path + "/2025.toml"
    with open(path, "w", encoding="utf-8") as file:
        file.write(text)
    result = app.test_cli_runner().invoke(args=["campaign", "load", path])
    assert result.exit_code != 0 and "（代码 shandong-zjt）不一致" in result.output
    assert campaign_named("2025-shandong") is None

    # The same department under its own code loads, next year's units held as before.
    assert upload(client, next_years_file(rename_qingdao="青岛市住建局")).status_code == 302
    assert campaign_named("2025-shandong").root_unit_id == db.session.scalar(
        select(Unit.id).where(Unit.code == "shandong-zjt"))


def test_a_root_the_upgrade_could_only_call_issuer_takes_the_files_code(client, login_as):
    """Migration d1e5a7c0b915 names the root `issuer` when it does not know the issuer: the next
    file loaded (here this year's again) gives it the file's code instead of being refused."""
    login_as("province")
    root_id = db.session.scalar(select(Unit.id).where(Unit.code == "shandong-zjt"))
    db.session.execute(update(Unit).where(Unit.id == root_id).values(code="issuer"))
    db.session.commit()
    response = upload(client, CAMPAIGN_TEXT)
    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.scalar(select(Unit.code).where(Unit.id == root_id)) == "shandong-zjt"
    assert db.session.scalar(select(func.count(Unit.id)).where(Unit.parent_id.is_(None))) == 1
    assert campaign_named("2024-shandong").root_unit_id == root_id
