"""The province's review queue."""
from flask import Blueprint, abort
from flask_login import current_user, login_required

bp = Blueprint("reviews", __name__, url_prefix="/reviews")


@bp.before_request
@login_required
def require_province():
    if not current_user.is_province:
        abort(403)


@bp.get("/")
def queue():
    """Submitted entries waiting for review."""
    return "审核"
