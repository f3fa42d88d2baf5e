"""The life of an activity: submit, review, return, resubmit, highlight — all audited."""
import pytest
from sqlalchemy import func, select

from qmonth.extensions import db
from qmonth.models import Activity, ActivityState, AuditEvent

from tests.helpers import token



def events(activity):
    return list(db.session.scalars(select(AuditEvent).where(
        AuditEvent.object_type == "activity", AuditEvent.object_id == activity.id).order_by(AuditEvent.id)))


def fresh(activity):
    activity_id = activity.id if not isinstance(activity, int) else activity
    db.session.expire_all()
    return db.session.scalar(select(Activity).where(Activity.id == activity_id))


def test_full_cycle_submit_return_resubmit_accept_highlight(app, client, login_as, make_activity):
    activity = make_activity("heze-sw", title="菏泽市水利工程质量巡查")

    login_as("heze-sw")
    assert client.post(f"/activities/{activity.id}/submit", data={"csrf_token": token(client)}).status_code == 302
    assert fresh(activity).state is ActivityState.SUBMITTED

    login_as("province")
    queue = client.get("/reviews/").get_data(as_text=True)
    assert "菏泽市水利工程质量巡查" in queue
    response = client.post(f"/reviews/{activity.id}/return", data={
        "csrf_token": token(client), "reason": "请补充整改率统计依据。"})
    assert response.status_code == 302
    returned = fresh(activity)
    assert returned.state is ActivityState.RETURNED
    assert returned.return_reason == "请补充整改率统计依据。"

    login_as("heze-sw")
    page = client.get(f"/activities/{activity.id}").get_data(as_text=True)
    assert "省厅退回原因：" in page and "请补充整改率统计依据。" in page
    assert "重新报送" in page
    client.post(f"/activities/{activity.id}/submit", data={"csrf_token": token(client)})
    assert fresh(activity).state is ActivityState.SUBMITTED

    login_as("province")
    client.post(f"/reviews/{activity.id}/accept", data={"csrf_token": token(client)})
    assert fresh(activity).state is ActivityState.ACCEPTED
    client.post(f"/reviews/{activity.id}/highlight", data={"csrf_token": token(client), "on": "1"})
    assert fresh(activity).is_highlight is True
    client.post(f"/reviews/{activity.id}/highlight", data={"csrf_token": token(client), "on": "0"})
    assert fresh(activity).is_highlight is False

    trail = [(e.action, e.from_state, e.to_state, e.actor.username) for e in events(activity)]
    assert trail == [
        ("activity.submit", "draft", "submitted", "heze-sw"),
        ("activity.return", "submitted", "returned", "province"),
        ("activity.resubmit", "returned", "submitted", "heze-sw"),
        ("activity.accept", "submitted", "accepted", "province"),
        ("activity.highlight", "accepted", "accepted", "province"),
        ("activity.unhighlight", "accepted", "accepted", "province"),
    ]
    assert events(activity)[1].reason == "请补充整改率统计依据。"
    history = client.get(f"/activities/{activity.id}/history").get_data(as_text=True)
    assert "修改后重新报送" in history and "原因：请补充整改率统计依据。" in history


def test_return_needs_a_reason(client, login_as, make_activity):
    activity = make_activity(state=ActivityState.SUBMITTED)
    login_as("province")
    response = client.post(f"/reviews/{activity.id}/return", data={"csrf_token": token(client), "reason": "  "},
                           headers={"HX-Request": "true"})
    assert response.status_code == 422
    assert "退回时请填写退回原因。" in response.get_data(as_text=True)
    assert fresh(activity).state is ActivityState.SUBMITTED


def test_htmx_accept_returns_the_updated_row(client, login_as, make_activity):
    activity = make_activity(state=ActivityState.SUBMITTED)
    login_as("province")
    response = client.post(f"/reviews/{activity.id}/accept", headers={"HX-Request": "true", "X-CSRFToken": token(client)})
    html = response.get_data(as_text=True)
    assert html.lstrip().startswith(f'<tr id="review-row-{activity.id}"')
    assert "已采纳" in html and "设为宣传推广" in html


