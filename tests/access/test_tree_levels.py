"""The access rules over the levels of the tree, generated: the root (province), a city bureau
(jinan-zj), one of its counties (jinan-lixia-zj), a sibling city (qingdao-zj) and a sibling county
(jinan-shizhong-zj). Each node owns one submitted entry; every actor tries every entry, and the
expected outcome is derived from the rule, not written out: you see your subtree (else 404), you
change only your own unit's entries, the parent accepts, and the root may also return."""
from __future__ import annotations

import pytest

from qmonth.models import ActivityState

from tests.access.access_world import sign_in
from tests.helpers import build_activity, clear_activities

# node -> its parent node (None: the root)
NODES = {
    "shandong-zjt": None,
    "jinan-zj": "shandong-zjt",
    "jinan-lixia-zj": "jinan-zj",
    "qingdao-zj": "shandong-zjt",
    "jinan-shizhong-zj": "jinan-zj",
}
# actor account -> its node
ADMINS = {"province": "shandong-zjt", "jinan-zj-admin": "jinan-zj", "jinan-lixia-zj-admin": "jinan-lixia-zj",
          "qingdao-zj-admin": "qingdao-zj", "jinan-shizhong-zj-admin": "jinan-shizhong-zj"}


def ancestors(node: str) -> list[str]:
    chain = [node]
    while NODES[chain[-1]] is not None:
        chain.append(NODES[chain[-1]])
    return chain


def sees(actor_node: str, owner: str) -> bool:
    return actor_node in ancestors(owner)


def expected(action: str, actor_node: str, owner: str) -> int:
    if not sees(actor_node, owner):
        return 404
    if action == "detail":
        return 200
    if action == "edit":
        return 302 if actor_node == owner else 403  # own but submitted: sent back to the entry, unchanged
    parent = NODES[owner] or owner  # the root's own entries are the root's to review
    if action == "accept":
        return 302 if actor_node == parent else 403
    if action == "return":
        return 302 if actor_node == parent or NODES[actor_node] is None else 403
    raise AssertionError(action)


CASES = [(action, actor, owner) for action in ("detail", "edit", "accept", "return")
         for actor in ADMINS for owner in NODES]


@pytest.fixture
def entries(app):
    from qmonth.extensions import db

    from tests.helpers import user

    clear_activities()
    made = {}
    for node in NODES:
        if NODES[node] is None:  # the root's accounts are the province's
            with db.session.no_autoflush:
                activity = build_activity("jinan-zj", f"{node} 的活动", state=ActivityState.SUBMITTED)
                activity.unit_id, activity.author_id = user("province").unit_id, user("province").id
            db.session.commit()
        else:
            activity = build_activity(node, f"{node} 的活动", state=ActivityState.SUBMITTED)
        made[node] = activity.id
    return made


def _request(client, action: str, activity_id: int):
    if action == "detail":
        return client.get(f"/activities/{activity_id}")
    if action == "edit":
        return client.get(f"/activities/{activity_id}/edit")
    data = {"csrf_token": client.token, "reason": "请补充现场照片。"}
    return client.post(f"/reviews/{activity_id}/{action}", data=data)


@pytest.mark.parametrize("action", ["detail", "edit", "accept", "return"])
def test_each_level_sees_its_subtree_and_reviews_the_level_below(app, entries, action):
    seen, wanted = {}, {}
    for actor, actor_node in ADMINS.items():
        client = sign_in(app, actor)
        for owner in NODES:
            status = _request(client, action, entries[owner]).status_code
            seen[(actor, owner)] = status
            wanted[(actor, owner)] = expected(action, actor_node, owner)
            if status in (302, 200) and action in ("accept", "return"):  # undo, so the next actor meets it submitted
                from qmonth.extensions import db
                from qmonth.models import Activity

                db.session.expire_all()
                db.session.get(Activity, entries[owner]).state = ActivityState.SUBMITTED
                db.session.commit()
    assert seen == wanted


def test_the_county_entry_is_in_its_citys_queue_and_nowhere_else(app, entries):
    title = "jinan-lixia-zj 的活动"
    for actor in ADMINS:
        html = sign_in(app, actor).get("/reviews/").get_data(as_text=True)
        assert (title in html) == (actor == "jinan-zj-admin"), actor


def test_a_return_by_the_root_over_the_citys_head_is_recorded_and_told(app, entries):
    from sqlalchemy import select

    from qmonth.extensions import db
    from qmonth.models import AuditEvent, Reminder

    client = sign_in(app, "province")
    response = client.post(f"/reviews/{entries['jinan-lixia-zj']}/return",
                           data={"csrf_token": client.token, "reason": "照片与活动不符。"})
    assert response.status_code == 302
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "activity.return",
                                                       AuditEvent.object_id == entries["jinan-lixia-zj"])
                              .order_by(AuditEvent.id.desc()))
    assert event.changes == {"returned_by": "shandong-zjt", "over_parent": True}
    reminder = db.session.scalar(select(Reminder).order_by(Reminder.id.desc()))
    assert "照片与活动不符" in reminder.message
    assert {r.unit.code for r in reminder.recipients} == {"jinan-lixia-zj", "jinan-zj"}
    for account in ("jinan-lixia-zj", "jinan-zj"):
        assert "照片与活动不符" in sign_in(app, account).get("/board/reminders").get_data(as_text=True)


# The board of each level (issue 15 item 5) ---------------------------------------------------------

def has_units_below(node: str) -> bool:
    return node in NODES.values()


def expected_board(action: str, actor_node: str, node: str) -> int:
    """The board is for the admins of a node with units below it: drilling down (`under`) stays
    in their subtree; a unit's page and its 补报 are for the levels above it; 催报 reaches the
    units on one's own board only (422 for any other: nobody chosen)."""
    if not has_units_below(actor_node):
        return 403
    if action == "remind":
        return 302 if NODES[node] == actor_node else 422
    if not sees(actor_node, node):
        return 404
    if action == "board":
        return 200
    if action in ("unit", "reopen"):
        return 403 if node == actor_node else (200 if action == "unit" else 302)
    raise AssertionError(action)


def _board_request(client, action: str, node: str):
    if action == "board":
        return client.get(f"/board/?under={node}")
    if action == "unit":
        return client.get(f"/board/units/{node}")
    if action == "reopen":
        return client.post(f"/board/units/{node}/reopen", data={
            "csrf_token": client.token, "due_date": "2024-10-20", "due_time": "18:00", "reason": "系统故障补报。"})
    return client.post("/board/reminders", data={"csrf_token": client.token, "target": "selected",
                                                 "units": [node], "message": "请尽快报送总结报告。"})


@pytest.mark.parametrize("action", ["board", "unit", "reopen", "remind"])
def test_each_level_oversees_the_units_below_it_on_its_board(app, action):
    seen, wanted = {}, {}
    for actor, actor_node in ADMINS.items():
        client = sign_in(app, actor)
        for node in NODES:
            seen[(actor, node)] = _board_request(client, action, node).status_code
            wanted[(actor, node)] = expected_board(action, actor_node, node)
    assert seen == wanted
