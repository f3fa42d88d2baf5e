"""A node's summary report covers its subtree: 济南's report sums its county bureaus' accepted entries."""
from __future__ import annotations

import pytest

from qmonth.extensions import db
from qmonth.models import ActivityState

from tests.helpers import csrf_token_from
from tests.reports.support import clear_subtree, pdf_text, squash
from tests.reports.test_reports import open_campaign, open_editor, report_of

LIXIA = "历下区住房城乡建设局"
HUAIYIN = "槐荫区住房城乡建设局"


@pytest.fixture
def jinan_tree(app, make_activity):
    """济南 with two entries of its own, and entries of two county bureaus in every state."""
    clear_subtree("jinan-zj")
    open_campaign()
    made = {
        "own": make_activity("jinan-zj", title="全市质量安全讲堂", state=ActivityState.SUBMITTED, participants=100),
        "own_inspection": make_activity(
            "jinan-zj", title="全市住宅工程巡查", kind="inspection", state=ActivityState.ACCEPTED, tasks=(9,),
            participants=20, figures={"projects_inspected": 10, "problems_found": 40, "problems_rectified": 38}),
        "lixia": make_activity(
            "jinan-lixia-zj", title="历下区工地巡查", kind="inspection", state=ActivityState.ACCEPTED, tasks=(9,),
            participants=10, figures={"projects_inspected": 3, "problems_found": 10, "problems_rectified": 2}),
        "joint": make_activity("jinan-huaiyin-zj", title="槐荫区联合开放日", state=ActivityState.ACCEPTED,
                               participants=50, co_organisers=f"{LIXIA}、济南市住房和城乡建设局"),
        "lixia_waiting": make_activity("jinan-lixia-zj", title="历下区待审核活动", state=ActivityState.SUBMITTED,
                                       participants=700),
        "lixia_draft": make_activity("jinan-lixia-zj", title="历下区草稿", participants=800),
    }
    return made


def test_the_city_report_sums_its_counties_accepted_entries(client, login_as, jinan_tree):
    login_as("jinan-zj-admin")
    page, _ = open_editor(client)
    text = squash(page)
    # own 2 + 历下区 1 accepted + 槐荫区's joint entry once; nothing not yet accepted below
    assert "<strong>4</strong>项活动·<strong>180</strong>人次" in text
    assert "历下区待审核活动" not in page and "历下区草稿" not in page
    # 整改率 from the summed counts (40/50 = 80 %), not the mean of 95 % and 20 %
    assert "发现问题50项" in text and "完成整改40项" in text and "整改率80%" in text
    assert "57.5" not in text
    # the listing: 本级 first, then each county with its entries
    listing = page[page.index('id="report-listing"'):]
    listing = listing[:listing.index("</section>")]
    assert listing.index("本级") < listing.index(LIXIA) < listing.index(HUAIYIN)
    assert listing.index("历下区工地巡查") > listing.index(LIXIA)
    assert listing.index("槐荫区联合开放日") > listing.index(HUAIYIN)
    assert listing.count("槐荫区联合开放日") == 1
    assert "商河县住房城乡建设局" in listing  # a county with nothing accepted is listed too
    assert page.count("全市质量安全讲堂") >= 1


def test_the_city_pdf_lists_by_county_and_counts_each_entry_once(client, login_as, jinan_tree):
    login_as("jinan-zj-admin")
    open_editor(client)
    response = client.get("/reports/jinan-zj.pdf")
    assert response.status_code == 200
    text = squash(pdf_text(response.get_data()))
    assert "共组织开展各类活动4项，参与180人次" in text
    assert "整改率80%" in text
    assert "其中，本级开展活动2项，参与120人次；所辖12个单位已采纳活动2项，参与60人次" in text
    assert "所辖单位活动情况" in text
    attachment = text[text.index("附件1"):]
    attachment = attachment[attachment.index("活动情况一览表"):]
    assert attachment.index("本级（2项）") < attachment.index(f"{LIXIA}（1项）") < attachment.index(f"{HUAIYIN}（1项）")
    assert text.count("槐荫区联合开放日") == 2  # once in 二、 and once in the list: never twice per place
    assert "历下区待审核活动" not in text and "700" not in text


def test_a_county_report_looks_as_it_did(client, login_as, jinan_tree):
    login_as("jinan-lixia-zj-admin")
    page, _ = open_editor(client, "jinan-lixia-zj")
    text = squash(page)
    assert 'id="report-listing"' not in page and "本级" not in page
    # a unit's own submitted entries count in its own report, as before
    assert "<strong>2</strong>项活动·<strong>710</strong>人次" in text
    pdf = squash(pdf_text(client.get("/reports/jinan-lixia-zj.pdf").get_data()))
    assert "共组织开展各类活动2项，参与710人次" in pdf
    assert "本级" not in pdf and "所辖单位活动情况" not in pdf and "整改率20%" in pdf


def test_a_county_entry_counts_in_the_city_once_accepted(client, login_as, jinan_tree):
    jinan_tree["lixia_waiting"].state = ActivityState.ACCEPTED
    db.session.commit()
    login_as("jinan-zj-admin")
    text = squash(open_editor(client)[0])
    assert "<strong>5</strong>项活动·<strong>880</strong>人次" in text