@pytest.mark.parametrize("state, route, data", [
    (ActivityState.DRAFT, "accept", {}),
    (ActivityState.RETURNED, "accept", {}),
    (ActivityState.DRAFT, "return", {"reason": "x"}),
    (ActivityState.SUBMITTED, "highlight", {"on": "1"}),
])
def test_refused_review_transitions(client, login_as, make_activity, state, route, data):
    activity = make_activity(state=state)
    login_as("province")
    response = client.post(f"/reviews/{activity.id}/{route}", data={"csrf_token": token(client), **data},
                           headers={"HX-Request": "true"})
    assert response.status_code == 422
    after = fresh(activity)
    assert after.state is state and after.is_highlight is False
    assert events(activity) == []


def test_accepted_entries_cannot_be_submitted_or_deleted(client, login_as, make_activity):
    activity = make_activity(state=ActivityState.ACCEPTED)
    login_as("jinan-zj")
    response = client.post(f"/activities/{activity.id}/submit", data={"csrf_token": token(client)})
    assert "不能报送" in client.get(response.headers["Location"]).get_data(as_text=True)
    client.post(f"/activities/{activity.id}/delete", data={"csrf_token": token(client)})
    assert fresh(activity) is not None and fresh(activity).state is ActivityState.ACCEPTED


def test_submitting_an_incomplete_draft_says_what_is_missing(client, login_as, make_activity):
    activity = make_activity(no_fee_declared=False, county="", participants=None)
    login_as("jinan-zj")
    response = client.post(f"/activities/{activity.id}/submit", data={"csrf_token": token(client)})
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "报送前请补全" in page and "县（市、区）" in page and "参与人次" in page
    assert fresh(activity).state is ActivityState.DRAFT


def test_deleting_a_draft_after_confirmation(client, login_as, make_activity):
    activity = make_activity(title="待删除的草稿")
    activity_id = activity.id
    login_as("jinan-zj")
    confirm = client.get(f"/activities/{activity.id}/delete").get_data(as_text=True)
    assert "确定删除草稿" in confirm and "待删除的草稿" in confirm
    assert fresh(activity_id) is not None  # GET changes nothing
    client.post(f"/activities/{activity_id}/delete", data={"csrf_token": token(client)})
    assert fresh(activity_id) is None
    deleted = db.session.scalar(select(AuditEvent).where(
        AuditEvent.action == "activity.delete", AuditEvent.object_id == activity_id))
    assert deleted.changes["title"] == ["待删除的草稿", None]


def test_bulk_accept_accepts_only_submitted(client, login_as, make_activity):
    submitted = [make_activity(state=ActivityState.SUBMITTED, title=f"活动{i}") for i in range(3)]
    draft = make_activity(title="草稿")
    login_as("province")
    response = client.post("/reviews/bulk-accept", data={
        "csrf_token": token(client), "ids": [str(a.id) for a in submitted] + [str(draft.id)]})
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "已采纳 3 项活动。另有 1 项不在待审核状态，未处理。" in page
    assert all(fresh(a).state is ActivityState.ACCEPTED for a in submitted)
    assert fresh(draft).state is ActivityState.DRAFT
    assert db.session.scalar(select(func.count(AuditEvent.id)).where(
        AuditEvent.action == "activity.accept", AuditEvent.object_id.in_([a.id for a in submitted]))) == 3


def test_review_queue_lists_oldest_submission_first(client, login_as, make_activity):
    from datetime import datetime, timezone

    later = make_activity(state=ActivityState.SUBMITTED, title="后报送的活动")
    earlier = make_activity("qingdao-zj", state=ActivityState.SUBMITTED, title="先报送的活动", county="市南区")
    later.submitted_at = datetime(2024, 9, 25, tzinfo=timezone.utc)
    earlier.submitted_at = datetime(2024, 9, 5, tzinfo=timezone.utc)
    db.session.commit()
    login_as("province")
    html = client.get("/reviews/").get_data(as_text=True)
    assert html.index("先报送的活动") < html.index("后报送的活动")
    filtered = client.get("/reviews/?unit=qingdao-zj").get_data(as_text=True)
    assert "先报送的活动" in filtered and "后报送的活动" not in filtered
