"""Administrator accounts: creation with hashed passwords, and checking credentials."""

from sqlalchemy import func, select
from werkzeug.security import check_password_hash, generate_password_hash

from ..extensions import db
from ..models import Admin

MIN_PASSWORD_LENGTH = 12
# Checked when the username is unknown too, so response time does not reveal which usernames exist.
_DUMMY_HASH = generate_password_hash("timing-equaliser")


class AccountError(ValueError):
    """An account cannot be created or changed; the message says why."""


def admin_count() -> int:
    return db.session.scalar(select(func.count()).select_from(Admin))


def create_admin(username: str, password: str) -> Admin:
    """Add an administrator."""
    username = username.strip()
    if not username or len(username) > 64:
        raise AccountError("A username has 1 to 64 characters.")
    if len(password) < MIN_PASSWORD_LENGTH:
        raise AccountError(f"A password has at least {MIN_PASSWORD_LENGTH} characters.")
    if db.session.scalar(select(Admin).filter_by(username=username)):
        raise AccountError(f"An administrator named {username} already exists.")
    admin = Admin(username=username, password_hash=generate_password_hash(password))
    db.session.add(admin)
    db.session.commit()
    return admin


def authenticate(username: str, password: str) -> Admin | None:
    """The administrator these credentials belong to, or None."""
    admin = db.session.scalar(select(Admin).filter_by(username=username.strip()))
    if admin is None:
        check_password_hash(_DUMMY_HASH, password)
        return None
    return admin if check_password_hash(admin.password_hash, password) else None
