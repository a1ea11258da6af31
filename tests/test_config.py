"""Where settings come from: a test's dict alone, or the instance file then DDE_* variables for the real console."""

import os
import subprocess
import sys


def test_a_test_config_ignores_the_shells_settings(make_app, tmp_path, monkeypatch):
    elsewhere = tmp_path / "elsewhere"
    monkeypatch.setenv("DDE_INSTANCE_PATH", str(elsewhere))
    monkeypatch.setenv("DDE_SQLALCHEMY_DATABASE_URI", f"sqlite:///{elsewhere / 'real.db'}")
    monkeypatch.setenv("DDE_SMTP_TIMEOUT", "99")
    instance = tmp_path / "instance"
    instance.mkdir()
    (instance / "config.py").write_text("SMTP_TIMEOUT = 98\n")
    app = make_app()
    assert app.instance_path == str(instance)
    assert app.config["SQLALCHEMY_DATABASE_URI"] == f"sqlite:///{instance / 'ddenterpriseapi.db'}"
    assert app.config["SMTP_TIMEOUT"] == 20  # the default: neither the instance file nor the variable
    assert (instance / "ddenterpriseapi.db").exists() and not elsewhere.exists()


def flask_upgrade(**variables: str) -> subprocess.CompletedProcess:
    """`flask --app ddenterpriseapi db upgrade` with these DDE_* variables and none of the shell's."""
    env = {name: value for name, value in os.environ.items() if not name.startswith("DDE_")}
    return subprocess.run([sys.executable, "-m", "flask", "--app", "ddenterpriseapi", "db", "upgrade"],
                          env={**env, **variables}, capture_output=True, text=True, timeout=60)


def test_the_console_takes_the_instance_file_then_the_environment(tmp_path):
    instance = tmp_path / "instance"
    instance.mkdir()
    (instance / "config.py").write_text(f"SQLALCHEMY_DATABASE_URI = 'sqlite:///{tmp_path / 'from-file.db'}'\n")
    result = flask_upgrade(DDE_INSTANCE_PATH=str(instance))
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "from-file.db").exists() and (instance / "secret-key").exists()
    result = flask_upgrade(DDE_INSTANCE_PATH=str(instance),
                           DDE_SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path / 'from-env.db'}")
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "from-env.db").exists()
    assert not (instance / "ddenterpriseapi.db").exists()
