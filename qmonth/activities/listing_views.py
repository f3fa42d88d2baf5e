"""The activity list, search and export (placeholder until the list lands)."""
from flask_login import login_required

from .views import bp


@bp.get("/")
@login_required
def index():
    """The list of activities the user may see."""
    return "活动列表"
