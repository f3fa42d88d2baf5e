"""Photos, attachments and resumable photo uploads in progress."""
from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import Boolean, Enum, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from ..timeutil import UTCDateTime, to_local, utcnow
from .activities import Activity
from .base import NEVER_REUSE_IDS, _enum_values


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
