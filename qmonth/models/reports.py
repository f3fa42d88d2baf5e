"""Unit reports, bulletins, reminders, reopenings (补报) and due dates."""
from __future__ import annotations

import enum
from datetime import date, datetime

from sqlalchemy import JSON, Date, Enum, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from ..timeutil import UTCDateTime, utcnow
from .base import NEVER_REUSE_IDS, _enum_values
from .campaigns import Campaign
from .units import Unit, User


class ReportState(enum.Enum):
    DRAFT = "draft"
    SUBMITTED = "submitted"

    @property
    def label(self) -> str:
        return {ReportState.DRAFT: "草稿", ReportState.SUBMITTED: "已报送"}[self]


class UnitReport(db.Model):
    """A unit's summary report (总结报告) for a campaign: the narrative the bureau writes."""

    __table_args__ = (UniqueConstraint("campaign_id", "unit_id"), NEVER_REUSE_IDS)

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaign.id"))
    unit_id: Mapped[int] = mapped_column(ForeignKey("unit.id"), index=True)
    state: Mapped[ReportState] = mapped_column(
        Enum(ReportState, values_callable=_enum_values, native_enum=False, length=12), default=ReportState.DRAFT
    )
    overview: Mapped[str] = mapped_column(Text, default="")        # 一、基本情况 (opening paragraph)
    practices: Mapped[str] = mapped_column(Text, default="")       # 二、主要做法和成效
    highlights_text: Mapped[str] = mapped_column(Text, default="")  # 三、特色亮点 (narrative)
    highlight_activity_ids: Mapped[list] = mapped_column(JSON, default=list)
    problems: Mapped[str] = mapped_column(Text, default="")        # 四、存在问题和下一步打算
    signature: Mapped[str] = mapped_column(String(120), default="")
    signed_on: Mapped[date | None] = mapped_column(Date)
    # The root's report is an upward document: its 发文字号 and 签发人 (empty for every other unit).
    doc_number: Mapped[str] = mapped_column(String(40), default="", server_default="")
    signer: Mapped[str] = mapped_column(String(20), default="", server_default="")
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    submitted_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    # Bumped on every save: autosaves carry it, so a stale tab cannot overwrite newer text.
    revision: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    # What the report said when it was submitted (qmonth/reports/snapshot.py): the parent and the
    # PDF read it, so later changes below do not alter what was received. NULL while a draft.
    snapshot: Mapped[dict | None] = mapped_column(JSON)
    snapshot_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The stamped scan (盖章扫描件) of the submitted report, PDF or JPEG, in the uploads store.
    scan_key: Mapped[str | None] = mapped_column(String(80))
    scan_name: Mapped[str | None] = mapped_column(String(200))
    scan_mimetype: Mapped[str | None] = mapped_column(String(40))
    scan_bytes: Mapped[int | None] = mapped_column(Integer)
    scan_uploaded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    campaign: Mapped[Campaign] = relationship()
    unit: Mapped[Unit] = relationship()
    submitted_by: Mapped[User | None] = relationship()


class Bulletin(db.Model):
    """A numbered publicity bulletin (活动简报 第N期) compiled by the province."""

    __table_args__ = (UniqueConstraint("campaign_id", "number"), NEVER_REUSE_IDS)

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaign.id"))
    number: Mapped[int] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(String(120), default="")
    lead: Mapped[str] = mapped_column(Text, default="")
    # Ordered activity ids (highlights) the bulletin presents.
    activity_ids: Mapped[list] = mapped_column(JSON, default=list)
    issued_on: Mapped[date | None] = mapped_column(Date)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    # One-time key of the rendered "new issue" button: a double click finds the first issue.
    form_key: Mapped[str | None] = mapped_column(String(64), unique=True, index=True)

    campaign: Mapped[Campaign] = relationship()


class Reminder(db.Model):
    """A reminder (催报) the province sends to chosen units; each user reads it in qmonth."""

    __table_args__ = NEVER_REUSE_IDS

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaign.id"))
    message: Mapped[str] = mapped_column(Text)
    sent_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    sent_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    # One-time key of the rendered form: a double click finds the reminder the first click sent.
    form_key: Mapped[str | None] = mapped_column(String(64), unique=True, index=True)

    sent_by: Mapped[User | None] = relationship()
    recipients: Mapped[list[ReminderRecipient]] = relationship(back_populates="reminder", cascade="all, delete-orphan")


class ReminderRecipient(db.Model):
    """One unit a reminder went to; `read_by` lists user ids that marked it read."""

    __table_args__ = (UniqueConstraint("reminder_id", "unit_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    reminder_id: Mapped[int] = mapped_column(ForeignKey("reminder.id", ondelete="CASCADE"))
    unit_id: Mapped[int] = mapped_column(ForeignKey("unit.id"), index=True)
    read_by: Mapped[list] = mapped_column(JSON, default=list)

    reminder: Mapped[Reminder] = relationship(back_populates="recipients")
    unit: Mapped[Unit] = relationship()


class UnitReopening(db.Model):
    """The province reopened a unit after the deadline (补报): a new due time and why."""

    __table_args__ = NEVER_REUSE_IDS

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaign.id"))
    unit_id: Mapped[int] = mapped_column(ForeignKey("unit.id"), index=True)
    reason: Mapped[str] = mapped_column(Text)
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    unit: Mapped[Unit] = relationship()
    created_by: Mapped[User | None] = relationship()


class UnitDueDate(db.Model):
    """The report due time a parent set for a unit below it, on or before the parent's own (the
    campaign's at the top). A unit works to the earliest due time set for it or above it."""

    __table_args__ = (UniqueConstraint("campaign_id", "unit_id"), NEVER_REUSE_IDS)

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaign.id"))
    unit_id: Mapped[int] = mapped_column(ForeignKey("unit.id"), index=True)
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    set_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    set_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    unit: Mapped[Unit] = relationship()
    set_by: Mapped[User | None] = relationship()
