from datetime import datetime, timezone

from qmonth.main.services import report_countdown
from qmonth.models import Campaign
from qmonth.extensions import db
from sqlalchemy import select


def test_healthz_ok(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    # No broker configured: jobs run in the web process, and /healthz says so.
    assert response.get_json() == {"status": "ok", "database": "ok", "storage": "ok", "broker": "not configured"}


def test_healthz_503_when_the_database_does_not_answer(tmp_path):
    from qmonth import create_app

    app = create_app({"INSTANCE_PATH": tmp_path, "TESTING": True,
                      "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path}/missing-dir/qmonth.db"})
    response = app.test_client().get("/healthz")
    assert response.status_code == 503
    assert response.get_json()["status"] == "error"


def test_home_shows_campaign_window_countdown_unit_and_slogans(client, login_as):
    login_as("qingdao-yl")
    html = client.get("/").get_data(as_text=True)
    assert "2024年全省住建系统“质量月”活动" in html
    assert "提升建筑品质 共享美好生活" in html
    assert "2024年9月1日至9月30日" in html
    assert "总结报告报送截止：2024年10月10日 23:59" in html
    assert "青岛市园林和林业局" in html
    assert "恪守质量诚信践行社会责任" in html
    assert html.count("<li>") >= 12 + 9
    assert 'id="countdown"' in html


def test_countdown_before_and_after_the_due_time(app):
    campaign = db.session.scalar(select(Campaign))
    before = report_countdown(campaign, now=datetime(2024, 10, 8, 13, 0, tzinfo=timezone.utc))
    # Due 2024-10-10 23:59:59 Shanghai = 15:59:59 UTC: 2 days 2 h 59 min left.
    assert (before.is_past, before.days, before.hours, before.minutes) == (False, 2, 2, 59)
    after = report_countdown(campaign, now=datetime(2024, 10, 11, 16, 0, tzinfo=timezone.utc))
    assert after.is_past and after.days == 1


def test_countdown_fragment_for_htmx(client, login_as):
    login_as("jinan-zj")
    response = client.get("/countdown", headers={"HX-Request": "true"})
    html = response.get_data(as_text=True)
    assert html.lstrip().startswith('<div id="countdown"')
    assert "<html" not in html
    assert "HX-Request" in response.headers["Vary"]


def test_404_page_is_chinese(client, login_as):
    login_as("jinan-zj")
    response = client.get("/no-such-page")
    assert response.status_code == 404
    assert "页面不存在" in response.get_data(as_text=True)
    assert '<html lang="zh-CN">' in response.get_data(as_text=True)


def test_errors_to_htmx_are_an_alert_fragment(client, login_as):
    login_as("jinan-zj")
    response = client.get("/no-such-page", headers={"HX-Request": "true"})
    html = response.get_data(as_text=True)
    assert response.status_code == 404
    assert html.strip().startswith('<div class="alert alert-error" role="alert"')
    assert response.headers["HX-Retarget"] == "#alerts"


def test_500_page_is_chinese_and_rolls_back(app, client, login_as):
    @app.get("/boom-for-test")
    def boom():
        raise RuntimeError("boom")

    app.config["PROPAGATE_EXCEPTIONS"] = False
    login_as("jinan-zj")
    response = client.get("/boom-for-test")
    assert response.status_code == 500
    assert "系统出现错误" in response.get_data(as_text=True)


def test_security_headers_on_pages(client, login_as):
    login_as("jinan-zj")
    response = client.get("/")
    csp = response.headers["Content-Security-Policy"]
    assert "default-src 'self'" in csp and "frame-ancestors 'none'" in csp and "object-src 'none'" in csp
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Cache-Control"] == "no-store"


def test_htmx_is_vendored_and_pinned(client):
    html = client.get("/login").get_data(as_text=True)
    assert "/static/vendor/htmx-2.0.11.min.js" in html
    assert "https://" not in html and "http://" not in html
    assert client.get("/static/vendor/htmx-2.0.11.min.js").status_code == 200
