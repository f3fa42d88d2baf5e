"""A submitted report's frozen snapshot: what the parent received, kept as JSON on the report.

At submit, `take` writes the report's figures, its listing by unit and the entries it prints
(`UnitReport.snapshot`); `restore` reads them back into the same shapes `data.UnitReportData`
has, so the page, the PDF and the Word file of a submitted report are made from what was
submitted, not from today's entries. Photos are named by id and read from the store (they are
never rewritten); one deleted since is left out. A reopened report (补报) is live again until
its next submit, which takes a new snapshot.
"""
from __future__ import annotations

from datetime import date, datetime
from types import SimpleNamespace

from sqlalchemy import select

from ..extensions import db
from ..models import Campaign, Photo, UnitReport
from .data import (
    AnnexRow, Figures, FigureRate, FigureTotal, GroupSection, KindSummary, TaskSection, TaskSummary, UnitReportData,
    UnitSection,
)

VERSION = 1


class Snap(SimpleNamespace):
    """A frozen object of the snapshot: attributes as the template reads them."""


def _day(value: date | None) -> str | None:
    return value.isoformat() if value else None


def _activity(activity) -> dict:
    return {
        "id": activity.id, "title": activity.title, "unit": {"name": activity.unit.name, "code": activity.unit.code},
        "kind": {"name": activity.kind.name}, "state": {"label": activity.state.label},
        "tasks": [{"number": task.number, "title": task.title} for task in activity.tasks],
        "starts_on": _day(activity.starts_on), "ends_on": _day(activity.ends_on),
        "county": activity.county, "address": activity.address, "participants": activity.participants,
        "description": activity.description, "results": activity.results,
        "photo_ids": [photo.id for photo in activity.photos],
        "files": [{"original_name": item.original_name} for item in activity.attachments],
    }


def _figures(figures: Figures) -> dict:
    return {
        "count": figures.count, "participants": figures.participants,
        "tasks": [{"number": t.task.number, "title": t.task.title, "count": t.count, "participants": t.participants}
                  for t in figures.tasks],
        "kinds": [{"name": k.kind.name, "count": k.count, "participants": k.participants,
                   "figures": [[f.label, f.unit, f.total] for f in k.figures],
                   "rates": [[r.label, r.numerator, r.denominator] for r in k.rates]} for k in figures.kinds],
    }


def take(data: UnitReportData) -> dict:
    """The JSON kept with a report at submit."""
    return {
        "version": VERSION,
        "unit": {"id": data.unit.id, "name": data.unit.name, "code": data.unit.code},
        "updated_at": data.updated_at.isoformat(),
        "figures": _figures(data.figures),
        "activities": [_activity(activity) for activity in data.activities],
        "sections": [{"label": s.label, "own": s.own, "unit": {"name": s.unit.name, "code": s.unit.code},
                      "ids": [a.id for a in s.activities]} for s in data.sections],
        "groups": [{"title": g.group.title, "tasks": [{"number": t.task.number, "title": t.task.title,
                                                        "ids": [a.id for a in t.activities]} for t in g.tasks]}
                   for g in data.groups],
        "highlight_ids": [activity.id for activity in data.highlights],
        "addressee": data.addressee,
        "upward": data.upward,
        "annex": [[r.name, r.status_label, r.submitted, r.count, r.participants] for r in data.annex],
    }


def _restore_figures(raw: dict) -> Figures:
    return Figures(
        count=raw["count"], participants=raw["participants"],
        tasks=[TaskSummary(Snap(number=t["number"], title=t["title"]), t["count"], t["participants"])
               for t in raw["tasks"]],
        kinds=[KindSummary(Snap(name=k["name"]), k["count"], k["participants"],
                           [FigureTotal(*f) for f in k["figures"]], [FigureRate(*r) for r in k["rates"]])
               for k in raw["kinds"]],
    )


def restore(campaign: Campaign, report: UnitReport) -> UnitReportData:
    """The report data as it was submitted."""
    raw = report.snapshot
    photo_ids = [i for a in raw["activities"] for i in a["photo_ids"]]
    photos = {photo.id: photo for photo in db.session.scalars(select(Photo).where(Photo.id.in_(photo_ids)))} \
        if photo_ids else {}
    activities = {}
    for a in raw["activities"]:
        activities[a["id"]] = Snap(
            id=a["id"], title=a["title"], unit=Snap(**a["unit"]), kind=Snap(**a["kind"]), state=Snap(**a["state"]),
            tasks=[Snap(**t) for t in a["tasks"]],
            starts_on=date.fromisoformat(a["starts_on"]) if a["starts_on"] else None,
            ends_on=date.fromisoformat(a["ends_on"]) if a["ends_on"] else None,
            county=a["county"], address=a["address"], participants=a["participants"],
            description=a["description"], results=a["results"],
            photos=[photos[i] for i in a["photo_ids"] if i in photos],
            attachments=[Snap(**f) for f in a["files"]],
        )
    unit = Snap(**raw["unit"])
    sections = [UnitSection(s["label"], Snap(**s["unit"]), [activities[i] for i in s["ids"]], own=s["own"])
                for s in raw["sections"]]
    groups = [GroupSection(Snap(title=g["title"]),
                           [TaskSection(Snap(number=t["number"], title=t["title"]), [activities[i] for i in t["ids"]])
                            for t in g["tasks"]]) for g in raw["groups"]]
    return UnitReportData(
        campaign=campaign, unit=unit, report=report, activities=list(activities.values()),
        figures=_restore_figures(raw["figures"]), groups=groups,
        highlights=[activities[i] for i in raw["highlight_ids"] if i in activities],
        updated_at=report.snapshot_at or datetime.fromisoformat(raw["updated_at"]), sections=sections,
        # Snapshots taken before the upward report named no addressee: the campaign's, as then printed.
        addressee=raw.get("addressee") or campaign.report_addressee or campaign.issuer,
        upward=raw.get("upward", False), annex=[AnnexRow(*row) for row in raw.get("annex", [])],
    )
