"""The migrations build the schema the models describe, on a fresh database."""

import os
import stat
import subprocess
import sys
from pathlib import Path


def test_db_upgrade_builds_the_models_schema(tmp_path):
    env = {**os.environ, "DDE_INSTANCE_PATH": str(tmp_path / "instance")}
    flask = [sys.executable, "-m", "flask", "--app", "ddenterpriseapi", "db"]
    upgrade = subprocess.run([*flask, "upgrade"], env=env, capture_output=True, text=True, timeout=60)
    assert upgrade.returncode == 0, upgrade.stderr
    check = subprocess.run([*flask, "check"], env=env, capture_output=True, text=True, timeout=60)
    assert check.returncode == 0 and "No new upgrade operations detected" in check.stdout + check.stderr
    database = tmp_path / "instance" / "ddenterpriseapi.db"
    assert stat.S_IMODE(os.stat(database.parent).st_mode) == 0o700
    assert stat.S_IMODE(os.stat(database).st_mode) == 0o600
    for secret_file in ("secret-key", "encryption-keys"):
        assert stat.S_IMODE(os.stat(Path(tmp_path, "instance", secret_file)).st_mode) == 0o600
