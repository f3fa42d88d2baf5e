"""Summary reports (总结报告), the province roll-up and bulletins."""
from flask import Blueprint

bp = Blueprint("reports", __name__, url_prefix="/reports")
