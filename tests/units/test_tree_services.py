"""The reporting tree's rules (qmonth/units.py): one subtree query by path, and every refusal in Chinese
with nothing lost."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

from qmonth.access import scoped_to_units, sees_unit
from qmonth.extensions import db
from qmonth.models import Activity, ActivityState, AuditEvent, Unit
from qmonth.units import TreeError, add_child, move_account, move_unit, rename_unit, retire_unit, subtree_ids

from tests.helpers import build_activity, campaign, clear_activities, unit, user


def test_the_campaign_tree_is_the_issuer_over_the_notices_44_and_jinans_counties(app):
    root = unit("shandong-zjt")
    assert root.name == "山东省住房和城乡建设厅" and root.parent_id is None and root.path == f"/{root.id}/"
    assert campaign().root_unit_id == root.id
    assert db.session.scalar(select(func.count(Unit.id)).where(Unit.parent_id == root.id)) == 44
    jinan = unit("jinan-zj")
    counties = db.session.scalars(select(Unit).where(Unit.parent_id == jinan.id)).all()
    assert len(counties) == 12 and {c.depth for c in counties} == {2}
    assert all(c.path == f"{jinan.path}{c.id}/" for c in counties)
    assert unit("jinan-shizhong-zj").name == "市中区住房城乡建设局"
    assert user("province").unit_id == root.id


def test_a_subtree_is_one_query_on_the_path(app):
    jinan, qingdao = unit("jinan-zj"), unit("qingdao-zj")
    codes = set(db.session.scalars(select(Unit.code).where(Unit.id.in_(subtree_ids(jinan)))))
    assert len(codes) == 13 and "jinan-lixia-zj" in codes and "qingdao-zj" not in codes
    city_admin = user("jinan-zj-admin")
    assert sees_unit(city_admin, unit("jinan-lixia-zj").id) and not sees_unit(city_admin, qingdao.id)
    assert not sees_unit(user("jinan-lixia-zj"), jinan.id)
    # The scope is a subquery on unit.path, not a list of ids spelled out in the SQL.
    sql = str(scoped_to_units(select(Activity.id), city_admin, Activity.unit_id))
    assert "unit.path LIKE" in sql


@pytest.mark.parametrize("table", ["unit", "campaign_unit"])
def test_postgresql_finds_a_subtree_through_its_path_index(app, database, table):
    """Under a locale's collation (the test cluster's is C.UTF-8) a btree answers LIKE 'prefix%'
    only with the pattern operator class: both path indexes have it, and a subtree is read from
    the index with the same units as by reading every row."""
    if database != "postgresql":
        pytest.skip("PostgreSQL's operator classes; SQLite's LIKE ignores case and uses no index")
    from qmonth.units import freeze_tree

    freeze_tree(campaign())  # the live campaign's tree copied to campaign_unit, as a switch does
    db.session.commit()
    jinan = unit("jinan-zj")
    statement = db.text(f"SELECT {'id' if table == 'unit' else 'unit_id'} FROM {table} WHERE path LIKE :prefix")
    by_rows = set(db.session.scalars(statement, {"prefix": f"{jinan.path}%"}))
    db.session.execute(db.text("SET LOCAL enable_seqscan = off"))
    plan = "\n".join(db.session.scalars(db.text(f"EXPLAIN {statement.text}"), {"prefix": f"{jinan.path}%"}))
    assert "Index Cond" in plan and "~>=~" in plan, plan  # the prefix became a range of the index
    assert set(db.session.scalars(statement, {"prefix": f"{jinan.path}%"})) == by_rows
    assert len(by_rows) == 13
    db.session.rollback()


def test_moving_a_unit_under_its_own_descendant_is_refused(app):
    jinan, lixia = unit("jinan-zj"), unit("jinan-lixia-zj")
    with pytest.raises(TreeError, match="循环"):
        move_unit(jinan, lixia, by=user("province"))
    with pytest.raises(TreeError, match="循环"):
        move_unit(jinan, jinan, by=user("province"))
    db.session.rollback()
    assert unit("jinan-zj").parent_id == unit("shandong-zjt").id


def test_moving_a_unit_rewrites_its_whole_subtree_and_keeps_its_entries(app):
    clear_activities()
    entry = build_activity("jinan-lixia-zj", "历下区质量安全讲堂")
    extra = add_child(unit("jinan-lixia-zj"), code="jinan-lixia-jd-zj", name="历下区某街道", by=None)
    db.session.commit()
    move_unit(unit("jinan-lixia-zj"), unit("qingdao-zj"), by=user("province"))
    db.session.commit()
    lixia, qingdao = unit("jinan-lixia-zj"), unit("qingdao-zj")
    assert lixia.parent_id == qingdao.id and lixia.path == f"{qingdao.path}{lixia.id}/" and lixia.depth == 2
    street = unit("jinan-lixia-jd-zj")
    assert street.path == f"{lixia.path}{street.id}/" and street.depth == 3 and street.id == extra.id
    assert db.session.get(Activity, entry.id).unit_id == lixia.id
    assert sees_unit(user("qingdao-zj-admin"), street.id) and not sees_unit(user("jinan-zj-admin"), street.id)


def test_a_duplicate_or_malformed_code_is_refused_in_chinese(app):
    with pytest.raises(TreeError, match="已被“枣庄市住房和城乡建设局”使用"):
        add_child(unit("jinan-zj"), code="zaozhuang-zj", name="新单位", by=None)
    with pytest.raises(TreeError, match="小写拼音"):
        add_child(unit("jinan-zj"), code="历下", name="新单位", by=None)
    with pytest.raises(TreeError, match="请填写单位名称"):
        add_child(unit("jinan-zj"), code="jinan-new-zj", name="  ", by=None)


def test_retiring_a_unit_that_holds_entries_is_refused_and_keeps_them(app):
    clear_activities()
    build_activity("jinan-lixia-zj", "历下区质量安全讲堂", state=ActivityState.SUBMITTED)
    with pytest.raises(TreeError, match="已登记 1 项活动，不能撤销"):
        retire_unit(unit("jinan-lixia-zj"), by=user("jinan-zj-admin"))
    with pytest.raises(TreeError, match="下级单位"):
        retire_unit(unit("jinan-zj"), by=user("province"))
    db.session.rollback()
    assert unit("jinan-lixia-zj").retired_at is None


def test_retiring_an_empty_unit_keeps_its_row_and_stops_its_accounts(app):
    clear_activities()
    retire_unit(unit("jinan-shanghe-zj"), by=user("jinan-zj-admin"))
    db.session.commit()
    shanghe = unit("jinan-shanghe-zj")
    assert shanghe.retired_at is not None
    assert not user("jinan-shanghe-zj").is_enabled and not user("jinan-shanghe-zj-admin").is_enabled
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "unit.retire"))
    assert event.unit_id == shanghe.id and event.actor_id == user("jinan-zj-admin").id


def test_an_account_with_unfinished_entries_is_not_moved_and_its_history_stays(app):
    clear_activities()
    draft = build_activity("jinan-lixia-zj", "历下区未完成的草稿")
    reporter = user("jinan-lixia-zj")
    with pytest.raises(TreeError, match="还有 1 项草稿或退回待改的活动"):
        move_account(reporter, unit("jinan-shizhong-zj"), by=user("jinan-zj-admin"))
    db.session.rollback()
    db.session.get(Activity, draft.id).state = ActivityState.SUBMITTED
    db.session.commit()
    move_account(user("jinan-lixia-zj"), unit("jinan-shizhong-zj"), by=user("jinan-zj-admin"))
    db.session.commit()
    assert user("jinan-lixia-zj").unit_id == unit("jinan-shizhong-zj").id
    assert db.session.get(Activity, draft.id).unit_id == unit("jinan-lixia-zj").id


def test_a_rename_is_recorded_with_the_old_name(app):
    rename_unit(unit("jinan-laiwu-zj"), name="莱芜区住房和城乡建设局", by=user("jinan-zj-admin"))
    db.session.commit()
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "unit.rename"))
    assert event.changes == {"name": ["莱芜区住房城乡建设局", "莱芜区住房和城乡建设局"]}
