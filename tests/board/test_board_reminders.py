"""Reminders (催报): the province sends, the chosen units' users read them inside qmonth."""
import re

from sqlalchemy import func, select

from qmonth.extensions import db
from qmonth.models import AuditEvent, Reminder, ReminderRecipient

from tests.helpers import token, unit, user
from tests.board.support import due, make_report

MESSAGE = "请于10月10日前报送本单位“质量月”活动总结报告。"


def send(client, **data):
    data.setdefault("target", "selected")
    return client.post("/board/reminders", data={"csrf_token": token(client, "/board/"), **data})


def badge(page: str) -> str | None:
    """The unread count in the navigation, or None when the badge is hidden."""
    match = re.search(r'<span id="reminder-badge"[^>]*>(\d*)</span>', page)
    assert match, "no reminder badge"
    return match.group(1) or None


def test_a_reminder_reaches_exactly_the_chosen_units_users(client, login_as):
    login_as("province")
    response = send(client, units=["heze-sw", "jinan-zj"], message=MESSAGE)
    assert response.status_code == 302
    reminder = db.session.scalar(select(Reminder))
    assert reminder.message == MESSAGE and reminder.sent_by == user("province")
    assert sorted(r.unit.code for r in reminder.recipients) == ["heze-sw", "jinan-zj"]

    for username in ("heze-sw", "heze-sw-admin", "jinan-zj"):
        login_as(username)
        home = client.get("/").get_data(as_text=True)
        assert badge(home) == "1", username
        listed = client.get("/board/reminders").get_data(as_text=True)
        assert MESSAGE in listed and "未读" in listed
    for username in ("qingdao-zj", "heze-cg-admin", "jinan-cg"):
        login_as(username)
        assert badge(client.get("/").get_data(as_text=True)) is None, username
        assert MESSAGE not in client.get("/board/reminders").get_data(as_text=True)

    login_as("province")
    assert "催报通知" not in client.get("/").get_data(as_text=True).split("<main")[0]
    board = client.get("/board/").get_data(as_text=True)
    heze = board[board.index('<tr id="unit-heze-sw"'):]
    assert "未催报" not in heze[:heze.index("</tr>")]
    qingdao = board[board.index('<tr id="unit-qingdao-zj"'):]
    assert "未催报" in qingdao[:qingdao.index("</tr>")]
    sent = client.get("/board/reminders").get_data(as_text=True)
    assert MESSAGE in sent and "菏泽市水务局" in sent

    trail = db.session.execute(select(AuditEvent.unit_id, AuditEvent.reason, AuditEvent.object_id).where(
        AuditEvent.action == "reminder.send")).all()
    assert sorted(trail) == sorted([(unit("heze-sw").id, MESSAGE, reminder.id), (unit("jinan-zj").id, MESSAGE,
                                                                                   reminder.id)])


def test_marking_as_read_is_per_user(client, login_as):
    login_as("province")
    send(client, units=["heze-sw"], message=MESSAGE)
    reminder_id = db.session.scalar(select(Reminder.id))

    login_as("heze-sw")
    response = client.post(f"/board/reminders/{reminder_id}/read", data={"csrf_token": token(client)},
                           headers={"HX-Request": "true"})
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and html.lstrip().startswith(f'<li id="reminder-{reminder_id}"')
    assert "已读" in html and 'data-hx-swap-oob="true"' in html and badge(html) is None
    assert badge(client.get("/").get_data(as_text=True)) is None
    login_as("heze-sw-admin")
    assert badge(client.get("/").get_data(as_text=True)) == "1"
    client.post("/board/reminders/read-all", data={"csrf_token": token(client)})
    assert badge(client.get("/").get_data(as_text=True)) is None

    recipient = db.session.scalar(select(ReminderRecipient))
    db.session.refresh(recipient)
    assert sorted(recipient.read_by) == sorted([user("heze-sw").id, user("heze-sw-admin").id])

    # Marking twice changes nothing; another unit's reminder is not there at all.
    login_as("heze-sw")
    client.post(f"/board/reminders/{reminder_id}/read", data={"csrf_token": token(client)})
    db.session.refresh(recipient)
    assert len(recipient.read_by) == 2
    login_as("qingdao-zj")
    assert client.post(f"/board/reminders/{reminder_id}/read", data={"csrf_token": token(client)}).status_code == 404


def test_all_units_without_a_submitted_report(client, login_as):
    make_report("jinan-zj", submitted_at=due())
    make_report("qingdao-zj")  # a draft is not submitted
    login_as("province")
    send(client, target="missing", message=MESSAGE)
    codes = set(db.session.scalars(select(ReminderRecipient.unit_id)))
    assert len(codes) == 43 and unit("jinan-zj").id not in codes and unit("qingdao-zj").id in codes


def test_the_form_explains_what_is_wrong_in_chinese(client, login_as):
    login_as("province")
    cases = [
        (dict(units=["heze-sw"], message="  "), "请填写催报内容。"),
        (dict(units=["heze-sw"], message="催" * 501), "催报内容不超过500字。"),
        (dict(message=MESSAGE), "请至少选择一个单位"),
    ]
    for data, error in cases:
        response = send(client, **data)
        assert response.status_code == 422
        assert error in response.get_data(as_text=True)
    htmx = client.post("/board/reminders", data={"csrf_token": token(client, "/board/"), "target": "selected",
                                                 "units": ["heze-sw"], "message": ""},
                       headers={"HX-Request": "true"})
    assert htmx.status_code == 422 and htmx.get_data(as_text=True).lstrip().startswith('<form id="reminder-form"')
    # 500 characters with line breaks sent as CRLF are still 500 characters.
    assert send(client, units=["heze-sw"], message=("催" * 249 + "\r\n") * 2).status_code == 302
    assert db.session.scalar(select(func.count(Reminder.id))) == 1


def test_sending_by_htmx_refreshes_the_board(client, login_as):
    login_as("province")
    response = client.post("/board/reminders", data={"csrf_token": token(client, "/board/"), "target": "selected",
                                                     "units": ["heze-sw"], "message": MESSAGE},
                           headers={"HX-Request": "true"})
    assert response.status_code == 200 and response.headers["HX-Trigger"] == "board-changed"
    assert "已向 1 个单位发送催报。" in response.get_data(as_text=True)


def test_only_the_province_sends_reminders(client, login_as):
    login_as("heze-sw-admin")
    assert send(client, units=["heze-sw"], message=MESSAGE).status_code == 403
    assert db.session.scalar(select(func.count(Reminder.id))) == 0
