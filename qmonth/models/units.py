"""Accounts and the reporting tree: roles, units (live and as a past campaign kept them), users,
login attempts."""
from __future__ import annotations

import enum
from datetime import datetime

from flask_login import UserMixin
from sqlalchemy import Boolean, Enum, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from ..timeutil import UTCDateTime, utcnow
from .base import NEVER_REUSE_IDS, _enum_values


class Role(enum.Enum):
    REPORTER = "reporter"
    UNIT_ADMIN = "unit_admin"
    PROVINCE_ADMIN = "province_admin"

    @property
    def label(self) -> str:
        return ROLE_LABELS[self]


ROLE_LABELS = {
    Role.REPORTER: "填报员",
    Role.UNIT_ADMIN: "单位管理员",
    Role.PROVINCE_ADMIN: "省厅管理员",
}


class Department(enum.Enum):
    ZJ = "zj"
    CG = "cg"
    SW = "sw"
    YL = "yl"
    JT = "jt"

    @property
    def label(self) -> str:
        return DEPARTMENT_LABELS[self]


DEPARTMENT_LABELS = {
    Department.ZJ: "住房城乡建设",
    Department.CG: "城市管理",
    Department.SW: "水务(水利)",
    Department.YL: "园林和林业(绿化)",
    Department.JT: "城乡交通运输",
}



class Unit(db.Model):
    """A node of the reporting tree: the issuing department, a city bureau, a county bureau.

    `path` is the materialized path of ids ("/1/7/"): a subtree is `path LIKE '/1/7/%'`, one
    query at any depth (see qmonth/units.py, which alone changes parent, path and depth).
    """

    __table_args__ = (
        # A subtree is a prefix of `path`: PostgreSQL answers LIKE 'prefix%' from an index only with
        # the pattern operator class, or under the C collation (migration 7b2e4c9d1a36).
        Index("ix_unit_path", "path", postgresql_ops={"path": "varchar_pattern_ops"}),
        NEVER_REUSE_IDS,
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("unit.id"), index=True)
    path: Mapped[str] = mapped_column(String(255), default="")
    depth: Mapped[int] = mapped_column(Integer, default=0)
    retired_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    city: Mapped[str] = mapped_column(String(20))
    department: Mapped[Department] = mapped_column(
        Enum(Department, values_callable=_enum_values, native_enum=False, length=8)
    )
    position: Mapped[int] = mapped_column(Integer, default=0)

    users: Mapped[list[User]] = relationship(back_populates="unit")
    parent: Mapped[Unit | None] = relationship(remote_side=[id])

    def __repr__(self) -> str:
        return f"<Unit {self.code}>"


class CampaignUnit(db.Model):
    """A unit as it stood in a campaign's reporting tree when that campaign stopped being the
    active one (written by qmonth/units.py `freeze_tree`): the tree belongs to its campaign, so a
    rename or a move next year leaves last year's names, parents and scopes as they were. The
    active campaign reads the live `unit` table; a campaign with no rows here (never active, or
    not yet past) does too."""

    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaign.id"), primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("unit.id"), primary_key=True)
    parent_id: Mapped[int | None] = mapped_column(Integer)
    path: Mapped[str] = mapped_column(String(255), default="")
    depth: Mapped[int] = mapped_column(Integer, default=0)
    name: Mapped[str] = mapped_column(String(120))
    city: Mapped[str] = mapped_column(String(20))
    position: Mapped[int] = mapped_column(Integer, default=0)
    retired_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (Index("ix_campaign_unit_campaign_path", "campaign_id", "path",
                            postgresql_ops={"path": "varchar_pattern_ops"}),)


class User(UserMixin, db.Model):
    __table_args__ = NEVER_REUSE_IDS

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(60), unique=True)
    display_name: Mapped[str] = mapped_column(String(60))
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("unit.id"))
    role: Mapped[Role] = mapped_column(
        Enum(Role, values_callable=_enum_values, native_enum=False, length=20)
    )
    password_hash: Mapped[str] = mapped_column(String(255))
    is_enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    # Bumped on password change or disabling: sessions carry it, so old ones stop working.
    session_version: Mapped[int] = mapped_column(Integer, default=1)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    unit: Mapped[Unit | None] = relationship(back_populates="users")

    @property
    def is_active(self) -> bool:  # Flask-Login refuses inactive users.
        return self.is_enabled

    def get_id(self) -> str:
        return f"{self.id}:{self.session_version}"

    @property
    def is_province(self) -> bool:
        return self.role is Role.PROVINCE_ADMIN

    @property
    def is_unit_admin(self) -> bool:
        return self.role is Role.UNIT_ADMIN

    @property
    def can_manage_accounts(self) -> bool:
        return self.role in (Role.PROVINCE_ADMIN, Role.UNIT_ADMIN)

    def __repr__(self) -> str:
        return f"<User {self.username}>"



USERNAME_KEY_MAX = 60
CLIENT_ADDRESS_MAX = 64


class LoginAttempt(db.Model):
    """One try at the login form. Kept in the database, not in a worker's memory, so the
    throttle holds across every gunicorn worker."""

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    username: Mapped[str] = mapped_column(String(USERNAME_KEY_MAX))  # lower-cased, as typed
    address: Mapped[str] = mapped_column(String(CLIENT_ADDRESS_MAX))
    succeeded: Mapped[bool] = mapped_column(Boolean, default=False)

    __table_args__ = (
        db.Index("ix_login_attempt_username_at", "username", "at"),
        db.Index("ix_login_attempt_address_at", "address", "at"),
    )
