"""An entry the phone recorded before the deadline that reaches the server after it is kept as a
draft marked 「截止前记录、截止后送达」, with its photos, and the unit is pointed to 补报; a time
that is missing, in the future or before the campaign earns no such favour."""
import uuid
from datetime import timedelta

from sqlalchemy import select

from qmonth.extensions import db
from qmonth.models import Activity, ActivityState, AuditEvent, Photo

from tests.activities.test_activity_form import valid_fields
from tests.board.support import DAY, due
from tests.helpers import clear_activities, set_clock, token
from tests.photos.test_resumable_uploads import CHUNK, picture

OUTBOX = {"X-Requested-With": "qmonth-upload"}


def send(client, *, captured_at, client_id=None, **overrides):
    """What outbox.js sends: the quick fields, its client id and when it recorded the entry."""
    data = {"csrf_token": token(client), "client_id": client_id or str(uuid.uuid4()), "action": "save",
            **valid_fields(**overrides)}
    if captured_at is not None:
        data["captured_at"] = captured_at.isoformat()
    return client.post("/activities/quick", headers=OUTBOX, data=data)


def entry(title) -> Activity | None:
    db.session.expire_all()
    return db.session.scalar(select(Activity).where(Activity.title == title))


def test_an_entry_recorded_before_the_deadline_and_arriving_after_is_kept_and_marked(app, client, login_as):
    clear_activities()
    deadline = due()
    set_clock(app, deadline + 2 * DAY)
    login_as("jinan-zj")  # after the clock moved: a session idle for two days would have ended
    recorded = deadline - timedelta(hours=5)
    answer = send(client, captured_at=recorded, title="截止前的工地巡查")
    assert answer.status_code == 201, answer.get_data(as_text=True)
    body = answer.get_json()
    assert body["arrived_late"] is True
    assert "请联系上级单位开放补报" in body["notice"]
    kept = entry("截止前的工地巡查")
    assert kept.state is ActivityState.DRAFT and kept.arrived_late
    assert kept.captured_at == recorded
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.object_id == kept.id,
                                                       AuditEvent.action == "activity.create"))
    assert event.reason == "截止前记录、截止后送达"

    # Sent again (the answer was lost): the same entry, still one row.
    again = send(client, captured_at=recorded, client_id=kept.client_id, title="截止前的工地巡查")
    assert again.status_code == 200 and again.get_json()["id"] == kept.id

    listing = client.get("/activities/").get_data(as_text=True)
    assert "截止前的工地巡查" in listing and "截止前记录、截止后送达" in listing
    page = client.get(f"/activities/{kept.id}").get_data(as_text=True)
    assert 'id="late-arrival"' in page and "如需报送，请联系上级单位开放补报。" in page


def test_the_photos_of_a_late_arrival_follow_it_but_nothing_else_is_written(app, client, login_as):
    clear_activities()
    deadline = due()
    set_clock(app, deadline + DAY)
    login_as("jinan-zj")
    late = send(client, captured_at=deadline - DAY, title="截止前的检测开放日").get_json()
    data = picture(3)
    headers = {**OUTBOX, "X-CSRFToken": token(client)}
    created = client.post(f"/activities/{late['id']}/photo-uploads", headers=headers,
                          data={"length": str(len(data)), "filename": "现场.jpg", "client_id": str(uuid.uuid4())})
    assert created.status_code == 201, created.get_data(as_text=True)
    done = client.patch(created.get_json()["url"], data=data, content_type=CHUNK,
                        headers={**headers, "Upload-Offset": "0"})
    assert done.status_code == 200 and done.get_json()["complete"] is True
    db.session.expire_all()
    assert [p.activity_id for p in db.session.scalars(select(Photo))] == [late["id"]]

    # The unit is still locked: no submit, no edit, no entry that is not a late arrival.
    assert client.post(f"/activities/{late['id']}/submit", data={"csrf_token": token(client)}).status_code == 403
    assert send(client, captured_at=None, title="截止后才登记").status_code == 403
    assert entry("截止后才登记") is None
    assert entry("截止前的检测开放日").state is ActivityState.DRAFT


def test_an_implausible_capture_time_is_refused_as_any_late_write(app, client, login_as):
    clear_activities()
    deadline = due()
    now = deadline + DAY
    set_clock(app, now)
    login_as("jinan-zj")
    for title, moment in (("来自未来", now + timedelta(hours=2)), ("截止之后", deadline + timedelta(hours=1)),
                          ("活动开始之前", deadline - timedelta(days=120))):
        refused = send(client, captured_at=moment, title=title)
        assert refused.status_code == 403, title
        assert refused.get_json()["error"] == "本单位报送已截止。如需补报，请联系上级单位。"
        assert entry(title) is None
    naive = client.post("/activities/quick", headers=OUTBOX, data={
        "csrf_token": token(client), "client_id": str(uuid.uuid4()), "captured_at": "2024-10-09T10:00:00",
        **valid_fields(title="没有时区")})
    assert naive.status_code == 403 and entry("没有时区") is None


def test_before_the_deadline_the_capture_time_is_kept_and_nothing_is_marked(app, client, login_as):
    clear_activities()
    deadline = due()
    set_clock(app, deadline - 3 * DAY)
    login_as("jinan-zj")
    recorded = deadline - 4 * DAY
    assert send(client, captured_at=recorded, title="按时送达").status_code == 201
    kept = entry("按时送达")
    assert kept.captured_at == recorded and kept.arrived_late is False
    assert "截止前记录、截止后送达" not in client.get("/activities/").get_data(as_text=True)
    # A phone whose clock runs ahead is believed for nothing: the entry is kept, its time is not.
    assert send(client, captured_at=deadline + 30 * DAY, title="手机时间超前").status_code == 201
    assert entry("手机时间超前").captured_at is None
