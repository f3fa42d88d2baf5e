"""The activity list, its active search and filters, and the XLSX/CSV export (routes of the activities blueprint)."""
from flask import Response, abort, request, url_for
from flask_login import current_user, login_required

from ..htmx import is_htmx, render
from ..campaigns.services import active_campaign
from ..models import ActivityState
from . import bp, export
from .listing import SORT_LABELS, FilterChoices, ListFilters, activity_list


@bp.get("/")
@login_required
def index():
    """The activities the user may see in the active campaign: searched, filtered, paged."""
    campaign = active_campaign()
    if campaign is None:
        return render("activities/list.html", "activities/_results.html", campaign=None, listing=None)
    choices = FilterChoices.for_user(current_user, campaign)
    filters = ListFilters.from_args(request.args, current_user, campaign, choices)
    listing = activity_list(current_user, filters)
    response = render(
        "activities/list.html", "activities/_results.html",
        campaign=campaign, choices=choices, filters=filters, listing=listing,
        states=list(ActivityState), sort_labels=SORT_LABELS,
    )
    if is_htmx():
        # The canonical URL (empty fields dropped, page clamped) goes into the address bar.
        shown = filters.to_args(page=listing.page.number if listing.page.number > 1 else "")
        response.headers["HX-Push-Url"] = url_for("activities.index", **shown)
    return response


def _export(extension: str, build, mimetype: str) -> Response:
    campaign = active_campaign()
    if campaign is None:
        abort(404)
    filters = ListFilters.from_args(request.args, current_user, campaign).without_page()
    columns, rows = export.export_table(current_user, filters, campaign)
    response = Response(build(columns, rows), mimetype=mimetype)
    response.headers["Content-Disposition"] = export.content_disposition(extension)
    return response


@bp.get("/export.xlsx")
@login_required
def export_xlsx():
    """The filtered list (all pages) as an Excel workbook."""
    return _export("xlsx", export.to_xlsx,
                   "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")


@bp.get("/export.csv")
@login_required
def export_csv():
    """The filtered list (all pages) as CSV, UTF-8 with a BOM."""
    return _export("csv", export.to_csv, "text/csv; charset=utf-8")
