"""Photos and attachments of activities: pipeline, storage, uploads (routes: views.py)."""
from flask import Blueprint

bp = Blueprint("photos", __name__)
