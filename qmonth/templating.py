"""Jinja filters and globals shared by every template."""

from .photos.capture_time import evidence_line, evidence_parts
from .timeutil import format_date_cn, format_local, to_local, utcnow


def register(app) -> None:
    app.jinja_env.filters["local"] = format_local
    app.jinja_env.filters["date_cn"] = format_date_cn
    app.jinja_env.filters["to_local"] = to_local
    app.jinja_env.filters["photo_times"] = evidence_line
    app.jinja_env.filters["photo_time_parts"] = evidence_parts

    @app.context_processor
    def inject_globals():
        from .access import may_accept, may_return, sees_units_below
        from .campaigns.services import active_campaign

        from flask import current_app

        return {"active_campaign": active_campaign, "now_utc": utcnow, "may_accept": may_accept,
                "may_return": may_return, "sees_units_below": sees_units_below,
                "demo_clock": bool(current_app.config.get("CLOCK_OFFSET"))}
