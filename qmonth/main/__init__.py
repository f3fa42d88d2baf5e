"""Home page, the campaign catalogue and the health check (routes: views.py)."""
from flask import Blueprint

bp = Blueprint("main", __name__)
