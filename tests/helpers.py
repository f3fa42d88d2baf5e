"""Helpers shared by the tests of every feature: CSRF tokens, lookups by code, the clock,
activities built straight in the database. Fixtures live in conftest.py; plain functions here."""
from __future__ import annotations

import logging
import re
from datetime import date, datetime, timezone

from sqlalchemy import delete, select, text

from qmonth.extensions import db
from qmonth.models import (
    Activity, ActivityKind, ActivityState, Campaign, Task, Unit, UnitDueDate, User, activity_task,
)

BASE_TIME = datetime(2024, 9, 20, 8, 0, tzinfo=timezone.utc)


def csrf_token_from(html: str) -> str:
    """The CSRF token of the first form in a page."""
    match = re.search(r'<input[^>]*name="csrf_token"[^>]*value="([^"]+)"', html) or re.search(
        r'<input[^>]*value="([^"]+)"[^>]*name="csrf_token"', html)
    assert match, "no CSRF token in the page"
    return match.group(1)


def token(client, path: str = "/") -> str:
    """A CSRF token for the client's session, read from a real page it may open."""
    return csrf_token_from(client.get(path).get_data(as_text=True))


def campaign() -> Campaign:
    return db.session.scalar(select(Campaign).where(Campaign.is_active))


def unit(code: str) -> Unit:
    return db.session.scalar(select(Unit).where(Unit.code == code))


def user(username: str) -> User:
    return db.session.scalar(select(User).where(User.username == username))


def set_clock(app, moment: datetime) -> None:
    """Make the app's clock read `moment` now (the demo-clock mechanism of timeutil)."""
    app.config["CLOCK_OFFSET"] = moment - datetime.now(timezone.utc)


def clear_activities() -> None:
    """Start from no activities: each test builds exactly the entries it talks about
    (the shared template database may hold seed-demo entries)."""
    db.session.execute(delete(activity_task))
    db.session.execute(delete(Activity))
    db.session.commit()


def build_activity(unit_code: str, title: str = "质量月主题宣传活动", *, state=ActivityState.DRAFT,
                  kind: str = "training", tasks: list[int] | None = None, starts_on=date(2024, 9, 10),
                  ends_on=None, updated_at: datetime | None = None, **fields) -> Activity:
    """An activity of the active campaign built straight with the ORM, state set directly."""
    campaign = db.session.scalar(select(Campaign).where(Campaign.is_active))
    unit = db.session.scalar(select(Unit).where(Unit.code == unit_code))
    author = db.session.scalar(select(User).where(User.username == unit_code))
    activity_kind = db.session.scalar(
        select(ActivityKind).where(ActivityKind.campaign_id == campaign.id, ActivityKind.code == kind))
    numbers = tasks if tasks is not None else [activity_kind.default_task_number]
    task_rows = list(db.session.scalars(
        select(Task).where(Task.campaign_id == campaign.id, Task.number.in_(numbers))))
    values = {"county": "历下区", "participants": 50, "figures": {}}
    values.update(fields)
    activity = Activity(campaign=campaign, unit=unit, author=author, kind=activity_kind, tasks=task_rows,
                        title=title, state=state, starts_on=starts_on, ends_on=ends_on or starts_on, **values)
    if state is not ActivityState.DRAFT and "submitted_at" not in fields:
        activity.submitted_at = BASE_TIME
    db.session.add(activity)
    db.session.flush()
    if updated_at is not None:
        # updated_at has onupdate=utcnow, so set it with a plain UPDATE after the insert.
        db.session.execute(Activity.__table__.update().where(Activity.id == activity.id)
                           .values(updated_at=updated_at))
    db.session.commit()
    return activity


# Columns that revisions after a given one add, by table: a test that fills an old schema with
# today's models adds them while it does (`stand_in_columns(..., "add")`) and drops them before
# the upgrade is checked ("drop").
OUTBOX_COLUMNS = {"activity": [("captured_at", "TIMESTAMP"), ("arrived_late", "BOOLEAN")]}
TREE_COLUMNS = {
    "unit": [("parent_id", "INTEGER"), ("path", "VARCHAR(255)"), ("depth", "INTEGER"), ("retired_at", "TIMESTAMP")],
    "campaign": [("root_unit_id", "INTEGER"), ("issuer_actions", "JSON"),
                 ("upward_addressee", "VARCHAR(200)"), ("held_units", "JSON")],
}

REPORT_COLUMNS = {"unit_report": [
    ("snapshot", "JSON"), ("snapshot_at", "TIMESTAMP"), ("scan_key", "VARCHAR(80)"), ("scan_name", "VARCHAR(200)"),
    ("scan_mimetype", "VARCHAR(40)"), ("scan_bytes", "INTEGER"), ("scan_uploaded_at", "TIMESTAMP"),
    ("doc_number", "VARCHAR(40)"), ("signer", "VARCHAR(20)")]}


def _later_tables():
    """Tables later revisions create that today's demo seeding writes to."""
    return [UnitDueDate.__table__]


def stand_in_columns(columns: dict[str, list[tuple[str, str]]], action: str) -> None:
    """Add ("add") or drop ("drop") the later revisions' columns (and the later tables the
    demo fills) on an old schema."""
    for table in _later_tables():
        if action == "add":
            table.create(db.engine)
        else:
            table.drop(db.engine)
    for table, named in columns.items():
        for name, type_ in named:
            clause = f"ADD COLUMN {name} {type_}" if action == "add" else f"DROP COLUMN {name}"
            db.session.execute(text(f"ALTER TABLE {table} {clause}"))
    db.session.commit()


class CollectLogs(logging.Handler):
    """Every message logged to the loggers it is added to: a handler of the test's own rather than
    caplog, which the suite may run without (-p no:logging) and which Alembic's logging set-up drops."""

    def __init__(self):
        super().__init__(logging.DEBUG)
        self.messages: list[str] = []

    def emit(self, record):
        self.messages.append(record.getMessage())


def assert_fits_width(page, width: int) -> None:
    """The page does not scroll sideways once it has settled: asked right after an htmx swap,
    the old and new content can briefly stand side by side. A lasting overflow fails, naming
    the elements that stick out."""
    # Poll from Python: wait_for_function evaluates a string with eval() once the first check
    # fails, which the page's CSP forbids (script-src 'self').
    for _ in range(30):
        if page.evaluate("document.documentElement.scrollWidth") <= width:
            break
        page.wait_for_timeout(100)
    else:
        wide = page.evaluate(f"""() => [...document.querySelectorAll('body *')]
            .filter(el => el.getBoundingClientRect().right > {width} + 1)
            .slice(0, 8).map(el => el.tagName + (el.id ? '#' + el.id : '') + '.' + el.className)""")
        scroll = page.evaluate("document.documentElement.scrollWidth")
        raise AssertionError(f"the page scrolls sideways: {scroll} px wide at {width} px; sticking out: {wide}")
