"""The province's review queue (routes: views.py; query and rules: services.py)."""
from flask import Blueprint

bp = Blueprint("reviews", __name__, url_prefix="/reviews")
