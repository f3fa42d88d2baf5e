"""The audit log names a past campaign's records by the unit names of that campaign's tree; records
of the tree itself (a rename) are today's."""
import re

from sqlalchemy import delete

from qmonth.extensions import db
from qmonth.models import ActivityState, AuditEvent

from tests.campaigns.test_campaign_context import start_2025
from tests.campaigns.test_campaign_tree import LICHENG_2024, LICHENG_2025, _rename_and_move
from tests.audit.test_audit_log import events
from tests.helpers import build_activity, clear_activities, token


def unit_cell(page: str, event: AuditEvent) -> str:
    row = re.search(rf'<tr id="event-{event.id}".*?</tr>', page, re.S).group(0)
    return re.search(r'<td data-label="单位">(.*?)</td>', row, re.S).group(1)


def test_a_2024_review_keeps_its_2024_unit_name_after_a_rename(client, login_as):
    clear_activities()
    db.session.execute(delete(AuditEvent))
    db.session.commit()
    entry = build_activity("jinan-licheng-zj", "历城区质量讲堂", state=ActivityState.SUBMITTED)
    login_as("jinan-zj-admin")
    response = client.post(f"/reviews/{entry.id}/accept", data={"csrf_token": token(client, f"/activities/{entry.id}")})
    assert response.status_code == 302
    start_2025(client, login_as)
    _rename_and_move(client, login_as)

    page = client.get("/admin/audit").get_data(as_text=True)
    [accepted] = events("activity.accept")
    assert unit_cell(page, accepted) == LICHENG_2024
    [renamed] = events("unit.rename")
    assert unit_cell(page, renamed) == LICHENG_2025
