"""The install step of make: pip runs when pyproject.toml's content changes, and says nothing when all goes well."""

import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

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


def sources_on_this_disk() -> list[str]:
    """The package sources pip is set up with that lie on this disk (file:// indexes, find-links folders)."""
    listed = subprocess.run([sys.executable, "-m", "pip", "config", "list"], capture_output=True, text=True,
                            timeout=60).stdout
    values = re.findall(r"^\S+\.(?:index-url|extra-index-url|find-links)='(.*)'$", listed, re.MULTILINE)
    values.append(os.environ.get("PIP_FIND_LINKS", ""))
    return list(dict.fromkeys(source for value in values for source in value.split()
                              if source.startswith(("file://", "/"))))


def offline_pip_options() -> list[str]:
    """pip install's options to use those sources only (with --isolated, pip reads no other): never the network."""
    indexes = [source for source in sources_on_this_disk() if source.startswith("file://")]
    folders = [source for source in sources_on_this_disk() if source.startswith("/")]
    options = ["--index-url", indexes[0]] + [f"--extra-index-url={url}" for url in indexes[1:]] if indexes else [
        "--no-index"]
    return options + [f"--find-links={folder}" for folder in folders]


def test_the_install_prints_no_warning(tmp_path):
    """make's install step (pip install -q -e .), into a virtualenv of its own with the pip of the tests', the build
    backend that pyproject.toml asks for taken from this disk, in an isolated build as make does: pip and
    setuptools say nothing, "Editable installation" included. The dependencies are left out: they are the tests'
    own, and fetching them is no part of what is checked."""
    project = tmp_path / "project"
    project.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(REPO_ROOT / name, project)
    shutil.copytree(REPO_ROOT / "ddenterpriseapi", project / "ddenterpriseapi",
                    ignore=shutil.ignore_patterns("__pycache__"))
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", tmp_path / "venv"], check=True, timeout=60)
    result = subprocess.run(
        [sys.executable, "-m", "pip", "--isolated", "--disable-pip-version-check", "--python",
         tmp_path / "venv" / "bin" / "python", "install", "-q", "--no-deps", *offline_pip_options(), "-e", "."],
        cwd=project, capture_output=True, text=True, timeout=300)
    said = result.stdout + result.stderr
    if result.returncode and "No matching distribution found for setuptools" in said:
        pytest.skip(f"no setuptools new enough for pyproject.toml in this disk's package sources "
                    f"{sources_on_this_disk()}: this pyproject cannot be built offline here")
    assert result.returncode == 0, said
    assert said == ""
    site_packages = next((tmp_path / "venv" / "lib").glob("python3*/site-packages"))
    assert (site_packages / "__editable__.ddenterpriseapi-0.1.0.pth").read_text().strip() == str(project)
