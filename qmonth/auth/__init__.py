"""Login, logout, password change, session lifetime and throttling (routes: views.py)."""
from flask import Blueprint

bp = Blueprint("auth", __name__)
