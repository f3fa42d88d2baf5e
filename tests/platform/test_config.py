from pathlib import Path

from qmonth import create_app


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


def test_no_secret_key_constant_in_code():
    source = "\n".join(p.read_text() for p in Path("qmonth").rglob("*.py"))
    assert "SECRET_KEY\"] = \"" not in source and "SECRET_KEY = \"" not in source
