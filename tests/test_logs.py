"""The console's own log lines cannot be forged by a value that carries line breaks."""

import os
import subprocess
import sys

# A request fails and Flask logs it, path included: the path arrives URL-decoded and may carry line breaks.
SCRIPT = """
import sys
from ddenterpriseapi import create_app

app = create_app()
with app.test_request_context("/%0D%0AFORGED%20%E2%80%A8FORGED%C2%85FORGED%1B[2J"):
    try:
        raise RuntimeError("the database went away")
    except RuntimeError:
        app.log_exception(sys.exc_info())
"""


def test_app_log_record_with_line_breaks_comes_out_on_one_line(tmp_path):
    env = {**os.environ, "DDE_INSTANCE_PATH": str(tmp_path / "instance")}
    result = subprocess.run([sys.executable, "-c", SCRIPT], env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    message, *traceback = result.stderr.splitlines()
    assert message.endswith("Exception on /\\x0d\\x0aFORGED \\u2028FORGED\\x85FORGED\\x1b[2J [GET]"), message
    assert traceback[0] == "Traceback (most recent call last):" and traceback[-1].startswith("RuntimeError")
    assert not any("FORGED" in line for line in traceback)
