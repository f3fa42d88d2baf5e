"""Another bureau's activity is a 404 on every route; anonymous users go to the login page."""
import pytest
from sqlalchemy import func, select

from qmonth.extensions import db
from qmonth.models import Activity, ActivityState, AuditEvent

from tests.helpers import csrf_token_from

READ_ROUTES = ["/activities/{id}", "/activities/{id}/history", "/activities/{id}/edit", "/activities/{id}/delete"]
WRITE_ROUTES = ["/activities/{id}/edit", "/activities/{id}/submit", "/activities/{id}/delete"]
REVIEW_ROUTES = ["/reviews/{id}/accept", "/reviews/{id}/return", "/reviews/{id}/highlight"]


@pytest.fixture
def bureau_a_activity(make_activity):
    return make_activity("jinan-zj", title="济南的活动")


def snapshot():
    db.session.expire_all()
    return (
        [(a.id, a.title, a.state, a.is_highlight) for a in db.session.scalars(select(Activity).order_by(Activity.id))],
        # Refused requests are themselves audited; what must not change is the activities' trail.
        db.session.scalar(select(func.count(AuditEvent.id)).where(AuditEvent.object_type == "activity")),
    )


@pytest.mark.parametrize("username", ["qingdao-zj", "qingdao-zj-admin", "jinan-cg"])
def test_other_bureaus_get_404_on_every_route(client, login_as, bureau_a_activity, username):
    login_as(username)
    before = snapshot()
    for route in READ_ROUTES:
        response = client.get(route.format(id=bureau_a_activity.id))
        assert response.status_code == 404, route
        assert "济南的活动" not in response.get_data(as_text=True)
    token = csrf_token_from(client.get("/").get_data(as_text=True))
    for route in WRITE_ROUTES:
        response = client.post(route.format(id=bureau_a_activity.id),
                               data={"csrf_token": token, "title": "篡改", "kind": "training", "tasks": ["2"]})
        assert response.status_code == 404, route
    assert snapshot() == before


def test_same_bureau_admin_can_see_and_edit(client, login_as, bureau_a_activity):
    login_as("jinan-zj-admin")
    assert "济南的活动" in client.get(f"/activities/{bureau_a_activity.id}").get_data(as_text=True)
    assert client.get(f"/activities/{bureau_a_activity.id}/edit").status_code == 200


def test_missing_ids_are_404(client, login_as):
    login_as("jinan-zj")
    for route in READ_ROUTES:
        assert client.get(route.format(id=999999)).status_code == 404


def test_anonymous_users_are_sent_to_login(client, bureau_a_activity):
    for route in READ_ROUTES + ["/activities/new", "/reviews/"]:
        response = client.get(route.format(id=bureau_a_activity.id))
        assert response.status_code == 302 and "/login" in response.headers["Location"], route


def test_a_units_own_people_cannot_review_its_entries(client, login_as, make_activity):
    """Review belongs to the parent node: a reporter has no queue at all, and the unit's admin
    (who reviews the units below) can neither accept nor return the unit's own entries."""
    activity = make_activity("jinan-zj", state=ActivityState.SUBMITTED)
    for username in ("jinan-zj", "jinan-zj-admin"):
        login_as(username)
        queue = client.get("/reviews/")
        assert queue.status_code == (403 if username == "jinan-zj" else 200)
        assert activity.title not in queue.get_data(as_text=True)
        token = csrf_token_from(client.get("/").get_data(as_text=True))
        before = snapshot()
        for route in REVIEW_ROUTES:
            response = client.post(route.format(id=activity.id), data={
                "csrf_token": token, "reason": "x", "on": "1"})
            assert response.status_code == 403, route
        client.post("/reviews/bulk-accept", data={"csrf_token": token, "ids": [str(activity.id)]})
        assert snapshot() == before


def test_province_sees_any_activity_but_cannot_edit_it(client, login_as, bureau_a_activity):
    login_as("province")
    assert "济南的活动" in client.get(f"/activities/{bureau_a_activity.id}").get_data(as_text=True)
    assert client.get(f"/activities/{bureau_a_activity.id}/edit").status_code == 403


def test_writes_without_csrf_token_are_refused(client, login_as, bureau_a_activity):
    login_as("jinan-zj")
    before = snapshot()
    assert client.post(f"/activities/{bureau_a_activity.id}/submit").status_code == 400
    assert client.post(f"/activities/{bureau_a_activity.id}/delete").status_code == 400
    assert snapshot() == before
