"""Field entry from a phone: quick entry keeps the account's defaults, and every notice names
what is wrong once, with correct punctuation."""
import re

from sqlalchemy import select

from qmonth.extensions import db
from qmonth.models import Activity, ActivityState

from tests.helpers import csrf_token_from, token
from tests.helpers import user as user_named


def quick_page(client):
    page = client.get("/activities/quick").get_data(as_text=True)
    return csrf_token_from(page), page.split('name="form_key" type="hidden" value="')[1].split('"')[0]


def save_quick(client, **fields):
    csrf, key = quick_page(client)
    data = {"csrf_token": csrf, "form_key": key, "action": "save", "kind": "testing", "title": "检测开放日",
            "starts_on": "2024-09-18", "county": "历城区", "participants": "85", **fields}
    return client.post("/activities/quick", data=data)


def activity_from(response) -> Activity:
    return db.session.get(Activity, int(response.headers["Location"].rsplit("/", 1)[1]))


def test_quick_entry_keeps_the_organiser_and_contact_of_the_account(client, login_as):
    login_as("jinan-zj")
    page = client.get("/activities/quick").get_data(as_text=True)
    name = user_named("jinan-zj").display_name
    assert f"主办单位：济南市住房和城乡建设局；联系人：{name}。可在电脑上修改。" in page  # the user knows
    response = save_quick(client)
    assert response.status_code == 302
    activity = activity_from(response)
    reporter = user_named("jinan-zj")
    assert activity.organiser == reporter.unit.name == "济南市住房和城乡建设局"
    assert activity.contact_name == reporter.display_name != ""
    detail = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "联系人" not in detail.split('id="submit-problems"')[1].split("</div>")[0]


def test_a_quick_draft_completed_at_the_office_submits_without_the_contact_error(client, login_as):
    login_as("jinan-zj")
    activity = activity_from(save_quick(client))
    form = client.get(f"/activities/{activity.id}/edit").get_data(as_text=True)
    fields = {"csrf_token": csrf_token_from(form), "form_key": "ab" * 16, "action": "submit", "kind": "testing",
              "title": "检测开放日", "tasks": ["8"], "starts_on": "2024-09-18", "ends_on": "2024-09-18",
              "county": "历城区", "participants": "85", "description": "开放检测实验室供市民参观。",
              "no_fee_declared": "y"}
    for name in ("organiser", "contact_name"):  # the edit form shows the kept values
        value = re.search(rf'id="{name}" maxlength="\d+" name="{name}" type="text" value="([^"]*)"', form).group(1)
        assert value
        fields[name] = value
    response = client.post(f"/activities/{activity.id}/edit", data=fields)
    assert response.status_code == 302, response.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Activity, activity.id).state is ActivityState.SUBMITTED


def test_an_old_quick_draft_without_defaults_gets_them_in_the_edit_form(client, login_as, make_activity):
    activity = make_activity(organiser="", contact_name="")
    login_as("jinan-zj")
    form = client.get(f"/activities/{activity.id}/edit").get_data(as_text=True)
    assert 'name="organiser" type="text" value="济南市住房和城乡建设局"' in form
    assert f'name="contact_name" type="text" value="{user_named("jinan-zj").display_name}"' in form


def test_submitting_an_incomplete_draft_names_the_fields_once(client, login_as, make_activity):
    activity = make_activity(no_fee_declared=False, county="", participants=None, description="")
    login_as("jinan-zj")
    response = client.post(f"/activities/{activity.id}/submit", data={"csrf_token": token(client)})
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    expected = "报送前请补全：县（市、区）、参与人次、活动内容，并勾选自愿参与、未收费承诺。"
    assert page.count(expected) == 2  # the flash and the note under the buttons
    assert "报送前请补全：报送前" not in page and "。；" not in page


def test_the_summary_without_the_declaration_and_with_it_alone(client, login_as, make_activity):
    login_as("jinan-zj")
    only_contact = make_activity(contact_name="")
    page = client.get(f"/activities/{only_contact.id}").get_data(as_text=True)
    assert '<div class="alert alert-info" id="submit-problems">报送前请补全：联系人。</div>' in page
    only_declaration = make_activity(no_fee_declared=False)
    page = client.get(f"/activities/{only_declaration.id}").get_data(as_text=True)
    assert '<div class="alert alert-info" id="submit-problems">报送前请勾选自愿参与、未收费承诺。</div>' in page


def new_form(client):
    html = client.get("/activities/new").get_data(as_text=True)
    return csrf_token_from(html), re.search(r'name="form_key" type="hidden" value="([0-9a-f]+)"', html).group(1)


def test_a_refused_save_names_the_flagged_fields_in_page_order(client, login_as):
    login_as("jinan-zj")
    csrf, key = new_form(client)
    response = client.post("/activities/new", data={
        "csrf_token": csrf, "form_key": key, "action": "save", "title": "", "kind": "training", "tasks": ["2"],
        "participants": "十二", "fig_trainees": "-1", "contact_name": "王磊"})
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert '<div class="alert alert-error" role="alert" id="form-notice">请修改以下内容后再保存：活动名称、参与人次、培训人数。</div>' in html
    assert "王磊" in html  # input intact


def test_a_refused_submit_names_what_is_missing(client, login_as):
    login_as("jinan-zj")
    csrf, key = new_form(client)
    response = client.post("/activities/new", data={
        "csrf_token": csrf, "form_key": key, "action": "submit", "title": "质量讲堂", "kind": "training",
        "tasks": ["2"], "starts_on": "2024-09-12", "ends_on": "2024-09-12", "county": "历下区",
        "participants": "30", "organiser": "济南市住房和城乡建设局", "no_fee_declared": "y"})
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "报送前请补全：联系人、活动内容。也可以先保存草稿。" in html
    assert html.count("报送前请填写联系人。") == 1  # next to its field only
    assert db.session.scalar(select(Activity).where(Activity.title == "质量讲堂")) is None


def test_a_refused_quick_save_names_the_fields(client, login_as):
    login_as("jinan-zj")
    response = save_quick(client, kind="", title="", participants="很多")
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "请修改以下内容后再保存：活动类型、活动名称、参与人次。" in html, re.findall("请修改以下内容[^<]*", html)
