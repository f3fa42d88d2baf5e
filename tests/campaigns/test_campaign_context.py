"""Pages that depend on which campaign is active: none loaded yet, or an entry of an earlier one."""
from sqlalchemy import select

from qmonth.extensions import db
from qmonth.models import Activity, ActivityState, AuditEvent, Campaign

from tests.activities.test_activity_form import form_page, valid_fields
from tests.helpers import token

KEEP_WITHOUT_CAMPAIGN = {"user", "unit", "audit_event", "login_attempt"}


def without_any_campaign() -> None:
    """A fresh installation: accounts and units, no campaign file loaded yet."""
    for table in reversed(db.metadata.sorted_tables):
        if table.name not in KEEP_WITHOUT_CAMPAIGN:
            db.session.execute(table.delete())
    db.session.commit()


def test_the_review_queue_without_any_campaign_says_so(client, login_as):
    without_any_campaign()
    login_as("province")
    response = client.get("/reviews/?state=accepted&page=2")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "尚未载入活动" in html and 'href="/board/campaigns"' in html


def campaign_named(slug: str) -> Campaign:
    return db.session.scalar(select(Campaign).where(Campaign.slug == slug))


def start_2025(client, login_as) -> None:
    """The province clones 2024 into 2025 and makes 2025 the active campaign."""
    login_as("province")
    source = campaign_named("2024-shandong")
    client.post(f"/board/campaigns/{source.id}/clone", data={"csrf_token": token(client, "/board/campaigns")})
    clone = campaign_named("2025-shandong")
    client.post(f"/board/campaigns/{clone.id}/activate", data={"csrf_token": token(client, "/board/campaigns")})
    db.session.expire_all()
    assert campaign_named("2025-shandong").is_active


def test_an_entry_of_last_years_campaign_is_checked_against_its_own(client, login_as, make_activity):
    returned = make_activity("jinan-zj", title="2024年质量安全讲堂", state=ActivityState.RETURNED,
                             return_reason="请补充参训人数。")
    campaign_2024 = returned.campaign_id
    start_2025(client, login_as)

    login_as("jinan-zj")
    _html, csrf, _key = form_page(client, f"/activities/{returned.id}/edit")
    response = client.post(f"/activities/{returned.id}/edit", data={
        "csrf_token": csrf, **valid_fields(title="2024年质量安全讲堂（补充）", starts_on="2024-09-12",
                                           ends_on="2024-09-12", tasks=["2", "3"])})
    assert response.status_code == 302, response.get_data(as_text=True)

    db.session.expire_all()
    entry = db.session.get(Activity, returned.id)
    assert entry.title == "2024年质量安全讲堂（补充）" and entry.campaign_id == campaign_2024
    # Its kind and tasks are still 2024's, not the same-named ones of 2025.
    assert entry.kind.campaign_id == campaign_2024
    assert [task.number for task in entry.tasks] == [2, 3]
    assert {task.campaign_id for task in entry.tasks} == {campaign_2024}
    assert db.session.scalar(select(AuditEvent.action).where(
        AuditEvent.object_type == "activity", AuditEvent.object_id == entry.id)) == "activity.edit"


def test_an_entry_of_last_years_campaign_keeps_its_own_window(client, login_as, make_activity):
    returned = make_activity("jinan-zj", state=ActivityState.RETURNED, return_reason="请核对日期。")
    start_2025(client, login_as)

    login_as("jinan-zj")
    _html, csrf, _key = form_page(client, f"/activities/{returned.id}/edit")
    response = client.post(f"/activities/{returned.id}/edit", data={
        "csrf_token": csrf, **valid_fields(starts_on="2025-09-12", ends_on="2025-09-12")})
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "须在活动期间内（2024-09-01 至 2024-09-30）" in html  # 2024's window, not 2025's
    db.session.expire_all()
    assert db.session.get(Activity, returned.id).starts_on.year == 2024


def test_the_checks_while_typing_use_the_entrys_own_campaign_too(client, login_as, make_activity):
    returned = make_activity("jinan-zj", state=ActivityState.RETURNED, return_reason="请核对日期。")
    campaign_2024 = returned.campaign_id
    start_2025(client, login_as)

    login_as("jinan-zj")
    html, csrf, _key = form_page(client, f"/activities/{returned.id}/edit")
    assert f'name="campaign_id" value="{campaign_2024}"' in html
    check = client.post("/activities/check?field=starts_on", headers={"HX-Request": "true"}, data={
        "csrf_token": csrf, "campaign_id": str(campaign_2024), **valid_fields(starts_on="2024-09-12")})
    assert check.status_code == 200 and "须在活动期间内" not in check.get_data(as_text=True)
    too_late = client.post("/activities/check?field=starts_on", headers={"HX-Request": "true"}, data={
        "csrf_token": csrf, "campaign_id": str(campaign_2024), **valid_fields(starts_on="2025-09-12")})
    assert "须在活动期间内（2024-09-01 至 2024-09-30）" in too_late.get_data(as_text=True)
    figures = client.get(f"/activities/figures?kind=training&campaign_id={campaign_2024}",
                         headers={"HX-Request": "true"}).get_data(as_text=True)
    assert f'name="campaign_id" value="{campaign_2024}"' in figures
    # A form of the active campaign (a new entry) names 2025, and a crafted id falls back to it.
    html, _csrf, _key = form_page(client, "/activities/new")
    assert f'name="campaign_id" value="{campaign_named("2025-shandong").id}"' in html
    assert client.get("/activities/figures?kind=training&campaign_id=99999999999999999999").status_code == 200


def test_last_years_entry_submitted_again_waits_in_the_review_queue(client, login_as, make_activity):
    returned = make_activity("jinan-zj", title="2024年质量安全讲堂", state=ActivityState.RETURNED,
                             return_reason="请补充参训人数。")
    make_activity("jinan-zj", title="2024年已采纳的观摩", state=ActivityState.ACCEPTED)
    start_2025(client, login_as)
    login_as("jinan-zj")
    assert client.post(f"/activities/{returned.id}/submit",
                       data={"csrf_token": token(client)}).status_code == 302
    db.session.expire_all()
    assert db.session.get(Activity, returned.id).state is ActivityState.SUBMITTED

    login_as("province")  # 济南's parent reviews it
    html = client.get("/reviews/").get_data(as_text=True)
    assert "2024年质量安全讲堂" in html and "2024年度活动" in html
    assert "2024年质量安全讲堂" in client.get("/reviews/?kind=training").get_data(as_text=True)
    assert "2024年质量安全讲堂" not in client.get("/reviews/?kind=publicity").get_data(as_text=True)
    # Only what waits is carried over: last year's accepted entries stay out of this year's tabs.
    assert "2024年已采纳的观摩" not in client.get("/reviews/?state=accepted").get_data(as_text=True)

    response = client.post(f"/reviews/{returned.id}/accept", headers={"HX-Request": "true"},
                           data={"csrf_token": token(client, "/reviews/")})
    assert response.status_code == 200
    db.session.expire_all()
    entry = db.session.get(Activity, returned.id)
    assert entry.state is ActivityState.ACCEPTED and entry.campaign_id == campaign_named("2024-shandong").id
    assert "2024年质量安全讲堂" not in client.get("/reviews/").get_data(as_text=True)
