"""Summary reports (总结报告), the province roll-up and bulletins (routes: views.py)."""
from flask import Blueprint

bp = Blueprint("reports", __name__, url_prefix="/reports")
