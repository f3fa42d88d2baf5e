"""App-wide hooks of the board feature, registered once from create_app:

- the deadline lock (before_request, and the re-login path of the activity form);
- the reminder badge and the unit's board row for templates.

(The audit record of a refused request is qmonth/audit/hooks.py.)
"""
from __future__ import annotations

from flask import Flask, url_for
from flask_login import current_user, user_logged_in

from ..campaigns.services import active_campaign
from ..deadlines import refuse_login_into_locked_unit, refuse_writes_after_deadline
from ..models import ActivityState
from .rows import build_board
from .services import unread_reminder_count


def register(app: Flask) -> None:
    app.before_request(refuse_writes_after_deadline)
    user_logged_in.connect(refuse_login_into_locked_unit, app)
    app.context_processor(board_helpers)


def board_helpers() -> dict:
    """Callables, so a page pays for the queries only where the template uses them."""
    def unread_reminders() -> int:
        if not current_user.is_authenticated or current_user.unit_id is None:
            return 0
        return unread_reminder_count(current_user, active_campaign())

    def board_row_for(unit):
        campaign = active_campaign()
        if unit is None or campaign is None:
            return None
        rows = build_board(campaign, unit_id=unit.id).rows
        return rows[0] if rows else None

    def board_row_urls() -> dict:
        """What a board row links to, built once per table (url_for 44 times over costs more than
        the rest of the row): the activity list, by state too, and the unit and report pages
        without the unit's code, which ends their paths."""
        activities = url_for("activities.index")
        return {"list": activities,
                "states": [(state, f"{activities}?state={state.value}") for state in ActivityState],
                "unit": url_for("board.unit", code="__code__").removesuffix("__code__"),
                "board": url_for("board.index", under="__code__").removesuffix("__code__"),
                "report": url_for("reports.unit_report", code="__code__").removesuffix("__code__")}

    return {"unread_reminders": unread_reminders, "board_row_for": board_row_for, "board_row_urls": board_row_urls}
