"""The province's oversight board (routes: views.py; the campaign pages, a tab of the board: qmonth/campaigns/views.py)."""
from flask import Blueprint

bp = Blueprint("board", __name__, url_prefix="/board")
