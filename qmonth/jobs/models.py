"""The job table: the state of every background job, readable by any web node."""
from __future__ import annotations

import enum
from datetime import datetime, timezone

from sqlalchemy import JSON, Enum, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db
from ..models import NEVER_REUSE_IDS, _enum_values
from ..timeutil import UTCDateTime


def machine_now() -> datetime:
    """The machine's clock, never the demo clock: leases are compared across processes."""
    return datetime.now(timezone.utc)


class JobState(enum.Enum):
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"


class Job(db.Model):
    """One unit of background work (a PDF, a ZIP of PDFs), found again by its key.

    `key` makes jobs idempotent: the same work (e.g. "pdf:<fingerprint>") is one row.
    A worker owns a running job while `lease_until` is in the future and it keeps
    extending it; `claimed_by` names the claim, so a worker that lost its lease cannot
    mark the job done over the one that took it over.
    """

    __tablename__ = "job"
    __table_args__ = NEVER_REUSE_IDS

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))
    key: Mapped[str] = mapped_column(String(160), unique=True)
    state: Mapped[JobState] = mapped_column(
        Enum(JobState, values_callable=_enum_values, native_enum=False, length=10), index=True)
    payload: Mapped[dict] = mapped_column(JSON, default=dict)
    done: Mapped[int] = mapped_column(Integer, default=0)
    total: Mapped[int] = mapped_column(Integer, default=1)
    error: Mapped[str] = mapped_column(Text, default="")  # shown to the user: Chinese
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    claimed_by: Mapped[str | None] = mapped_column(String(64))
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    result_key: Mapped[str | None] = mapped_column(String(200))
    requested_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=machine_now)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    @property
    def is_finished(self) -> bool:
        return self.state in (JobState.DONE, JobState.FAILED)

    @property
    def elapsed(self) -> int:
        """Seconds since it was asked for (until it finished)."""
        end = self.finished_at if self.is_finished and self.finished_at else machine_now()
        return max(0, int((end - self.created_at).total_seconds()))

    @property
    def percent(self) -> int:
        return int(100 * self.done / self.total) if self.total else 0

    def __repr__(self) -> str:
        return f"<Job {self.id} {self.key[:24]} {self.state.value}>"
