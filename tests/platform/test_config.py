import logging
from pathlib import Path

from flask_migrate import upgrade

from qmonth import create_app

from tests.helpers import CollectLogs


def test_defaults_put_database_and_uploads_in_instance(tmp_path, monkeypatch):
    for name in ("QMONTH_DATABASE_URL", "QMONTH_SECRET_KEY", "QMONTH_UPLOAD_DIR"):
        monkeypatch.delenv(name, raising=False)
    app = create_app({"INSTANCE_PATH": tmp_path})
    assert app.config["SQLALCHEMY_DATABASE_URI"] == f"sqlite:///{tmp_path / 'qmonth.db'}"
    assert app.config["UPLOAD_DIR"] == str(tmp_path / "uploads")
    assert (tmp_path / "uploads").is_dir()


def test_secret_key_is_generated_once_into_instance(tmp_path, monkeypatch):
    monkeypatch.delenv("QMONTH_SECRET_KEY", raising=False)
    first = create_app({"INSTANCE_PATH": tmp_path}).config["SECRET_KEY"]
    second = create_app({"INSTANCE_PATH": tmp_path}).config["SECRET_KEY"]
    other = create_app({"INSTANCE_PATH": tmp_path / "other"}).config["SECRET_KEY"]
    assert len(first) >= 64
    assert first == second == (tmp_path / "secret_key").read_text().strip()
    assert other != first


def test_precedence_instance_file_then_environment_then_overrides(tmp_path, monkeypatch):
    (tmp_path / "config.py").write_text(
        "SECRET_KEY = 'from-file'\nUPLOAD_DIR = '/tmp/qm-file-uploads'\nFEATURE_X = 'file'\n"
    )
    monkeypatch.setenv("QMONTH_UPLOAD_DIR", str(tmp_path / "env-uploads"))
    monkeypatch.setenv("QMONTH_DATABASE_URL", f"sqlite:///{tmp_path / 'env.db'}")
    monkeypatch.setenv("QMONTH_FEATURE_X", "env")
    monkeypatch.delenv("QMONTH_SECRET_KEY", raising=False)
    app = create_app({"INSTANCE_PATH": tmp_path, "FEATURE_X": "override"})
    assert app.config["SECRET_KEY"] == "from-file"
    assert app.config["UPLOAD_DIR"] == str(tmp_path / "env-uploads")
    assert app.config["SQLALCHEMY_DATABASE_URI"] == f"sqlite:///{tmp_path / 'env.db'}"
    assert app.config["FEATURE_X"] == "override"
    assert not (tmp_path / "secret_key").exists()


def test_secret_key_from_environment_wins_over_generated(tmp_path, monkeypatch):
    monkeypatch.setenv("QMONTH_SECRET_KEY", "k" * 40)
    app = create_app({"INSTANCE_PATH": tmp_path})
    assert app.config["SECRET_KEY"] == "k" * 40
    assert not (tmp_path / "secret_key").exists()


def test_object_storage_with_a_generated_secret_key_warns_at_start(tmp_path, monkeypatch):
    """STORAGE=s3 means several machines: a key generated in one machine's instance folder would
    sign a user out whenever a request reaches another."""
    monkeypatch.delenv("QMONTH_SECRET_KEY", raising=False)
    # A migration run in this process first: Alembic's logging setup must leave the app's logger on.
    qmonth_logger = logging.getLogger("qmonth")
    with create_app({"INSTANCE_PATH": tmp_path / "migrated", "SECRET_KEY": "k" * 40}).app_context():
        upgrade()
    collect = CollectLogs()
    qmonth_logger.addHandler(collect)
    try:
        s3 = {"STORAGE": "s3", "S3_ENDPOINT": "http://127.0.0.1:9", "S3_BUCKET": "b", "S3_ACCESS_KEY": "a",
              "S3_SECRET_KEY": "s"}
        create_app({"INSTANCE_PATH": tmp_path / "one", **s3})
        assert any("set QMONTH_SECRET_KEY to one value on every machine" in m for m in collect.messages)
        collect.messages.clear()
        create_app({"INSTANCE_PATH": tmp_path / "two", "SECRET_KEY": "k" * 40, **s3})
        create_app({"INSTANCE_PATH": tmp_path / "three"})
        assert not [m for m in collect.messages if "QMONTH_SECRET_KEY" in m]
    finally:
        qmonth_logger.removeHandler(collect)


def test_no_secret_key_constant_in_code():
    source = "\n".join(p.read_text() for p in Path("qmonth").rglob("*.py"))
    assert "SECRET_KEY\"] = \"" not in source and "SECRET_KEY = \"" not in source
