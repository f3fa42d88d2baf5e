"""The objects and requests of the access matrix (tests/access/test_access_matrix.py).

Bureau A is 济南市住建局 (jinan-zj), bureau B 青岛市住建局 (qingdao-zj). For every actor a
fresh set of objects is made for A and for B, so one actor's allowed write (a delete, a
submit) never changes what the next actor meets.
"""
from __future__ import annotations

import io
import secrets
import uuid
from datetime import datetime, timedelta, timezone
from urllib.parse import urlsplit

from flask import url_for
from PIL import Image
from sqlalchemy import select

from qmonth.auth.services import hash_password
from qmonth.board.services import send_reminder
from qmonth.extensions import db
from qmonth.jobs.models import Job, JobState
from qmonth.models import Bulletin, Campaign, PhotoUpload, Role, Unit, User
from qmonth.photos.services import add_attachment, add_photo
from qmonth.reports.services import create_bulletin
from qmonth.reports.tasks import ZIP_KIND

from tests.helpers import csrf_token_from

ACTORS = {
    "anonymous": None,
    "reporter_a": "jinan-zj",
    "admin_a": "jinan-zj-admin",
    "reporter_b": "qingdao-zj",
    "province": "province",
}
UNIT_OF = {"a": "jinan-zj", "b": "qingdao-zj"}
OWNERS = ("a", "b", "missing")
MISSING_ID = 987654

# Parameters that name something a bureau owns; for the others A and B are simply two
# existing objects and "missing" one that does not exist.
OWNED_PARAMETERS = {"activity_id", "photo_id", "attachment_id", "user_id", "code", "reminder_id"}

_password_hash = None


def small_jpeg() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (64, 48), (90, 140, 200)).save(buffer, "JPEG")
    return buffer.getvalue()


def build_world(make_activity) -> dict[str, dict]:
    """Parameter values for A, B and missing objects, freshly made."""
    global _password_hash
    _password_hash = _password_hash or hash_password("a-long-password-1")
    campaign = db.session.scalar(select(Campaign).where(Campaign.is_active))
    province = db.session.scalar(select(User).where(User.username == "province"))
    world = {}
    for owner, code in UNIT_OF.items():
        unit = db.session.scalar(select(Unit).where(Unit.code == code))
        author = db.session.scalar(select(User).where(User.username == code))
        activity = make_activity(code, title=f"{code} 的活动")
        photo = add_photo(stream=io.BytesIO(small_jpeg()), filename="现场.jpg", by=author, activity=activity)
        attachment = add_attachment(stream=io.BytesIO(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n%%EOF\n"),
                                    filename="方案.pdf", by=author, activity=activity)
        user = User(username=f"{code}-extra-{activity.id}", display_name="临时填报员", unit=unit,
                    role=Role.REPORTER, password_hash=_password_hash)
        db.session.add(user)
        reminder = send_reminder(campaign, units=[unit], message="请及时报送。", by=province)
        # Staged (for a form not yet saved), so that deleting the activity leaves it to later requests.
        upload = PhotoUpload(token=secrets.token_hex(16), user_id=author.id, staging_key="0123456789abcdef" * 2,
                             client_id=str(uuid.uuid4()), length=1000, filename="现场.jpg",
                             expires_at=datetime.now(timezone.utc) + timedelta(days=1))
        db.session.add(upload)
        # A ZIP of all reports being made (jobs belong to no bureau: the province's alone).
        job = Job(kind=ZIP_KIND, key=f"{ZIP_KIND}:{owner}-{activity.id}", state=JobState.QUEUED,
                  payload={"name": "各单位总结报告", "parts": []}, total=44,
                  lease_until=datetime.now(timezone.utc) + timedelta(hours=1))
        db.session.add(job)
        db.session.commit()
        world[owner] = {
            "title": activity.title, "activity_id": activity.id, "photo_id": photo.id, "attachment_id": attachment.id,
            "user_id": user.id, "code": code, "reminder_id": reminder.id, "campaign_id": campaign.id,
            "number": _bulletin_number(campaign, province), "form_key": "0123456789abcdef0123456789abcdef",
            "variant": "thumb", "field": "problems", "filename": "css/app.css", "token": upload.token,
            "job_id": job.id,
        }
    world["missing"] = {
        "activity_id": MISSING_ID, "photo_id": MISSING_ID, "attachment_id": MISSING_ID, "user_id": MISSING_ID,
        "code": "nowhere-zz", "reminder_id": MISSING_ID, "campaign_id": MISSING_ID, "number": MISSING_ID,
        "form_key": "0123456789abcdef0123456789abcdef", "variant": "thumb", "field": "problems",
        "filename": "css/missing.css", "token": "f" * 32, "job_id": MISSING_ID,
    }
    return world


def world_title(world: dict, owner: str) -> str:
    """The title of the owner's fresh activity: it must never reach the other bureau."""
    return world[owner]["title"]


def _bulletin_number(campaign, province) -> int:
    bulletin = db.session.scalar(select(Bulletin).where(Bulletin.campaign_id == campaign.id).limit(1))
    if bulletin is None:
        bulletin = create_bulletin(campaign, by=province)
        db.session.commit()
    return bulletin.number


def sign_in(app, username: str | None):
    """A client signed in as `username` (None: anonymous), with a CSRF token for its session.

    The session is set up directly rather than through the login form, which has its own
    tests: a real password check per actor and route would dominate the matrix's run time.
    """
    client = app.test_client()
    if username is None:
        client.token = csrf_token_from(client.get("/login").get_data(as_text=True))
        return client
    user = db.session.scalar(select(User).where(User.username == username))
    with client.session_transaction() as session:
        session["_user_id"] = user.get_id()
        session["_fresh"] = True
    client.token = csrf_token_from(client.get("/account/password").get_data(as_text=True))
    return client


# Status polls of a PDF being made name the document by its fingerprint.
QUERY = {endpoint: {"fp": "0" * 64} for endpoint in (
    "reports.unit_pdf_status", "reports.bulletin_pdf_status", "reports.province_pdf_status")}


def url_for_rule(app, rule, values: dict) -> str:
    arguments = {name: values[name] for name in rule.arguments}
    with app.test_request_context():
        return url_for(rule.endpoint, **arguments, **QUERY.get(rule.endpoint, {}))


def outcome(response) -> str:
    """What the user meets: the page ("ok"), 404, 403, or the login page."""
    status = response.status_code
    if status in (301, 302, 303, 307, 308):
        return "login" if urlsplit(response.headers["Location"]).path == "/login" else "ok"
    if status == 401:
        return "login"  # the activity form's own re-login page: the input is kept
    if status in (403, 404):
        return str(status)
    if status in (400, 405) or status >= 500:
        return f"error {status}"
    return "ok"  # 200, or 409/422/429: the request reached the feature's own rules
