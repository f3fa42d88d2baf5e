"""Activities: the form and workflow (views.py), the list, search and export (listing_views.py)."""
from flask import Blueprint

bp = Blueprint("activities", __name__, url_prefix="/activities")
