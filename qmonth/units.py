"""The reporting tree: adding, renaming, retiring and moving units, and moving accounts between them.

Only this module changes `Unit.parent_id`, `path` and `depth`. A unit's path is the ids from
the root down to it ("/1/7/42/"), so its subtree is every unit whose path starts with its own:
one indexed `LIKE '/1/7/%'`, whatever the depth. Moving a unit rewrites its subtree's paths in
one UPDATE. Nothing here deletes a unit: entries, reports, reminders and the audit trail keep
pointing at it, retired or moved.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Boolean, Select, and_, delete, func, insert, literal, select, update
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import aliased
from sqlalchemy.sql.functions import FunctionElement

from .audit import record
from .auth.services import end_all_sessions
from .extensions import db
from .models import Activity, ActivityState, Campaign, CampaignUnit, Department, Unit, User
from .textnorm import control_character_problem
from .timeutil import utcnow

UNIT_CODE_PATTERN = re.compile(r"^[a-z][a-z0-9]*(-[a-z0-9]+)+$")
UNIT_CODE_MAX = 40
UNIT_NAME_MAX = 120
UNIT_CITY_MAX = 20


class TreeError(ValueError):
    """A refused change of the tree; the message is shown to the user (Chinese)."""


class starts_with_path(FunctionElement):
    """SQL: a unit path that starts with another path taken from a row (not a constant): the
    units below a board's rows, say. Written as LIKE prefix || '%'. PostgreSQL also gets the
    prefix as a range of the paths' pattern index (ix_unit_path and ix_campaign_unit_campaign_path,
    varchar_pattern_ops), which it cannot take from a LIKE whose pattern comes from another row:
    the root's board of the synthetic nation tested each of its 5,544 units against each of its 75
    rows. Paths are digits and slashes, all below '~', so [prefix, prefix || '~') holds them all."""

    type = Boolean()
    name = "starts_with_path"
    inherit_cache = True


@compiles(starts_with_path)
def _starts_with_path_as_like(element, compiler, **kw):
    path, prefix = element.clauses.clauses
    return compiler.process(path.like(prefix.concat("%")), **kw)


@compiles(starts_with_path, "postgresql")
def _starts_with_path_as_range(element, compiler, **kw):
    path, prefix = element.clauses.clauses
    # Grouped: PostgreSQL gives || and ~<~ the same precedence, left to right.
    return compiler.process(and_(path.op("~>=~")(prefix), path.op("~<~")(prefix.concat("~").self_group()),
                                 path.like(prefix.concat("%"))), **kw)


def subtree_ids(unit: Unit) -> Select:
    """The ids of the unit and every unit below it, as a subquery (never a list built in Python)."""
    return select(Unit.id).where(Unit.path.like(f"{unit.path}%"))


def in_subtree(ancestor: Unit, unit: Unit | None) -> bool:
    """Whether `unit` is `ancestor` or lies below it (the Python twin of `subtree_ids`)."""
    return unit is not None and bool(ancestor.path) and unit.path.startswith(ancestor.path)


def children_of(unit: Unit, *, with_retired: bool = False) -> list[Unit]:
    """The units directly below `unit`, in the campaign file's order."""
    query = select(Unit).where(Unit.parent_id == unit.id)
    if not with_retired:
        query = query.where(Unit.retired_at.is_(None))
    return list(db.session.scalars(query.order_by(Unit.position, Unit.id)))


def subtree_of(unit: Unit) -> list[Unit]:
    """The unit and all below it, ordered so that each parent comes before its children."""
    return list(db.session.scalars(select(Unit).where(Unit.path.like(f"{unit.path}%"))
                                   .order_by(Unit.depth, Unit.position, Unit.id)))


def campaign_root(campaign: Campaign | None) -> Unit | None:
    """The issuing department's unit: the root of the campaign's reporting tree."""
    if campaign is None or campaign.root_unit_id is None:
        return None
    return db.session.get(Unit, campaign.root_unit_id)


