from sqlalchemy import func, select

from qmonth.extensions import db
from qmonth.models import Role, Unit, User


def test_seed_demo_creates_two_accounts_per_unit_and_the_province(app):
    # The notice's 44 bureaus and 济南's 12 county bureaus: two accounts each, and the province.
    assert db.session.scalar(select(func.count(User.id))) == 2 * (44 + 12) + 1
    root = db.session.scalar(select(Unit).where(Unit.code == "shandong-zjt"))
    below = list(db.session.scalars(select(Unit).where(Unit.id != root.id)))
    assert len(below) == 44 + 12
    for unit in below:
        reporter = db.session.scalar(select(User).where(User.username == unit.code))
        admin = db.session.scalar(select(User).where(User.username == f"{unit.code}-admin"))
        assert reporter.role is Role.REPORTER and reporter.unit_id == unit.id
        assert admin.role is Role.UNIT_ADMIN and admin.unit_id == unit.id
    province = db.session.scalar(select(User).where(User.username == "province"))
    assert province.role is Role.PROVINCE_ADMIN and province.unit == root  # the issuing department
    assert db.session.scalar(select(func.count(User.id)).where(User.unit_id == root.id)) == 1


def test_seed_demo_is_repeatable_and_prints_the_password(app):
    result = app.test_cli_runner().invoke(args=["seed-demo"])
    assert result.exit_code == 0
    assert "0 created, 113 already there" in result.output
    assert "qmonth-demo" in result.output
    assert db.session.scalar(select(func.count(User.id))) == 113


def test_create_user_command(app, client):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["create-user", "zibo-zj-zhao", "--name", "赵强", "--role", "unit_admin",
                                 "--unit", "zibo-zj", "--password", "Ceramic-City-1"])
    assert result.exit_code == 0, result.output
    user = db.session.scalar(select(User).where(User.username == "zibo-zj-zhao"))
    assert (user.display_name, user.role, user.unit.code) == ("赵强", Role.UNIT_ADMIN, "zibo-zj")

    weak = runner.invoke(args=["create-user", "zibo-zj-qian", "--unit", "zibo-zj", "--password", "short"])
    assert weak.exit_code != 0 and "10" in weak.output
    no_unit = runner.invoke(args=["create-user", "zibo-zj-sun", "--unit", "nowhere-zj", "--password", "Ceramic-City-1"])
    assert no_unit.exit_code != 0 and "unknown unit" in no_unit.output
    assert db.session.scalar(select(func.count(User.id)).where(User.username.in_(["zibo-zj-qian", "zibo-zj-sun"]))) == 0


def test_create_user_prompts_for_the_password(app):
    result = app.test_cli_runner().invoke(
        args=["create-user", "ops-province", "--role", "province_admin"], input="Prompted-Pass-9\nPrompted-Pass-9\n")
    assert result.exit_code == 0, result.output
    # A province admin belongs to the campaign's root, the issuing department, whatever --unit says.
    assert db.session.scalar(select(User).where(User.username == "ops-province")).unit.code == "shandong-zjt"
