"""The one-time code that proves whoever creates the first administrator can read the server's files."""

import hmac
import secrets
from pathlib import Path

from ..crypto import write_private_file

FILENAME = "setup-code"


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


def announce_setup(app) -> None:
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
        "\n  No administrator yet. Open /ddenterpriseapi/setup and enter the setup code "
        f"{code}\n  (also in {Path(app.instance_path) / FILENAME}).\n",
        flush=True,
    )