def addressed_units(campaign: Campaign | None) -> Select:
    """The units the campaign's notice is addressed to (the root's direct children), as a query."""
    query = select(Unit).where(Unit.retired_at.is_(None))
    if campaign is not None and campaign.root_unit_id is not None:
        query = query.where(Unit.parent_id == campaign.root_unit_id)
    else:
        query = query.where(Unit.depth == 1)
    return query.order_by(Unit.position, Unit.id)


def campaign_addressed_units(campaign: Campaign) -> list:
    """`addressed_units` in the campaign's tree: a past campaign's are the root's children as its
    frozen tree had them (names and cities of that year), the active one's the live ones."""
    if campaign.root_unit_id is not None and reads_own_tree(campaign.id):
        return [unit for unit in placed_children(campaign.id, campaign.root_unit_id) if unit.retired_at is None]
    return list(db.session.scalars(addressed_units(campaign)))


@dataclass(frozen=True)
class PlacedUnit:
    """A unit where a campaign's tree put it: its name, city and parent in that campaign."""

    id: int
    code: str
    name: str
    city: str
    parent_id: int | None
    path: str
    depth: int
    retired_at: datetime | None = None


FROZEN_COLUMNS = ("parent_id", "path", "depth", "name", "city", "position", "retired_at")


def freeze_tree(campaign: Campaign) -> None:
    """Keep the live tree as this campaign's own, as it stops being the active one: later renames
    and moves then leave its names, parents and scopes unchanged. Written once: a campaign made
    active again is thawed first (`thaw_tree`), so it is written anew when that campaign is left."""
    if campaign_tree_is_frozen(campaign.id):
        return
    db.session.flush()
    db.session.execute(insert(CampaignUnit).from_select(
        ["campaign_id", "unit_id", *FROZEN_COLUMNS],
        select(literal(campaign.id), Unit.id, *(getattr(Unit, column) for column in FROZEN_COLUMNS))))


def thaw_tree(campaign: Campaign) -> None:
    """Drop a campaign's frozen tree as it becomes the active one again (only ever when the live
    tree is the same, see `activate_campaign`): it then reads the live tree like any active
    campaign, and `freeze_tree` keeps the tree it ends with when it is left again."""
    db.session.execute(delete(CampaignUnit).where(CampaignUnit.campaign_id == campaign.id))


def campaign_tree_is_frozen(campaign_id: int) -> bool:
    """Whether the campaign has a tree of its own (it was active once and is no longer)."""
    return db.session.scalar(select(CampaignUnit.unit_id).where(CampaignUnit.campaign_id == campaign_id)
                             .limit(1)) is not None


TREE_CHANGES_SHOWN = 3


def added_phrase(name: str) -> str:
    return f"新增“{name}”"


def renamed_phrase(old: str, new: str) -> str:
    return f"“{old}”更名为“{new}”"


def city_changed_phrase(name: str, old: str, new: str) -> str:
    return f"“{name}”所在城市由“{old}”改为“{new}”"


def tree_changes_since(campaign: Campaign) -> list[str]:
    """How the live tree differs from the campaign's frozen one, in short Chinese phrases (empty
    when identical, or when the campaign has no tree of its own). One query over both trees:
    units are never deleted, so a unit missing from the frozen tree was added since."""
    if not campaign_tree_is_frozen(campaign.id):
        return []
    frozen = CampaignUnit
    old_parent, new_parent = aliased(Unit), aliased(Unit)
    rows = db.session.execute(
        select(Unit, frozen, old_parent.name, new_parent.name)
        .outerjoin(frozen, (frozen.unit_id == Unit.id) & (frozen.campaign_id == campaign.id))
        .outerjoin(old_parent, old_parent.id == frozen.parent_id)
        .outerjoin(new_parent, new_parent.id == Unit.parent_id)
        .order_by(Unit.depth, Unit.position, Unit.id)).all()
    changes = []
    for unit, kept, old_parent_name, new_parent_name in rows:
        if kept is None:
            changes.append(added_phrase(unit.name))
            continue
        if (kept.retired_at is None) != (unit.retired_at is None):
            changes.append(f"“{kept.name}”已撤销" if unit.retired_at is not None else f"“{kept.name}”已恢复")
        if kept.name != unit.name:
            changes.append(renamed_phrase(kept.name, unit.name))
        if kept.parent_id != unit.parent_id:
            changes.append(f"“{unit.name}”由“{old_parent_name or '无'}”调整到“{new_parent_name or '无'}”之下")
        elif kept.city != unit.city:
            changes.append(city_changed_phrase(unit.name, kept.city, unit.city))
    return changes


