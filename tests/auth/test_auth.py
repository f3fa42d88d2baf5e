from sqlalchemy import select

from qmonth.extensions import db
from qmonth.models import Role, User

from tests.helpers import csrf_token_from

LOGIN_FAILED = "用户名或密码错误，或账号已停用。"


def post_login(client, username, password):
    token = csrf_token_from(client.get("/login").get_data(as_text=True))
    return client.post("/login", data={"username": username, "password": password, "csrf_token": token})


def test_home_requires_login(client):
    response = client.get("/")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login")


def test_reporter_logs_in_and_sees_unit_and_theme(client, user_named):
    response = post_login(client, "jinan-zj", "qmonth-demo")
    assert response.status_code == 302
    html = client.get("/").get_data(as_text=True)
    assert "济南市住房和城乡建设局" in html
    assert "提升建筑品质 共享美好生活" in html
    assert user_named("jinan-zj").last_login_at is not None


def test_wrong_password_and_disabled_account_get_the_same_message(client, user_named):
    wrong = post_login(client, "jinan-zj", "not-the-password")
    assert wrong.status_code == 422
    assert LOGIN_FAILED in wrong.get_data(as_text=True)
    assert 'value="jinan-zj"' in wrong.get_data(as_text=True)  # username kept

    user_named("heze-sw").is_enabled = False
    db.session.commit()
    disabled = post_login(client, "heze-sw", "qmonth-demo")
    assert disabled.status_code == 422
    assert LOGIN_FAILED in disabled.get_data(as_text=True)
    unknown = post_login(client, "nobody-here", "qmonth-demo")
    assert LOGIN_FAILED in unknown.get_data(as_text=True)
    assert client.get("/").status_code == 302


def test_empty_login_form_gets_chinese_errors(client):
    token = csrf_token_from(client.get("/login").get_data(as_text=True))
    response = client.post("/login", data={"username": "", "password": "", "csrf_token": token})
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "请输入用户名。" in html and "请输入密码。" in html


def test_logout_is_post_only_and_ends_the_session(client, login_as):
    login_as("jinan-zj")
    assert client.get("/logout").status_code == 405
    token = csrf_token_from(client.get("/account/password").get_data(as_text=True))
    response = client.post("/logout", data={"csrf_token": token})
    assert response.status_code == 302
    home = client.get("/")
    assert home.status_code == 302 and home.headers["Location"].startswith("/login")


def test_logout_without_csrf_token_is_refused(client, login_as):
    login_as("jinan-zj")
    response = client.post("/logout")
    assert response.status_code == 400
    assert "页面已过期" in response.get_data(as_text=True)
    assert client.get("/").status_code == 200


def test_login_does_not_redirect_off_site(client):
    token = csrf_token_from(client.get("/login").get_data(as_text=True))
    response = client.post("/login?next=//evil.example/x",
                           data={"username": "jinan-zj", "password": "qmonth-demo", "csrf_token": token})
    assert response.headers["Location"] == "/"


def test_password_change_rules_and_other_sessions_end(app, login_as, user_named):
    other = app.test_client()
    token = csrf_token_from(other.get("/login").get_data(as_text=True))
    other.post("/login", data={"username": "jinan-zj", "password": "qmonth-demo", "csrf_token": token})
    assert other.get("/").status_code == 200

    client = login_as("jinan-zj")
    token = csrf_token_from(client.get("/account/password").get_data(as_text=True))
    short = client.post("/account/password", data={
        "current_password": "qmonth-demo", "new_password": "short", "confirm_password": "short", "csrf_token": token})
    assert short.status_code == 422
    assert "密码至少需要 10 个字符。" in short.get_data(as_text=True)

    wrong = client.post("/account/password", data={
        "current_password": "nope-nope-nope", "new_password": "Quality-2024-ok", "confirm_password": "Quality-2024-ok",
        "csrf_token": token})
    assert "当前密码不正确。" in wrong.get_data(as_text=True)

    common = client.post("/account/password", data={
        "current_password": "qmonth-demo", "new_password": "1234567890", "confirm_password": "1234567890",
        "csrf_token": token})
    assert "密码过于简单" in common.get_data(as_text=True)

    ok = client.post("/account/password", data={
        "current_password": "qmonth-demo", "new_password": "Quality-2024-ok", "confirm_password": "Quality-2024-ok",
        "csrf_token": token})
    assert ok.status_code == 302
    assert client.get("/").status_code == 200  # this session goes on
    assert other.get("/").status_code == 302  # the other one ended
    assert post_login(app.test_client(), "jinan-zj", "qmonth-demo").status_code == 422
    assert post_login(app.test_client(), "jinan-zj", "Quality-2024-ok").status_code == 302


def test_navigation_follows_the_role(client, login_as):
    login_as("jinan-zj")
    reporter_html = client.get("/").get_data(as_text=True)
    assert "账号管理" not in reporter_html
    assert "修改密码" in reporter_html

    admin = login_as("jinan-zj-admin")
    assert "账号管理" in admin.get("/").get_data(as_text=True)


