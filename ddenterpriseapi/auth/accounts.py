"""Administrator accounts: creation with hashed passwords, and checking credentials."""

from flask_babel import gettext as _
from sqlalchemy import func, or_, select
from werkzeug.security import check_password_hash, generate_password_hash

from ..console_error import ConsoleError
from ..database import locked
from ..extensions import db
from ..models import Admin
from .sessions import end_other_sessions

MIN_PASSWORD_LENGTH = 12
# Checked when the username is unknown too, so response time does not reveal which usernames exist.
_DUMMY_HASH = generate_password_hash("timing-equaliser")


class AccountError(ConsoleError):
    """An account cannot be created or changed; the message says why."""


def admin_count() -> int:
    return db.session.scalar(select(func.count()).select_from(Admin))


def check_password_rules(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise AccountError(_("A password has at least %(count)s characters.", count=MIN_PASSWORD_LENGTH))


def username_key(username: str) -> str:
    """The form logins compare usernames in: Alice and alice are one administrator."""
    return username.strip().casefold()


def find_admin(username: str) -> Admin | None:
    """The administrator a typed username names: the exact name first (see Admin.username_key), else any case."""
    name = username.strip()
    return db.session.scalar(select(Admin).where(or_(Admin.username == name, Admin.username_key == username_key(name)))
                             .order_by((Admin.username == name).desc()).limit(1))


def create_admin(username: str, password: str) -> Admin:
    """Add an administrator."""
    username = username.strip()
    if not username or len(username) > 64:
        raise AccountError(_("A username has 1 to 64 characters."))
    check_password_rules(password)
    existing = find_admin(username)
    if existing:
        raise AccountError(_("An administrator named %(name)s already exists.", name=existing.username))
    admin = Admin(username=username, username_key=username_key(username),
                  password_hash=generate_password_hash(password))
    db.session.add(admin)
    db.session.commit()
    return admin


def authenticate(admin: Admin | None, password: str) -> Admin | None:
    """The administrator (found by find_admin) if the password is theirs, else None."""
    if admin is None:
        check_password_hash(_DUMMY_HASH, password)
        return None
    return admin if check_password_hash(admin.password_hash, password) else None


def list_admins() -> list[Admin]:
    return list(db.session.scalars(select(Admin).order_by(Admin.username)))


def remove_admin(admin_id: int) -> Admin:
    """Remove an administrator, never the last one."""
    admin = locked(Admin, id=admin_id)
    if admin is None:
        raise AccountError(_("This administrator no longer exists."))
    if admin_count() <= 1:
        raise AccountError(_("The last administrator cannot be removed."))
    db.session.delete(admin)
    db.session.commit()
    return admin


def change_password(admin: Admin, new: str) -> None:
    """Replace the password and end the administrator's other sessions."""
    check_password_rules(new)
    admin.password_hash = generate_password_hash(new)
    db.session.commit()
    end_other_sessions(admin)