def test_the_province_report_of_jinan_and_a_sibling_city_sees_no_cousins(client, login_as, jinan_tree):
    login_as("qingdao-zj-admin")
    assert client.get("/reports/jinan-zj").status_code == 404
    assert client.get("/reports/jinan-lixia-zj").status_code == 404


# A submitted report is a frozen snapshot ---------------------------------------------------

def _submit(client, code):
    from tests.reports.test_reports import submit

    _, revision = open_editor(client, code)
    response = submit(client, code, revision, problems="报送时写下的问题。")
    assert response.status_code == 302


def test_what_the_parent_received_does_not_change_after_submit(client, login_as, jinan_tree):
    login_as("jinan-zj-admin")
    _submit(client, "jinan-zj")
    report = report_of("jinan-zj")
    assert report.snapshot is not None and report.snapshot_at is not None
    before_page = squash(open_editor(client)[0])
    before_pdf = client.get("/reports/jinan-zj.pdf").get_data()
    assert "<strong>4</strong>项活动·<strong>180</strong>人次" in before_page and "为报送时的数据" in before_page

    # below it, an entry is accepted; its own accepted entry is renamed and its figures change
    jinan_tree["lixia_waiting"].state = ActivityState.ACCEPTED
    jinan_tree["own_inspection"].title = "报送后改过名的巡查"
    jinan_tree["own_inspection"].figures = {"problems_found": 40, "problems_rectified": 40}
    db.session.commit()

    login_as("province")
    page = squash(client.get("/reports/jinan-zj").get_data(as_text=True))
    assert "<strong>4</strong>项活动·<strong>180</strong>人次" in page and "整改率80%" in page
    assert "报送后改过名的巡查" not in page and "全市住宅工程巡查" in page
    after_pdf = client.get("/reports/jinan-zj.pdf").get_data()
    assert squash(pdf_text(after_pdf)) == squash(pdf_text(before_pdf))
    assert after_pdf == before_pdf
    assert "报送后改过名的巡查" not in squash(pdf_text(after_pdf))


def test_a_reopened_report_takes_a_new_snapshot_on_the_next_submit(client, login_as, jinan_tree):
    login_as("jinan-zj-admin")
    _submit(client, "jinan-zj")
    jinan_tree["lixia_waiting"].state = ActivityState.ACCEPTED
    db.session.commit()
    login_as("province")
    page = client.get("/reports/jinan-zj").get_data(as_text=True)
    client.post("/reports/jinan-zj/reopen", data={"csrf_token": csrf_token_from(page), "reason": "请补报历下区。"})
    login_as("jinan-zj-admin")
    page = squash(open_editor(client)[0])
    assert "<strong>5</strong>项活动·<strong>880</strong>人次" in page  # a draft again: live figures
    _submit(client, "jinan-zj")
    jinan_tree["lixia"].state = ActivityState.RETURNED
    db.session.commit()
    page = squash(open_editor(client)[0])
    assert "<strong>5</strong>项活动·<strong>880</strong>人次" in page
    # (the opening paragraph is the unit's own text, written when the report began: the rollup line is computed)
    pdf = squash(pdf_text(client.get("/reports/jinan-zj.pdf").get_data()))
    assert "所辖12个单位已采纳活动3项，参与760人次" in pdf


def test_a_countys_submitted_report_as_its_city_sees_it(client, login_as, jinan_tree):
    login_as("jinan-lixia-zj-admin")
    _submit(client, "jinan-lixia-zj")
    jinan_tree["lixia_waiting"].title = "报送后改名"
    db.session.commit()
    login_as("jinan-zj-admin")
    page = client.get("/reports/jinan-lixia-zj").get_data(as_text=True)
    assert "历下区待审核活动" in page and "报送后改名" not in page
    pdf = squash(pdf_text(client.get("/reports/jinan-lixia-zj.pdf").get_data()))
    assert "历下区待审核活动" in pdf and "报送后改名" not in pdf
    docx = client.get("/reports/jinan-lixia-zj.docx")
    assert docx.status_code == 200


def test_the_city_picks_a_countys_accepted_entry_as_a_highlight_but_not_a_waiting_one(client, login_as, jinan_tree):
    from tests.helpers import token
    from tests.reports.test_reports import save

    login_as("jinan-zj-admin")
    _, revision = open_editor(client)
    response = save(client, "highlights", [str(jinan_tree["lixia"].id)], revision)
    assert response.status_code == 200
    assert report_of("jinan-zj").highlight_activity_ids == [jinan_tree["lixia"].id]
    refused = client.post("/reports/jinan-zj/sections/highlights",
                          data={"highlights": [str(jinan_tree["lixia_waiting"].id)], "revision": revision + 1},
                          headers={"HX-Request": "true", "X-CSRFToken": token(client, "/reports/jinan-zj")})
    assert refused.status_code == 422 and "下级单位已采纳" in refused.get_data(as_text=True)
    pdf = squash(pdf_text(client.get("/reports/jinan-zj.pdf").get_data()))
    assert "三、特色亮点" in pdf and pdf.count("历下区工地巡查") >= 3  # highlight, 二、 and the list
