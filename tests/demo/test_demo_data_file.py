"""The demo's content comes from its data file alone: a tiny file gives a tiny, matching demo."""
from datetime import date

import pytest
from sqlalchemy import delete, select

from qmonth.demo.content import DemoDataError, load_content
from qmonth.extensions import db
from qmonth.models import Activity, ActivityState, AuditEvent, UnitReopening, UnitReport, activity_task

TINY = """
seed = 7

[accounts]
password = "qmonth-demo"
province = { username = "province", display_name = "省厅管理员" }
reporter_name = "{unit}填报员"
admin_name = "{unit}管理员"

[calendar]
holidays = []
makeup_workdays = []

[life]
final_states = { accepted = 1, submitted = 1, returned = 1, draft = 1 }
highlight_share = 0.5
resubmitted_share = 0.1
registered_ahead_share = 0.2
review_days_after_deadline = 10

[places]
roads = ["试验路", "样板路"]
estates = ["样板苑"]
phases = ["一"]
communities = ["样板"]
national_roads = ["G999"]

[cities."济南"]
phone_prefix = "0531-8"
phone_digits = 7
counties = ["样板区"]

[departments.zj]
weight = 1
field = "样板工程"
audience = "样板单位技术人员"
venues = ["市样板培训中心"]
labs = ["市样板实验室"]
agency = "样板监督站"
projects = ["{county}样板项目"]
co_organisers = ["市样板协会"]
standards = ["《样板标准》"]

[kinds.training]
weight = 1
verb = "举办"
days = [1]
participants = [10, 20]
summary = "样板培训共{trainees}人次参加。"
results = ["样板培训取得样板成效。"]

[figures.ranges]
class_hours = [2, 4]

[people]
surnames = "样"
given_names = ["板"]
mobile_prefixes = ["139"]

[texts]
closings = ["样板结语。"]
return_reasons = ["请补充样板材料后重新报送。"]
planned = "{unit}计划于{when}{verb}{name}（样板计划）。"
in_progress = "{unit}正在{verb}{name}（样板进行中）。"

[[scenarios]]
kind = "training"
name = "样板培训班"
content = "培训讲解了样板内容。"

[reports]
overview = "{unit}样板总结。"
practices = "样板做法。"
highlights_text = ""
problems = "样板问题。"
signature = "{unit}"
reopen_reasons = ["样板补报原因。"]
outcomes = { on_time = 1, late = 0, missing = 0 }
"""


def test_a_tiny_data_file_is_the_only_source_of_the_demos_content(app, tmp_path):
    path = tmp_path / "tiny.toml"
    path.write_text(TINY, encoding="utf-8")
    ids = select(Activity.id).where(Activity.form_key.like("demo-%"))
    db.session.execute(delete(AuditEvent).where(AuditEvent.object_type == "activity", AuditEvent.object_id.in_(ids)))
    db.session.execute(delete(activity_task).where(activity_task.c.activity_id.in_(ids)))
    db.session.execute(delete(Activity).where(Activity.form_key.like("demo-%")))
    db.session.commit()

    result = app.test_cli_runner().invoke(args=["seed-demo", "--data-file", str(path), "--activities", "30"])
    assert result.exit_code == 0, result.output
    assert "demo activities: 30 created" in result.output
    db.session.expire_all()
    activities = list(db.session.scalars(select(Activity).where(Activity.form_key.like("demo-%"))))
    assert len(activities) == 30
    for activity in activities:  # only 济南's 住建 bureau fits a file with one city and one department
        assert activity.unit.code == "jinan-zj" and activity.kind.code == "training"
        assert activity.title in ("济南市样板培训班", "济南市2024年样板培训班")
        assert activity.county == "样板区" and "样板" in activity.address
        if activity.ends_on < date(2024, 9, 20):
            assert "培训讲解了样板内容。" in activity.description and "样板培训共" in activity.description
        else:
            assert activity.description.endswith(("（样板计划）。", "（样板进行中）。"))
        assert activity.contact_name == "样板" and activity.figures["standards"] == "《样板标准》"
        assert 10 <= activity.participants <= 20
        assert activity.return_reason in ("", "请补充样板材料后重新报送。")
    assert any(a.state is not ActivityState.DRAFT for a in activities)
    # The tests' clock (2024-09-20) is before the campaign's last week: no reports yet.
    assert db.session.scalar(select(UnitReport.id).limit(1)) is None
    assert db.session.scalar(select(UnitReopening.id).limit(1)) is None


def test_a_broken_data_file_is_refused_with_its_name(app, tmp_path):
    path = tmp_path / "broken.toml"
    path.write_text(TINY.replace('[kinds.training]', '[kinds.lecture]'), encoding="utf-8")
    with pytest.raises(DemoDataError, match="kinds without a \\[kinds\\] entry"):
        load_content(path)
    result = app.test_cli_runner().invoke(args=["seed-demo", "--data-file", str(path)])
    assert result.exit_code != 0 and "broken.toml" in result.output
