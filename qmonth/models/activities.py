"""Activities, their per-unit tally and the audit trail."""
from __future__ import annotations

import enum
from datetime import date, datetime

from sqlalchemy import JSON, Boolean, Date, Enum, ForeignKey, Integer, String, Text, false
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from ..timeutil import UTCDateTime, utcnow
from .base import NEVER_REUSE_IDS, _enum_values
from .campaigns import ActivityKind, Campaign, Task
from .units import Unit, User


class ActivityState(enum.Enum):
    DRAFT = "draft"
    SUBMITTED = "submitted"
    ACCEPTED = "accepted"
    RETURNED = "returned"

    @property
    def label(self) -> str:
        return STATE_LABELS[self]


STATE_LABELS = {
    ActivityState.DRAFT: "草稿",
    ActivityState.SUBMITTED: "已报送",
    ActivityState.ACCEPTED: "已采纳",
    ActivityState.RETURNED: "已退回",
}

# Length bounds shared by the forms and the columns, so both refuse the same input.
TITLE_MAX = 100
ORGANISER_MAX = 100
CO_ORGANISERS_MAX = 300
COUNTY_MAX = 40
ADDRESS_MAX = 200
DESCRIPTION_MAX = 5000
RESULTS_MAX = 3000
CONTACT_NAME_MAX = 40
CONTACT_PHONE_MAX = 40
REASON_MAX = 500
FIGURE_TEXT_MAX = 300
PARTICIPANTS_MAX = 10_000_000

activity_task = db.Table(
    "activity_task",
    db.Column("activity_id", ForeignKey("activity.id", ondelete="CASCADE"), primary_key=True),
    db.Column("task_id", ForeignKey("task.id", ondelete="CASCADE"), primary_key=True),
)


def made_by_search_migrations(name: str | None, type_: str, parent_names=None) -> bool:
    """SQLite's trigram tables (migration 58dc9899ac75), PostgreSQL's pieces index (a9c4e2f7b316)
    and the copy of each activity's unit path that index reads (b6e1c4d8a2f0, kept by triggers)
    are made by hand, not from models: autogenerate and the schema test leave them out instead of
    offering to drop them."""
    return bool(name) and ((type_ == "table" and name.startswith("activity_search"))
                           or (type_ == "index" and name == "ix_activity_search_pieces")
                           or (type_ == "column" and name == "unit_path"
                               and (parent_names or {}).get("table_name") == "activity"))


class Activity(db.Model):
    """An activity a unit registered. State, unit, author and campaign are never
    taken from a request: the services set them."""

    __table_args__ = (
        db.Index("ix_activity_campaign_updated", "campaign_id", "updated_at"),  # the list's first page
        db.Index("ix_activity_campaign_unit_updated", "campaign_id", "unit_id", "updated_at"),  # one unit's
        db.Index("ix_activity_campaign_state", "campaign_id", "state"),  # counts per state
        # The board's counts per unit and state: covering, so they never read the rows themselves
        # (with each group's latest id: SQLite's indexes end with it anyway, PostgreSQL's include it).
        db.Index("ix_activity_campaign_unit_state", "campaign_id", "unit_id", "state", "participants",
                 postgresql_include=["id"]),
        db.Index("ix_activity_author_client_id", "author_id", "client_id", unique=True),
        NEVER_REUSE_IDS,
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaign.id"), index=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("unit.id"), index=True)
    author_id: Mapped[int] = mapped_column(ForeignKey("user.id"))
    kind_id: Mapped[int] = mapped_column(ForeignKey("activity_kind.id"))
    # One-time key of the rendered form that created the row: a repeated POST finds it.
    form_key: Mapped[str | None] = mapped_column(String(64), unique=True)
    # Id the phone gave the entry (a UUID), unique per author, and the hash of what it sent:
    # a repeat of the same entry finds this row; the same id with other content is refused.
    client_id: Mapped[str | None] = mapped_column(String(36))
    client_hash: Mapped[str | None] = mapped_column(String(64))
    # When the phone's outbox recorded the entry (checked plausible on arrival), and whether it
    # arrived after the unit's deadline though recorded before it: kept as a draft for 补报.
    captured_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    arrived_late: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())

    title: Mapped[str] = mapped_column(String(TITLE_MAX))
    organiser: Mapped[str] = mapped_column(String(ORGANISER_MAX), default="")
    co_organisers: Mapped[str] = mapped_column(String(CO_ORGANISERS_MAX), default="")
    starts_on: Mapped[date | None] = mapped_column(Date)
    ends_on: Mapped[date | None] = mapped_column(Date)
    county: Mapped[str] = mapped_column(String(COUNTY_MAX), default="")
    address: Mapped[str] = mapped_column(String(ADDRESS_MAX), default="")
    participants: Mapped[int | None] = mapped_column(Integer)
    description: Mapped[str] = mapped_column(Text, default="")
    results: Mapped[str] = mapped_column(Text, default="")
    contact_name: Mapped[str] = mapped_column(String(CONTACT_NAME_MAX), default="")
    contact_phone: Mapped[str] = mapped_column(String(CONTACT_PHONE_MAX), default="")
    figures: Mapped[dict] = mapped_column(JSON, default=dict)
    no_fee_declared: Mapped[bool] = mapped_column(Boolean, default=False)

    state: Mapped[ActivityState] = mapped_column(
        Enum(ActivityState, values_callable=_enum_values, native_enum=False, length=12),
        default=ActivityState.DRAFT, index=True,
    )
    is_highlight: Mapped[bool] = mapped_column(Boolean, default=False)
    return_reason: Mapped[str] = mapped_column(Text, default="")
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    reviewed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    reviewed_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    campaign: Mapped[Campaign] = relationship()
    unit: Mapped[Unit] = relationship()
    author: Mapped[User] = relationship(foreign_keys=[author_id])
    reviewed_by: Mapped[User | None] = relationship(foreign_keys=[reviewed_by_id])
    kind: Mapped[ActivityKind] = relationship()
    tasks: Mapped[list[Task]] = relationship(secondary=activity_task, order_by="Task.number")

    @property
    def is_editable(self) -> bool:
        return self.state in (ActivityState.DRAFT, ActivityState.RETURNED)

    def __repr__(self) -> str:
        return f"<Activity {self.id} {self.state.value}>"


class ActivityTally(db.Model):
    """How many activities a unit has in a campaign, per state: kept by database triggers on
    `activity` (migration 7c1e5a3f9d20), so every insert, state change, move and delete counts,
    whoever makes it. The unfiltered list's counts sum these rows over the viewer's units instead
    of counting a million activities."""

    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaign.id"), primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("unit.id"), primary_key=True)
    state: Mapped[ActivityState] = mapped_column(
        Enum(ActivityState, values_callable=_enum_values, native_enum=False, length=12), primary_key=True)
    count: Mapped[int] = mapped_column(Integer, default=0)


class AuditEvent(db.Model):
    """Who did what, when and why: every state change, edit and review."""

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("unit.id"), index=True)
    action: Mapped[str] = mapped_column(String(40), index=True)
    object_type: Mapped[str] = mapped_column(String(40), default="")
    object_id: Mapped[int | None] = mapped_column(Integer)
    from_state: Mapped[str | None] = mapped_column(String(20))
    to_state: Mapped[str | None] = mapped_column(String(20))
    reason: Mapped[str] = mapped_column(Text, default="")
    changes: Mapped[dict] = mapped_column(JSON, default=dict)

    actor: Mapped[User | None] = relationship()

    __table_args__ = (db.Index("ix_audit_event_object", "object_type", "object_id"),)
