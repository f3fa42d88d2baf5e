"""An entry sent again (a re-sent outbox, a second tab, a retry after a lost answer) is saved once:
the phone's id for it (client_id) is unique per author, and a repeat must say the same."""
import threading
import uuid

import pytest
import requests
from sqlalchemy import func, select

from qmonth.activities import services as activity_services
from qmonth.extensions import db
from qmonth.models import Activity

from tests.activities.test_activity_form import form_page, valid_fields
from tests.helpers import clear_activities, csrf_token_from

OUTBOX = {"X-Requested-With": "qmonth-upload"}


def send(client, client_id, *, headers=OUTBOX, **overrides):
    """A fresh form page each time, as a re-sent outbox or a second tab has: only the client id repeats."""
    _html, csrf, key = form_page(client, "/activities/quick")
    return client.post("/activities/quick", headers=headers,
                       data={"csrf_token": csrf, "form_key": key, "client_id": client_id, **valid_fields(**overrides)})


def entries(client_id) -> list[Activity]:
    db.session.expire_all()
    return list(db.session.scalars(select(Activity).where(Activity.client_id == client_id)))


def test_a_repeated_entry_is_already_received_and_saved_once(client, login_as):
    clear_activities()
    login_as("jinan-zj")
    client_id = str(uuid.uuid4())
    first, again = send(client, client_id), send(client, client_id)
    assert first.status_code == 201 and again.status_code == 200
    assert first.get_json()["already_received"] is False and again.get_json()["already_received"] is True
    assert again.get_json()["id"] == first.get_json()["id"]
    assert again.get_json()["url"] == first.get_json()["url"] == f"/activities/{first.get_json()['id']}"
    assert [a.id for a in entries(client_id)] == [first.get_json()["id"]]
    assert db.session.scalar(select(func.count(Activity.id))) == 1


def test_a_repeat_from_a_page_goes_where_the_first_went(client, login_as):
    login_as("jinan-zj")
    client_id = str(uuid.uuid4())
    first, again = send(client, client_id, headers={}), send(client, client_id, headers={})
    assert first.status_code == again.status_code == 302
    assert first.headers["Location"] == again.headers["Location"]
    assert "该登记已收到，未重复保存。" in client.get(again.headers["Location"]).get_data(as_text=True)
    assert len(entries(client_id)) == 1


def test_the_same_id_with_other_content_is_refused_with_409(client, login_as):
    login_as("jinan-zj")
    client_id = str(uuid.uuid4())
    assert send(client, client_id).status_code == 201
    other = send(client, client_id, title="另一项活动")
    assert other.status_code == 409
    assert other.get_json()["error"].startswith("该条目编号已用于另一条内容不同的登记")
    page = send(client, client_id, headers={}, title="另一项活动")
    assert page.status_code == 409 and "该条目编号已用于另一条内容不同的登记" in page.get_data(as_text=True)
    assert "另一项活动" in page.get_data(as_text=True)  # the input comes back intact
    assert [a.title for a in entries(client_id)] == [valid_fields()["title"]]


def test_client_ids_are_per_account(client, login_as):
    client_id = str(uuid.uuid4())
    login_as("jinan-zj")
    mine = send(client, client_id).get_json()
    login_as("qingdao-zj")
    theirs = send(client, client_id, organiser="青岛市住房和城乡建设局").get_json()
    assert not mine["already_received"] and not theirs["already_received"] and mine["id"] != theirs["id"]
    assert len(entries(client_id)) == 2


@pytest.mark.parametrize("client_id", ["123", "x" * 36, "<script>alert(1)</script>"])
def test_a_malformed_entry_id_is_refused(client, login_as, client_id):
    login_as("jinan-zj")
    answer = send(client, client_id)
    assert answer.status_code == 422 and answer.get_json()["error"] == "登记编号格式不正确，请刷新页面后重新提交。"
    assert db.session.scalar(select(func.count(Activity.id)).where(Activity.title == valid_fields()["title"])) == 0


def test_two_racing_repeats_make_one_entry(app, live_server, monkeypatch):
    """On PostgreSQL both requests hash their entry before either has written it, and the unique
    index lets one in. On SQLite a writing request holds the write lock from its start, so the
    second waits for the first (the rendezvous times out and each goes on): still one entry."""
    session = requests.Session()
    login = csrf_token_from(session.get(f"{live_server.url}/login").text)
    session.post(f"{live_server.url}/login", data={"username": "jinan-zj", "password": "qmonth-demo",
                                                   "csrf_token": login}, allow_redirects=False)
    pages = []
    for _ in range(2):
        html = session.get(f"{live_server.url}/activities/quick").text
        key = form_page_key(html)
        pages.append((csrf_token_from(html), key))
    both_ready = threading.Barrier(2, timeout=3)
    entry_hash = activity_services.entry_hash

    def hash_then_wait(*args, **kwargs):
        digest = entry_hash(*args, **kwargs)
        try:
            both_ready.wait()
        except threading.BrokenBarrierError:  # SQLite: the other request waits for the write lock
            pass
        return digest

    monkeypatch.setattr(activity_services, "entry_hash", hash_then_wait)
    client_id, answers = str(uuid.uuid4()), []

    def post(csrf, key):
        answers.append(session.post(f"{live_server.url}/activities/quick", headers=OUTBOX, timeout=60,
                                    data={"csrf_token": csrf, "form_key": key, "client_id": client_id,
                                          **valid_fields()}))

    threads = [threading.Thread(target=post, args=page) for page in pages]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert sorted(a.status_code for a in answers) == [200, 201], [a.text[:300] for a in answers]
    assert answers[0].json()["id"] == answers[1].json()["id"]
    assert len(entries(client_id)) == 1


def form_page_key(html: str) -> str:
    import re

    return re.search(r'name="form_key" type="hidden" value="([0-9a-f]+)"', html).group(1)
