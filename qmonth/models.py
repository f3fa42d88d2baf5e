"""All tables, typed (SQLAlchemy 2.0)."""
from __future__ import annotations

import enum
from datetime import date, datetime

from flask_login import UserMixin
from sqlalchemy import JSON, Boolean, Date, Enum, ForeignKey, Index, Integer, String, Text, UniqueConstraint, false
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .extensions import db
from .timeutil import UTCDateTime, to_local, utcnow


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


# Tables whose ids reach URLs, audit rows, JSON lists or caches: SQLite's AUTOINCREMENT
# keeps a deleted row's id from being handed to the next row (plain rowids restart at
# max(id) + 1), so a new object never inherits a deleted one's links or history.
# PostgreSQL's sequences never go back anyway.
NEVER_REUSE_IDS = {"sqlite_autoincrement": True}


def _enum_values(enum_class):
    return [member.value for member in enum_class]


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


class Unit(db.Model):
    """A node of the reporting tree: the issuing department, a city bureau, a county bureau.

    `path` is the materialized path of ids ("/1/7/"): a subtree is `path LIKE '/1/7/%'`, one
    query at any depth (see qmonth/units.py, which alone changes parent, path and depth).
    """

    __table_args__ = NEVER_REUSE_IDS

    id: Mapped[int] = mapped_column(primary_key=True)
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("unit.id"), index=True)
    path: Mapped[str] = mapped_column(String(255), default="", index=True)
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

    __table_args__ = (Index("ix_campaign_unit_campaign_path", "campaign_id", "path"),)


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


def made_by_search_migrations(name: str | None, type_: str, _parent_names=None) -> bool:
    """SQLite's trigram tables (migration 58dc9899ac75) and PostgreSQL's pieces index
    (a9c4e2f7b316) are made by hand, not from models: autogenerate and the schema test leave
    them out instead of offering to drop them."""
    return bool(name) and ((type_ == "table" and name.startswith("activity_search"))
                           or (type_ == "index" and name == "ix_activity_search_pieces"))


class Activity(db.Model):
    """An activity a unit registered. State, unit, author and campaign are never
    taken from a request: the services set them."""

    __table_args__ = (
        db.Index("ix_activity_campaign_updated", "campaign_id", "updated_at"),  # the list's first page
        db.Index("ix_activity_campaign_state", "campaign_id", "state"),  # counts per state
        # The board's counts per unit and state: covering, so they never read the rows themselves.
        db.Index("ix_activity_campaign_unit_state", "campaign_id", "unit_id", "state", "participants"),
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


CAPTION_MAX = 200
ORIGINAL_NAME_MAX = 255


class Photo(db.Model):
    """A photo of an activity, stored as three EXIF-free JPEG copies.

    A photo chosen before its activity was first saved is staged under the
    form's one-time key (activity_id NULL) and attached when the form is saved.
    """

    __table_args__ = (db.Index("ix_photo_uploader_client_id", "uploaded_by_id", "client_id", unique=True),
                      NEVER_REUSE_IDS)

    id: Mapped[int] = mapped_column(primary_key=True)
    activity_id: Mapped[int | None] = mapped_column(ForeignKey("activity.id", ondelete="CASCADE"), index=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("unit.id"), index=True)
    uploaded_by_id: Mapped[int] = mapped_column(ForeignKey("user.id"))
    staging_key: Mapped[str | None] = mapped_column(String(64), index=True)
    position: Mapped[int] = mapped_column(Integer, default=0)
    is_cover: Mapped[bool] = mapped_column(Boolean, default=False)
    caption: Mapped[str] = mapped_column(String(CAPTION_MAX), default="")
    original_name: Mapped[str] = mapped_column(String(ORIGINAL_NAME_MAX), default="")
    # Random stem; the copies are <stem>-screen.jpg, <stem>-print.jpg, <stem>-thumb.jpg.
    storage_key: Mapped[str] = mapped_column(String(80), unique=True)
    width: Mapped[int] = mapped_column(Integer)
    height: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    bytes_print: Mapped[int] = mapped_column(Integer, default=0)
    # The phone's id for this photo (a UUID, unique per uploader): a repeated upload finds the row.
    client_id: Mapped[str | None] = mapped_column(String(36))
    # SHA-256 of the bytes as sent (before re-encoding): the same picture twice on one activity is refused.
    original_sha256: Mapped[str | None] = mapped_column(String(64), index=True)
    # When the picture was taken (EXIF DateTimeOriginal; None: unknown) and when its last byte arrived.
    taken_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    received_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    activity: Mapped[Activity | None] = relationship(back_populates="photos")

    @property
    def taken_outside_activity_dates(self) -> bool:
        """Whether the capture time (Shanghai date) falls outside the activity's dates."""
        activity = self.activity
        if self.taken_at is None or activity is None or activity.starts_on is None:
            return False
        taken_on = to_local(self.taken_at).date()
        return not activity.starts_on <= taken_on <= (activity.ends_on or activity.starts_on)


class AttachmentKind(enum.Enum):
    VIDEO = "video"
    DOCUMENT = "document"


class Attachment(db.Model):
    """A short video or a document of an activity; never printed into the PDF."""

    __table_args__ = NEVER_REUSE_IDS

    id: Mapped[int] = mapped_column(primary_key=True)
    activity_id: Mapped[int | None] = mapped_column(ForeignKey("activity.id", ondelete="CASCADE"), index=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("unit.id"), index=True)
    uploaded_by_id: Mapped[int] = mapped_column(ForeignKey("user.id"))
    staging_key: Mapped[str | None] = mapped_column(String(64), index=True)
    kind: Mapped[AttachmentKind] = mapped_column(
        Enum(AttachmentKind, values_callable=_enum_values, native_enum=False, length=10)
    )
    original_name: Mapped[str] = mapped_column(String(ORIGINAL_NAME_MAX), default="")
    storage_key: Mapped[str] = mapped_column(String(80), unique=True)
    content_type: Mapped[str] = mapped_column(String(100))
    extension: Mapped[str] = mapped_column(String(10))
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    activity: Mapped[Activity | None] = relationship(back_populates="attachments")


Activity.photos = relationship(Photo, back_populates="activity", order_by=(Photo.position, Photo.id),
                               cascade="all, delete-orphan", passive_deletes=True)
Activity.attachments = relationship(Attachment, back_populates="activity", order_by=Attachment.id,
                                    cascade="all, delete-orphan", passive_deletes=True)


class PhotoUpload(db.Model):
    """A photo sent in pieces (resumable upload, see qmonth/photos/resumable.py).

    The bytes received so far sit in a file under the upload folder, whose size is the
    acknowledged offset; the row says what is expected and, once done, which photo it made.
    """

    __table_args__ = (UniqueConstraint("user_id", "client_id", name="uq_photo_upload_user_client_id"),
                      NEVER_REUSE_IDS)

    id: Mapped[int] = mapped_column(primary_key=True)
    token: Mapped[str] = mapped_column(String(32), unique=True)  # random: the upload's URL
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id"), index=True)
    activity_id: Mapped[int | None] = mapped_column(ForeignKey("activity.id", ondelete="CASCADE"))
    staging_key: Mapped[str | None] = mapped_column(String(64))
    client_id: Mapped[str] = mapped_column(String(36))
    length: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str | None] = mapped_column(String(64))  # expected, when the client gave it
    filename: Mapped[str] = mapped_column(String(ORIGINAL_NAME_MAX), default="")
    taken_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    photo_id: Mapped[int | None] = mapped_column(ForeignKey("photo.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)


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