def tree_changes_text(changes: list[str]) -> str:
    """The first few changes, and how many more there are."""
    shown = "；".join(changes[:TREE_CHANGES_SHOWN])
    more = len(changes) - TREE_CHANGES_SHOWN
    return f"{shown}等 {len(changes)} 处变化" if more > 0 else shown


def reads_own_tree(campaign_id: int | None) -> bool:
    """Whether units in this campaign are shown and scoped by its frozen tree rather than the
    live one: a campaign that is no longer the active one. The active campaign, and one not yet
    run, read the live tree."""
    if campaign_id is None:
        return False
    campaign = db.session.get(Campaign, campaign_id)
    return campaign is not None and not campaign.is_active and campaign_tree_is_frozen(campaign_id)


def placed_unit(campaign_id: int | None, unit_id: int | None) -> PlacedUnit | None:
    """The unit as the campaign's tree has it (the live unit for the active campaign, or where a
    past campaign's tree does not hold it)."""
    if unit_id is None:
        return None
    unit = db.session.get(Unit, unit_id)
    if unit is None:
        return None
    frozen = db.session.get(CampaignUnit, (campaign_id, unit_id)) if reads_own_tree(campaign_id) else None
    source = frozen or unit
    return PlacedUnit(id=unit.id, code=unit.code, name=source.name, city=source.city, parent_id=source.parent_id,
                      path=source.path, depth=source.depth, retired_at=source.retired_at)


def placed_subtree_ids(campaign_id: int | None, unit: Unit | PlacedUnit) -> Select:
    """`subtree_ids` in the campaign's tree: for a past campaign, its frozen one (a county moved to
    another city since still counts in its old city's report for that year)."""
    if not reads_own_tree(campaign_id):
        return subtree_ids(unit if isinstance(unit, Unit) else db.session.get(Unit, unit.id))
    path = db.session.scalar(select(CampaignUnit.path).where(CampaignUnit.campaign_id == campaign_id,
                                                             CampaignUnit.unit_id == unit.id))
    if path is None:  # a unit added after that campaign: it had no subtree then
        return select(Unit.id).where(Unit.id == unit.id)
    return select(CampaignUnit.unit_id).where(CampaignUnit.campaign_id == campaign_id,
                                              CampaignUnit.path.like(f"{path}%"))


def placed_children(campaign_id: int | None, unit_id: int) -> list[Unit | PlacedUnit]:
    """The units directly below, retired ones included, in the campaign's tree and order."""
    if not reads_own_tree(campaign_id):
        return children_of(db.session.get(Unit, unit_id), with_retired=True)
    rows = db.session.execute(
        select(CampaignUnit, Unit.code).join(Unit, Unit.id == CampaignUnit.unit_id)
        .where(CampaignUnit.campaign_id == campaign_id, CampaignUnit.parent_id == unit_id)
        .order_by(CampaignUnit.position, CampaignUnit.unit_id)).all()
    return [PlacedUnit(id=row.unit_id, code=code, name=row.name, city=row.city, parent_id=row.parent_id,
                       path=row.path, depth=row.depth, retired_at=row.retired_at) for row, code in rows]


def frozen_names(campaign_id: int | None, unit_ids: set[int]) -> dict[int, str]:
    """Each unit's name in a past campaign's frozen tree, in one query (empty as `frozen_paths`)."""
    return _frozen(CampaignUnit.name, campaign_id, unit_ids)


def frozen_paths(campaign_id: int | None, unit_ids: set[int]) -> dict[int, str]:
    """Each unit's path in a past campaign's frozen tree, in one query; empty for a campaign that
    reads the live tree (and without the units that tree did not hold), so callers fall back to
    the live path."""
    return _frozen(CampaignUnit.path, campaign_id, unit_ids)


