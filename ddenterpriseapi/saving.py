"""What a settings page does once its form is saved: audit the names of what changed, and say which stored
secret was forgotten because what it belongs with changed."""

from flask import flash

from . import audit
from .auth.guard import requester
from .database import forgotten_secrets


def record_changes(action: str, values: dict, changed: list[str], secrets: dict[str, tuple[str, ...]],
                   forgotten_warning: str) -> None:
    """The audit event (names only, never values), and the warning when a secret was forgotten."""
    if changed:
        audit.record(action, requester(), ", ".join(changed))
    if forgotten_secrets(values, changed, secrets):
        flash(forgotten_warning, "warning")
