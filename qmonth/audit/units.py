"""The unit an audit record names, as the record's own campaign's tree had it.

A record about something that belongs to a campaign (an entry and its photos and files, a report,
a bulletin, a reminder, a 补报 reopening) names its unit as that campaign's tree did: after 2025
took over and 历城区's bureau was renamed, 2024's records still say 历城区住房城乡建设局, as the
entry page and the 2024 report do. Records of accounts, logins and the tree itself are not of a
campaign: they keep today's name (the tree screens and accounts are the live tree's).
"""
from __future__ import annotations

from sqlalchemy import select

from ..extensions import db
from ..models import Activity, AuditEvent, Bulletin, Campaign, CampaignUnit, Reminder, UnitReopening, UnitReport

CAMPAIGN_OBJECTS = {"activity": Activity, "unitreport": UnitReport, "bulletin": Bulletin, "reminder": Reminder,
                    "unitreopening": UnitReopening}


def past_unit_names(events: list[AuditEvent]) -> dict[int, str]:
    """For each record (by id) of a past campaign's object: its unit's name in that campaign's
    tree. One query per kind of object on the page, and one for the names."""
    campaign_of: dict[tuple[str, int], int] = {}
    for object_type, model in CAMPAIGN_OBJECTS.items():
        ids = {event.object_id for event in events if event.object_type == object_type and event.object_id}
        if ids:
            campaign_of.update(((object_type, object_id), campaign_id) for object_id, campaign_id in
                               db.session.execute(select(model.id, model.campaign_id).where(model.id.in_(ids))))
    if not campaign_of:
        return {}
    unit_ids = {event.unit_id for event in events if event.unit_id is not None}
    # Frozen rows exist only for campaigns run and left; the active campaign reads the live tree.
    names = {(campaign_id, unit_id): name for campaign_id, unit_id, name in db.session.execute(
        select(CampaignUnit.campaign_id, CampaignUnit.unit_id, CampaignUnit.name)
        .join(Campaign, Campaign.id == CampaignUnit.campaign_id)
        .where(CampaignUnit.campaign_id.in_(set(campaign_of.values())), CampaignUnit.unit_id.in_(unit_ids),
               Campaign.is_active.is_(False)))}
    shown = {}
    for event in events:
        campaign_id = campaign_of.get((event.object_type, event.object_id))
        name = names.get((campaign_id, event.unit_id))
        if name is not None:
            shown[event.id] = name
    return shown
