"""The one-time code that proves whoever creates the first administrator can read the server's files."""

import hmac
import secrets
from pathlib import Path

from ..crypto import write_private_file

FILENAME = "setup-code"
# Addresses that mean "this machine": the URL says localhost, as the documentation does.
LOCAL_NAMES = {"": "localhost", "0.0.0.0": "localhost", "127.0.0.1": "localhost", "[::]": "localhost",
               "[::1]": "localhost"}


def setup_code(instance_path: str) -> str:
    """The pending setup code, created on first call."""
    path = Path(instance_path) / FILENAME
    write_private_file(path, secrets.token_hex(4).upper() + "-" + secrets.token_hex(4).upper() + "\n")
    return path.read_text().strip()


def check_setup_code(instance_path: str, candidate: str) -> bool:
    """True when the candidate is the pending code (case and spaces do not matter)."""
    path = Path(instance_path) / FILENAME
    if not path.exists():
        return False
    expected = path.read_text().strip()
    return hmac.compare_digest(candidate.strip().upper().encode(), expected.encode())


def close_setup(instance_path: str) -> None:
    """Forget the code once the first administrator exists."""
    (Path(instance_path) / FILENAME).unlink(missing_ok=True)


def setup_url(public_url: str | None, bind: str) -> str:
    """Where the operator opens setup: under PUBLIC_URL, else at the address the server listens on."""
    if public_url:
        return public_url.rstrip("/") + "/setup"
    if bind.startswith(("unix:", "fd://")):
        return "/ddenterpriseapi/setup"  # a socket behind a proxy: only the path is known here
    host, colon, port = bind.rpartition(":")
    if not colon:  # a bare host listens on gunicorn's default port
        host, port = bind, "8000"
    return f"http://{LOCAL_NAMES.get(host, host)}:{port}/ddenterpriseapi/setup"


def announce_setup(app, bind: str) -> None:
    """On a console without administrators, print the setup code where the operator starting it will see it."""
    from ..extensions import db
    from .accounts import admin_count

    with app.app_context():
        pending = admin_count() == 0
        db.engine.dispose()  # gunicorn forks workers after this: they open connections of their own
    if not pending:
        return
    code = setup_code(app.instance_path)
    print(
        f"\n  No administrator yet. Open {setup_url(app.config['PUBLIC_URL'], bind)} and enter the setup code "
        f"{code}\n  (also in {Path(app.instance_path) / FILENAME}).\n",
        flush=True,
    )