def _frozen(column, campaign_id: int | None, unit_ids: set[int]) -> dict[int, str]:
    if not unit_ids or not reads_own_tree(campaign_id):
        return {}
    return dict(db.session.execute(select(CampaignUnit.unit_id, column).where(
        CampaignUnit.campaign_id == campaign_id, CampaignUnit.unit_id.in_(unit_ids))).all())


def place_under(unit: Unit, parent: Unit | None) -> None:
    """Set a new (childless) unit's parent, path and depth; it needs its id, so it is flushed first."""
    if unit.id is None:
        db.session.flush()
    unit.parent = parent
    unit.parent_id = parent.id if parent is not None else None
    unit.path = f"{parent.path if parent is not None else '/'}{unit.id}/"
    unit.depth = parent.depth + 1 if parent is not None else 0


def _check_name(name: str, what: str = "单位名称") -> str:
    name = (name or "").strip()
    if not name:
        raise TreeError(f"请填写{what}。")
    if len(name) > UNIT_NAME_MAX:
        raise TreeError(f"{what}不能超过 {UNIT_NAME_MAX} 个字。")
    problem = control_character_problem(name)
    if problem:
        raise TreeError(f"{what}：{problem}")
    return name


def _check_code(code: str) -> str:
    code = (code or "").strip().lower()
    if not UNIT_CODE_PATTERN.match(code) or len(code) > UNIT_CODE_MAX:
        raise TreeError(f"单位代码须为小写拼音、数字和连字符，如 jinan-lixia-zj，最长 {UNIT_CODE_MAX} 位。")
    existing = db.session.scalar(select(Unit).where(Unit.code == code))
    if existing is not None:
        raise TreeError(f"单位代码 {code} 已被“{existing.name}”使用，请换一个。")
    return code


def _department_of(code: str, parent: Unit) -> Department:
    suffix = code.rsplit("-", 1)[-1]
    return next((d for d in Department if d.value == suffix), parent.department)


def add_child(parent: Unit, *, code: str, name: str, city: str | None = None, by: User | None,
              at=None) -> Unit:
    """A new unit directly below `parent` (a county bureau under its city's, for instance)."""
    if parent.retired_at is not None:
        raise TreeError(f"“{parent.name}”已撤销，不能再添加下级单位。")
    code = _check_code(code)
    name = _check_name(name)
    city = (city or parent.city or "").strip()[:UNIT_CITY_MAX]
    position = (db.session.scalar(select(func.max(Unit.position)).where(Unit.parent_id == parent.id)) or 0) + 1
    unit = Unit(code=code, name=name, city=city, department=_department_of(code, parent), position=position)
    db.session.add(unit)
    place_under(unit, parent)
    record("unit.add", actor=by, obj=unit, unit_id=unit.id,
           changes={"code": [None, code], "name": [None, name], "parent": [None, parent.code]}, at=at)
    return unit


def rename_unit(unit: Unit, *, name: str, by: User | None) -> None:
    """A new name; what was submitted under the old one keeps its text (reports print their own)."""
    name = _check_name(name)
    if name == unit.name:
        return
    if unit.retired_at is not None:
        raise TreeError(f"“{unit.name}”已撤销，不能改名。")
    record("unit.rename", actor=by, obj=unit, unit_id=unit.id, changes={"name": [unit.name, name]})
    unit.name = name


def entries_in_active_campaigns(unit_ids: Select) -> int:
    """How many entries the units hold in the active campaign (those a retirement would strand)."""
    return db.session.scalar(
        select(func.count(Activity.id)).join(Campaign, Campaign.id == Activity.campaign_id)
        .where(Campaign.is_active, Activity.unit_id.in_(unit_ids))) or 0


