"""Campaigns over the years: the active one, load a file, clone last year's for the next."""
from __future__ import annotations

import copy
from dataclasses import dataclass
from datetime import date, datetime

from flask import g
from sqlalchemy import func, select, update

from ..audit import record
from .loader import (YEAR_MAX, CampaignFileError, LoadResult, apply_held_units, held_unit_changes, load_campaign,
                     parse_campaign_text)
from ..extensions import db
from ..models import Activity, ActivityKind, Campaign, Slogan, Task, TaskGroup, User
from ..timeutil import LOCAL_TZ
from ..units import freeze_tree, thaw_tree, tree_changes_since, tree_changes_text

CAMPAIGN_FILE_MAX = 512 * 1024


# Built once, as every request asks (see auth.services.USER_WITH_UNIT).
ACTIVE_CAMPAIGN = select(Campaign).where(Campaign.is_active).order_by(Campaign.year.desc()).limit(1)
NEWEST_CAMPAIGN = select(Campaign).order_by(Campaign.year.desc()).limit(1)


def active_campaign() -> Campaign | None:
    """The campaign users work in (cached for the request)."""
    if "active_campaign" not in g:
        g.active_campaign = db.session.scalar(ACTIVE_CAMPAIGN) or db.session.scalar(NEWEST_CAMPAIGN)
    return g.active_campaign


class CampaignError(ValueError):
    """A refused campaign change; the message is shown to the user (Chinese)."""


@dataclass
class CampaignSummary:
    campaign: Campaign
    activities: int
    # For a past campaign: how the live tree differs from its own (it cannot be made active again).
    tree_changes: str = ""
    # For one not yet active: the unit changes its file holds, applied when it is made active.
    held_changes: str = ""


def campaign_summaries() -> list[CampaignSummary]:
    """Every campaign, newest year first, with its number of entries."""
    counts = dict(db.session.execute(
        select(Activity.campaign_id, func.count(Activity.id)).group_by(Activity.campaign_id)).all())
    campaigns = db.session.scalars(select(Campaign).order_by(Campaign.year.desc(), Campaign.id.desc()))
    return [CampaignSummary(campaign, counts.get(campaign.id, 0),
                            "" if campaign.is_active else tree_changes_text(tree_changes_since(campaign)),
                            "" if campaign.is_active else tree_changes_text(held_unit_changes(campaign)))
            for campaign in campaigns]


def load_uploaded_campaign(raw: bytes, *, by: User) -> LoadResult:
    """Check and load an uploaded campaign file: all of it or nothing (the caller commits)."""
    if len(raw) > CAMPAIGN_FILE_MAX:
        raise CampaignFileError(f"活动文件过大（不超过 {CAMPAIGN_FILE_MAX // 1024} KB）。")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = raw[:error.start].count(b"\n") + 1
        raise CampaignFileError(f"第 {line} 行：活动文件不是 UTF-8 编码。") from None
    data = parse_campaign_text(text)
    # A savepoint, so a refusal from the database (say a kind still used by entries)
    # leaves nothing half-written in the session.
    with db.session.begin_nested():
        result = load_campaign(data)
    record("campaign.load", actor=by, obj=result.campaign,
           changes={"slug": result.campaign.slug, "created": result.created, "changed": result.changed})
    return result


def units_held_notice(result: LoadResult) -> str:
    """Why the file's units were not applied, and how to apply them (see load_campaign)."""
    return (f"文件中的单位名单与现有单位不同（{tree_changes_text(result.units_held)}）。当前年度活动正在进行，"
            f"为不影响其统计和报告，单位暂未调整，将在{result.campaign.year}年活动设为当前活动时按文件调整。")


def _next_year(day: date, years: int = 1) -> date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return day.replace(year=day.year + years, day=28)


def _next_year_instant(moment: datetime) -> datetime:
    """The same wall-clock time in Shanghai one year later (23:59:59 stays 23:59:59)."""
    local = moment.astimezone(LOCAL_TZ)
    day = _next_year(local.date())
    return datetime.combine(day, local.timetz().replace(tzinfo=None), LOCAL_TZ)


