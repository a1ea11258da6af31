"""The install step of make: pip runs when pyproject.toml's content changes, and says nothing when all goes well."""

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

from tests.deploy.helpers import REPO_ROOT

PIP_THAT_WRITES_DOWN_ITS_CALLS = '#!/bin/sh\necho "$@" >> "$(dirname "$0")/../pip-calls"\n'
INSTALL = "install -q -e ."


def project_with_a_stub_venv(tmp_path) -> Path:
    """The Makefile, pyproject.toml and scripts in a folder of their own, beside a virtualenv whose pip only writes
    down its calls and whose flask and honcho do nothing."""
    project = tmp_path / "project"
    project.mkdir()
    for name in ("Makefile", "pyproject.toml"):
        shutil.copy(REPO_ROOT / name, project)
    shutil.copytree(REPO_ROOT / "scripts", project / "scripts")
    bin_dir = project / ".venv" / "bin"
    bin_dir.mkdir(parents=True)
    (bin_dir / "python").symlink_to(sys.executable)
    for name, script in (("pip", PIP_THAT_WRITES_DOWN_ITS_CALLS), ("flask", "#!/bin/sh\n"), ("honcho", "#!/bin/sh\n")):
        (bin_dir / name).write_text(script)
        (bin_dir / name).chmod(0o755)
    return project


def make_run(project: Path) -> list[str]:
    """`make run`; every pip call made so far."""
    result = subprocess.run(["make", "run"], cwd=project, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr
    calls = project / ".venv" / "pip-calls"
    return calls.read_text().splitlines() if calls.exists() else []


def date(path: Path, seconds_ahead: float) -> None:
    moment = time.time() + seconds_ahead
    os.utime(path, (moment, moment))


def test_make_run_installs_again_only_when_pyproject_changes(tmp_path):
    project = project_with_a_stub_venv(tmp_path)
    pyproject = project / "pyproject.toml"
    assert make_run(project) == [INSTALL]
    date(pyproject, 5)  # a checkout or a pull wrote it again, unchanged
    assert make_run(project) == [INSTALL]
    pyproject.write_text(pyproject.read_text() + "\n# a new dependency\n")
    date(pyproject, 10)
    assert make_run(project) == [INSTALL, INSTALL]
