"""The tally of activities per unit and state (ActivityTally) is kept by database triggers: after
inserts, state changes, moves between units and deletes it holds exactly what counting the rows
gives, and the list's counts read from it match the rows shown."""
from __future__ import annotations

import re

from sqlalchemy import delete, func, select, update

from qmonth.extensions import db
from qmonth.models import Activity, ActivityState, ActivityTally, Unit


def counted() -> dict[tuple[int, int, str], int]:
    rows = db.session.execute(select(Activity.campaign_id, Activity.unit_id, Activity.state, func.count())
                              .group_by(Activity.campaign_id, Activity.unit_id, Activity.state)).all()
    return {(c, u, s.value): n for c, u, s, n in rows}


def tallied() -> dict[tuple[int, int, str], int]:
    rows = db.session.execute(select(ActivityTally.campaign_id, ActivityTally.unit_id, ActivityTally.state,
                                     ActivityTally.count).where(ActivityTally.count != 0)).all()
    return {(c, u, s.value): n for c, u, s, n in rows}


def unit_id(code: str) -> int:
    return db.session.scalar(select(Unit.id).where(Unit.code == code))


def test_the_tally_follows_every_insert_state_change_move_and_delete(app, make_activity):
    assert tallied() == counted()  # the demo's entries, counted by the migration and the triggers
    made = [make_activity(code, title=f"{code}质量讲堂", state=state)
            for code in ("jinan-zj", "jinan-lixia-zj", "qingdao-zj")
            for state in (ActivityState.DRAFT, ActivityState.SUBMITTED, ActivityState.ACCEPTED)]
    db.session.commit()
    assert tallied() == counted()

    made[0].state = ActivityState.SUBMITTED  # through the ORM, as the services do
    made[1].state = ActivityState.RETURNED
    db.session.commit()
    assert tallied() == counted()

    # A bulk statement (no ORM events) is counted too: the triggers are the database's.
    db.session.execute(update(Activity).where(Activity.id.in_([made[3].id, made[4].id]))
                       .values(unit_id=unit_id("jinan-shizhong-zj"), state=ActivityState.ACCEPTED))
    db.session.commit()
    assert tallied() == counted()

    db.session.execute(delete(Activity).where(Activity.id.in_([made[5].id, made[6].id])))
    db.session.commit()
    assert tallied() == counted()
    shizhong = unit_id("jinan-shizhong-zj")
    assert sum(n for (_, unit, state), n in tallied().items() if unit == shizhong and state == "accepted") == \
        db.session.scalar(select(func.count()).select_from(Activity).where(
            Activity.unit_id == shizhong, Activity.state == ActivityState.ACCEPTED))


def test_the_list_counts_from_the_tally_match_the_rows(client, login_as, make_activity):
    """The unfiltered list reads the tally, a filtered one counts rows: both agree with the rows."""
    for state in (ActivityState.SUBMITTED, ActivityState.ACCEPTED, ActivityState.ACCEPTED):
        make_activity("jinan-lixia-zj", title="历下区质量讲堂", state=state)
    db.session.commit()
    login_as("jinan-zj-admin")
    page = client.get("/activities/").get_data(as_text=True)
    jinan = db.session.scalar(select(Unit.path).where(Unit.code == "jinan-zj"))
    accepted = db.session.scalar(select(func.count()).select_from(Activity).join(Unit).where(
        Unit.path.like(f"{jinan}%"), Activity.state == ActivityState.ACCEPTED))
    total = db.session.scalar(select(func.count()).select_from(Activity).join(Unit).where(Unit.path.like(f"{jinan}%")))
    assert accepted >= 2
    assert f'全部 <span class="state-count">{total}</span>' in page and f"共 <strong>{total}</strong>" in page
    shown = re.search(r'data-state="accepted"[^>]*>\s*[^<]*<span class="state-count">(\d+)</span>', page)
    assert shown and int(shown.group(1)) == accepted
    # A filter the tally cannot answer (a date range) counts the rows: the same numbers.
    filtered = client.get("/activities/?date_from=2024-01-01&date_to=2024-12-31").get_data(as_text=True)
    dated = db.session.scalar(select(func.count()).select_from(Activity).join(Unit).where(
        Unit.path.like(f"{jinan}%"), Activity.starts_on.is_not(None)))
    assert f'全部 <span class="state-count">{dated}</span>' in filtered


def test_the_tally_counts_a_boards_rows_under_a_unit(client, login_as, make_activity):
    """?under= (a board's chip) reads the tally too: the entries of the units directly below, not the
    parent's own, and the same number the rows give."""
    make_activity("jinan-zj", title="济南本级讲堂", state=ActivityState.ACCEPTED)
    for code in ("jinan-lixia-zj", "jinan-shizhong-zj"):
        make_activity(code, title="县级讲堂", state=ActivityState.ACCEPTED)
    db.session.commit()
    jinan = unit_id("jinan-zj")
    below = select(Unit.id).where(Unit.parent_id == jinan, Unit.retired_at.is_(None))
    total = db.session.scalar(select(func.count()).select_from(Activity).where(Activity.unit_id.in_(below)))
    accepted = db.session.scalar(select(func.count()).select_from(Activity).where(
        Activity.unit_id.in_(below), Activity.state == ActivityState.ACCEPTED))
    login_as("province")
    page = client.get("/activities/?under=jinan-zj").get_data(as_text=True)
    assert f'全部 <span class="state-count">{total}</span>' in page and f"共 <strong>{total}</strong>" in page
    shown = re.search(r'data-state="accepted"[^>]*>\s*[^<]*<span class="state-count">(\d+)</span>', page)
    assert shown and int(shown.group(1)) == accepted >= 2
    assert "济南本级讲堂" not in page
