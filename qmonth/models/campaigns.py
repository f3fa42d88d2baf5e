"""A campaign and its catalogue: task groups, tasks, activity kinds, slogans."""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import JSON, Boolean, Date, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from ..timeutil import UTCDateTime, utcnow
from .base import NEVER_REUSE_IDS


class Campaign(db.Model):
    __table_args__ = NEVER_REUSE_IDS

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(60), unique=True)
    year: Mapped[int] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(String(200))
    theme: Mapped[str] = mapped_column(String(200))
    starts_on: Mapped[date] = mapped_column(Date)
    ends_on: Mapped[date] = mapped_column(Date)
    report_due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    issuer: Mapped[str] = mapped_column(String(200))
    issued_on: Mapped[date] = mapped_column(Date)
    addressees: Mapped[str] = mapped_column(Text, default="")
    report_addressee: Mapped[str] = mapped_column(String(200), default="")
    # Whom the root's own report goes to (the level above the issuer, e.g. 住房和城乡建设部办公厅).
    upward_addressee: Mapped[str] = mapped_column(String(200), default="", server_default="")
    contact_people: Mapped[list] = mapped_column(JSON, default=list)
    contact_phone: Mapped[str] = mapped_column(String(60), default="")
    contact_email: Mapped[str] = mapped_column(String(120), default="")
    is_active: Mapped[bool] = mapped_column(Boolean, default=False)
    # The issuing department's unit: the campaign's reporting tree is its subtree.
    root_unit_id: Mapped[int | None] = mapped_column(ForeignKey("unit.id"))
    # The issuer's own actions named in the notice, [{title, kind, task}]: its new-activity form suggests them.
    issuer_actions: Mapped[list] = mapped_column(JSON, default=list)
    loaded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # The units of this campaign's file, [{code, name, city, dept}], when they differed from the live
    # ones while another campaign was active: applied when this one is made active (campaigns/loader.py).
    held_units: Mapped[list] = mapped_column(JSON, default=list, server_default="[]")

    groups: Mapped[list[TaskGroup]] = relationship(
        back_populates="campaign", order_by="TaskGroup.number", cascade="all, delete-orphan"
    )
    tasks: Mapped[list[Task]] = relationship(
        back_populates="campaign", order_by="Task.number", cascade="all, delete-orphan"
    )
    kinds: Mapped[list[ActivityKind]] = relationship(
        back_populates="campaign", order_by="ActivityKind.position", cascade="all, delete-orphan"
    )
    slogans: Mapped[list[Slogan]] = relationship(
        back_populates="campaign", order_by="Slogan.number", cascade="all, delete-orphan"
    )

    def __repr__(self) -> str:
        return f"<Campaign {self.slug}>"


class TaskGroup(db.Model):
    __table_args__ = (UniqueConstraint("campaign_id", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaign.id", ondelete="CASCADE"))
    number: Mapped[int] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(String(120))

    campaign: Mapped[Campaign] = relationship(back_populates="groups")
    tasks: Mapped[list[Task]] = relationship(back_populates="group", order_by="Task.number")

    @property
    def numeral(self) -> str:
        return CHINESE_NUMERALS[self.number]


CHINESE_NUMERALS = dict(enumerate("零一二三四五六七八九十", start=0))


class Task(db.Model):
    __table_args__ = (UniqueConstraint("campaign_id", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaign.id", ondelete="CASCADE"))
    group_id: Mapped[int] = mapped_column(ForeignKey("task_group.id", ondelete="CASCADE"))
    number: Mapped[int] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(String(120))
    text: Mapped[str] = mapped_column(Text)

    campaign: Mapped[Campaign] = relationship(back_populates="tasks")
    group: Mapped[TaskGroup] = relationship(back_populates="tasks")


class ActivityKind(db.Model):
    """A kind of activity and the definition of the figures only it reports.

    `figures` is a list of {code, label, type, unit?, choices?} taken from the
    campaign file; see qmonth/campaigns/loader.py for the accepted types.
    """

    __table_args__ = (UniqueConstraint("campaign_id", "code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaign.id", ondelete="CASCADE"))
    code: Mapped[str] = mapped_column(String(40))
    name: Mapped[str] = mapped_column(String(60))
    position: Mapped[int] = mapped_column(Integer, default=0)
    default_task_number: Mapped[int | None] = mapped_column(Integer)
    figures: Mapped[list] = mapped_column(JSON, default=list)

    campaign: Mapped[Campaign] = relationship(back_populates="kinds")


class Slogan(db.Model):
    __table_args__ = (UniqueConstraint("campaign_id", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaign.id", ondelete="CASCADE"))
    number: Mapped[int] = mapped_column(Integer)
    text: Mapped[str] = mapped_column(String(120))

    campaign: Mapped[Campaign] = relationship(back_populates="slogans")