def test_reporter_cannot_reach_account_management(client, login_as):
    login_as("jinan-zj")
    for path in ("/admin/users", "/admin/users/new"):
        response = client.get(path)
        assert response.status_code == 403
        assert "您没有权限访问此页面" in response.get_data(as_text=True)


def test_unit_admin_sees_only_own_units_accounts(client, login_as):
    login_as("qingdao-zj-admin")
    html = client.get("/admin/users").get_data(as_text=True)
    assert "qingdao-zj-admin" in html and ">qingdao-zj<" in html
    assert "jinan-zj" not in html
    assert "province" not in html.split("<tbody>")[1]


def test_province_sees_every_account(client, login_as):
    login_as("province")
    html = client.get("/admin/users").get_data(as_text=True)
    assert "共 113 个" in html  # the 44 bureaus' and 济南's 12 counties' two each, and the province
    assert "heze-sw-admin" in html


def _create(client, **fields):
    token = csrf_token_from(client.get("/admin/users/new").get_data(as_text=True))
    return client.post("/admin/users/new", data={"csrf_token": token, **fields})


def test_unit_admin_creates_reporter_for_own_unit_only(client, login_as, user_named):
    login_as("qingdao-zj-admin")
    ok = _create(client, username="qingdao-zj-li", display_name="李明", role="reporter",
                 unit="qingdao-zj", password="Sea-Breeze-2024")
    assert ok.status_code == 302
    created = user_named("qingdao-zj-li")
    assert created.unit.code == "qingdao-zj" and created.role is Role.REPORTER

    foreign = _create(client, username="jinan-zj-li", display_name="李", role="reporter",
                      unit="jinan-zj", password="Sea-Breeze-2024")
    assert foreign.status_code == 422
    assert user_named("jinan-zj-li") is None

    province = _create(client, username="fake-province", display_name="假", role="province_admin",
                       unit="qingdao-zj", password="Sea-Breeze-2024")
    assert province.status_code == 422
    assert user_named("fake-province") is None


def test_province_creates_accounts_and_errors_keep_input(client, login_as, user_named):
    login_as("province")
    bad = _create(client, username="x", display_name="王芳", role="reporter", unit="heze-sw", password="short")
    html = bad.get_data(as_text=True)
    assert bad.status_code == 422
    assert "用户名须为" not in html or "王芳" in html
    assert "密码至少需要 10 个字符。" in html
    assert 'value="王芳"' in html

    ok = _create(client, username="heze-sw-wang", display_name="王芳", role="unit_admin",
                 unit="heze-sw", password="Yellow-River-88")
    assert ok.status_code == 302
    assert user_named("heze-sw-wang").role is Role.UNIT_ADMIN

    duplicate = _create(client, username="heze-sw-wang", display_name="王芳", role="reporter",
                        unit="heze-sw", password="Yellow-River-88")
    assert "已存在" in duplicate.get_data(as_text=True)


def test_disabling_an_account_blocks_login_and_ends_its_sessions(app, client, login_as, user_named):
    victim = app.test_client()
    token = csrf_token_from(victim.get("/login").get_data(as_text=True))
    victim.post("/login", data={"username": "heze-sw", "password": "qmonth-demo", "csrf_token": token})
    assert victim.get("/").status_code == 200

    login_as("heze-sw-admin")
    target = user_named("heze-sw")
    token = csrf_token_from(client.get("/admin/users").get_data(as_text=True))
    response = client.post(f"/admin/users/{target.id}/disable", headers={"HX-Request": "true", "X-CSRFToken": token})
    html = response.get_data(as_text=True)
    assert html.lstrip().startswith(f'<tr id="user-{target.id}"')  # the row fragment, not a page
    assert "已停用" in html
    db.session.expire_all()
    assert user_named("heze-sw").is_enabled is False
    assert victim.get("/").status_code == 302


def test_unit_admin_cannot_disable_another_units_account(client, login_as, user_named):
    login_as("heze-sw-admin")
    other = user_named("jinan-zj")
    token = csrf_token_from(client.get("/admin/users").get_data(as_text=True))
    response = client.post(f"/admin/users/{other.id}/disable", headers={"X-CSRFToken": token})
    assert response.status_code == 404
    db.session.expire_all()
    assert user_named("jinan-zj").is_enabled is True


def test_passwords_are_hashed_with_argon2(app, user_named):
    assert user_named("province").password_hash.startswith("$argon2id$")
    assert db.session.scalar(select(User).where(User.password_hash.contains("qmonth-demo"))) is None


def test_the_app_hashes_at_argon2s_recommended_cost():
    # conftest swaps in a cheap hasher to keep the suite fast; the app's own stays at
    # argon2-cffi's default (RFC 9106 low-memory profile: 64 MiB, three passes).
    from argon2 import profiles

    from tests.conftest import APP_PASSWORD_HASHER

    recommended = profiles.RFC_9106_LOW_MEMORY
    assert APP_PASSWORD_HASHER.time_cost >= recommended.time_cost
    assert APP_PASSWORD_HASHER.memory_cost >= recommended.memory_cost
    assert APP_PASSWORD_HASHER.type is recommended.type