def retire_unit(unit: Unit, *, by: User | None) -> None:
    """Retire a unit (撤销): it stays in the table with everything it registered, but takes no new
    entries and its accounts stop working. Refused while it has units below it, or entries in the
    running campaign (those still need a unit to answer for them and a parent to review them)."""
    if unit.retired_at is not None:
        return
    if unit.parent_id is None:
        raise TreeError("发文单位（根节点）不能撤销。")
    if children_of(unit):
        raise TreeError(f"“{unit.name}”下还有下级单位，请先撤销或移走下级单位。")
    held = entries_in_active_campaigns(select(Unit.id).where(Unit.id == unit.id))
    if held:
        raise TreeError(f"“{unit.name}”在本次活动中已登记 {held} 项活动，不能撤销；活动结束后再撤销，"
                        "已登记的活动和记录仍保留在该单位名下。")
    unit.retired_at = utcnow()
    disabled = []
    for user in db.session.scalars(select(User).where(User.unit_id == unit.id, User.is_enabled)):
        user.is_enabled = False
        end_all_sessions(user)
        disabled.append(user.username)
    record("unit.retire", actor=by, obj=unit, unit_id=unit.id, from_state="active", to_state="retired",
           changes={"disabled_accounts": disabled})


def move_unit(unit: Unit, new_parent: Unit, *, by: User | None) -> None:
    """Put a unit (with all below it) under another parent; its entries and history go with it."""
    if unit.parent_id is None:
        raise TreeError("发文单位（根节点）不能移动。")
    if in_subtree(unit, new_parent):
        raise TreeError(f"不能把“{unit.name}”移到它自己或它的下级单位“{new_parent.name}”之下，否则会形成循环。")
    if new_parent.retired_at is not None:
        raise TreeError(f"“{new_parent.name}”已撤销，不能作为上级单位。")
    if new_parent.id == unit.parent_id:
        return
    old_parent = unit.parent
    old_path, new_path = unit.path, f"{new_parent.path}{unit.id}/"
    delta = new_parent.depth + 1 - unit.depth
    # One statement for the whole subtree: the new prefix replaces the old one in every path below.
    db.session.execute(
        update(Unit).where(Unit.path.like(f"{old_path}%"))
        .values(path=new_path + func.substr(Unit.path, len(old_path) + 1), depth=Unit.depth + delta)
        .execution_options(synchronize_session=False))
    db.session.execute(update(Unit).where(Unit.id == unit.id).values(parent_id=new_parent.id)
                       .execution_options(synchronize_session=False))
    record("unit.move", actor=by, obj=unit, unit_id=unit.id,
           changes={"parent": [old_parent.code if old_parent else None, new_parent.code]})
    db.session.expire_all()


def open_entries_of_author(user: User, unit_id: int | None) -> int:
    """Drafts and returned entries the account wrote for the unit in the running campaign."""
    return db.session.scalar(
        select(func.count(Activity.id)).join(Campaign, Campaign.id == Activity.campaign_id)
        .where(Campaign.is_active, Activity.unit_id == unit_id, Activity.author_id == user.id,
               Activity.state.in_((ActivityState.DRAFT, ActivityState.RETURNED)))) or 0


def move_account(user: User, new_unit: Unit, *, by: User | None) -> None:
    """Move an account to another unit mid-campaign. What it registered stays with the old unit
    (the unit answers for its entries, not the person), so an account with unfinished entries
    there is refused until they are submitted or handed on; its open sessions end."""
    if new_unit.retired_at is not None:
        raise TreeError(f"“{new_unit.name}”已撤销，不能调入账号。")
    if user.unit_id == new_unit.id:
        return
    if user.is_province:
        raise TreeError("省厅管理员属于发文单位，不能调到其他单位。")
    open_entries = open_entries_of_author(user, user.unit_id)
    if open_entries:
        raise TreeError(f"账号 {user.username} 在原单位还有 {open_entries} 项草稿或退回待改的活动，"
                        "请先报送，或交由原单位其他账号处理后再调动。")
    old = user.unit
    record("user.move", actor=by, obj=user, unit_id=new_unit.id,
           changes={"unit": [old.code if old else None, new_unit.code]})
    user.unit = new_unit
    end_all_sessions(user)
