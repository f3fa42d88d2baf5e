"""Account management for province and unit admins (routes: views.py; the audit log page: qmonth/audit/views.py)."""
from flask import Blueprint

bp = Blueprint("admin", __name__, url_prefix="/admin")