def clone_campaign(source: Campaign, *, by: User) -> Campaign:
    """Next year's campaign from this one: dates a year later, the same catalogue, no entries."""
    year = source.year + 1
    if year > YEAR_MAX:
        raise CampaignError(f"活动年度不能晚于{YEAR_MAX}年。")
    old, new = str(source.year), str(year)
    slug = source.slug.replace(old, new) if old in source.slug else f"{source.slug}-{new}"
    if db.session.scalar(select(Campaign.id).where((Campaign.slug == slug) | (Campaign.year == year))):
        raise CampaignError(f"{year}年的活动已存在，不能重复创建。")
    clone = Campaign(
        slug=slug, year=year, title=source.title.replace(old, new), theme=source.theme,
        starts_on=_next_year(source.starts_on), ends_on=_next_year(source.ends_on),
        report_due_at=_next_year_instant(source.report_due_at),
        issuer=source.issuer, issued_on=_next_year(source.issued_on),
        addressees=source.addressees, report_addressee=source.report_addressee,
        contact_people=list(source.contact_people or []), contact_phone=source.contact_phone,
        contact_email=source.contact_email, is_active=False,
        root_unit_id=source.root_unit_id, issuer_actions=list(source.issuer_actions or []),
    )
    groups = {group.id: TaskGroup(number=group.number, title=group.title) for group in source.groups}
    clone.groups = list(groups.values())
    clone.tasks = [Task(number=task.number, title=task.title, text=task.text, group=groups[task.group_id])
                   for task in source.tasks]
    clone.kinds = [ActivityKind(code=kind.code, name=kind.name, position=kind.position,
                                default_task_number=kind.default_task_number,
                                figures=copy.deepcopy(kind.figures or []))
                   for kind in source.kinds]
    clone.slogans = [Slogan(number=slogan.number, text=slogan.text) for slogan in source.slogans]
    db.session.add(clone)
    db.session.flush()
    record("campaign.clone", actor=by, obj=clone, changes={"from": source.slug, "slug": clone.slug})
    return clone


def activate_campaign(campaign: Campaign, *, by: User) -> list[str]:
    """Make this the campaign everyone works in; exactly one is active. The one it replaces keeps
    its reporting tree as it stands (see qmonth/units.py `freeze_tree`); then the units its file
    brought while the other ran are applied. Returns those unit changes (Chinese phrases).

    A past campaign is made active again only while the live tree is still the one it ran on:
    the active campaign reads the live tree, so its entries would otherwise be scoped, reviewed
    and named by units renamed, moved or added since (CampaignError, nothing changed)."""
    # Two province admins switching at once: the second waits here until the first has committed,
    # then finds the campaign active already. Without the lock both froze the old campaign's tree
    # and the second failed on its rows (PostgreSQL; SQLite runs writing requests one at a time).
    db.session.execute(select(Campaign.id).order_by(Campaign.id).with_for_update())
    previous = db.session.scalar(select(Campaign).where(Campaign.is_active).order_by(Campaign.year.desc()))
    if previous is not None and previous.id == campaign.id:
        return []
    changes = tree_changes_since(campaign)
    if changes:
        raise CampaignError(f"{campaign.year}年活动的单位结构与当前不同（{tree_changes_text(changes)}），"
                            "不能重新启用；如需继续，请新建年度活动。")
    if previous is not None:
        # The campaign being left keeps the tree it ran on; the live tree becomes the new one's.
        freeze_tree(previous)
    thaw_tree(campaign)
    db.session.execute(update(Campaign).where(Campaign.id != campaign.id).values(is_active=False)
                       .execution_options(synchronize_session="fetch"))
    campaign.is_active = True
    units_applied = apply_held_units(campaign)
    record("campaign.activate", actor=by, obj=campaign,
           changes={"active": [previous.slug if previous else "", campaign.slug],
                    **({"unit_changes": units_applied} if units_applied else {})})
    return units_applied
