"""A form posted without some of its fields (a crafted or truncated request) is a form with those
fields empty: a Chinese error or a saved draft, never a 500 (found by tests/robustness/test_route_fuzzer.py)."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from qmonth.extensions import db
from qmonth.models import Activity

from tests.activities.test_activity_form import form_page, valid_fields

OPTIONAL_TEXT = ["organiser", "co_organisers", "county", "address", "description", "results", "contact_name",
                 "contact_phone"]


@pytest.mark.parametrize("missing", OPTIONAL_TEXT)
def test_editing_a_draft_without_a_text_field_saves_it_empty(client, login_as, make_activity, missing):
    activity = make_activity("jinan-zj")
    login_as("jinan-zj")
    _html, token, _key = form_page(client, f"/activities/{activity.id}/edit")
    fields = {"csrf_token": token, **valid_fields()}
    del fields[missing]
    response = client.post(f"/activities/{activity.id}/edit", data=fields)
    assert response.status_code == 302
    db.session.expire_all()
    assert getattr(db.session.get(Activity, activity.id), missing) == ""


def test_a_new_activity_without_its_title_field_asks_for_the_title(client, login_as):
    login_as("jinan-zj")
    _html, token, key = form_page(client)
    fields = {"csrf_token": token, "form_key": key, **valid_fields()}
    del fields["title"], fields["organiser"]
    response = client.post("/activities/new", data=fields)
    assert response.status_code == 422
    assert "请填写活动名称。" in response.get_data(as_text=True)
    assert db.session.scalar(select(Activity).where(Activity.description == fields["description"])) is None
