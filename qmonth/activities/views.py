"""Activities: the form, the detail page and the bureau's workflow actions."""
from flask import Blueprint
from flask_login import current_user, login_required

from .services import get_activity_or_404

bp = Blueprint("activities", __name__, url_prefix="/activities")


@bp.get("/<int:activity_id>")
@login_required
def detail(activity_id: int):
    """Everything about one activity, with its history."""
    activity = get_activity_or_404(current_user, activity_id)
    return activity.title

# The list, search and export routes live in listing_views.py, on this blueprint.
from . import listing_views  # noqa: E402,F401
