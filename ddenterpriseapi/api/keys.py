"""API keys: shown once at creation, stored as a hash, limited to the API, the relay or both, revocable."""

import hashlib
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select

from ..database import locked
from ..extensions import db
from ..models import ApiKey, OutboxMessage
from ..outbox.statuses import SENT

KEY_PREFIX = "dde_"
USE_RECORDED_EVERY = timedelta(minutes=1)


def _hash(key: str) -> str:
    # Keys carry 256 random bits, so a fast hash cannot be brute-forced; it keeps each request cheap.
    return hashlib.sha256(key.encode()).hexdigest()


def create_key(name: str, created_by: str | None, scope: str = "both") -> tuple[ApiKey, str]:
    """A new key; the plain key is returned this once and never stored."""
    key = KEY_PREFIX + secrets.token_urlsafe(32)
    record = ApiKey(name=name.strip(), prefix=key[:12], key_hash=_hash(key), created_by=created_by, scope=scope)
    db.session.add(record)
    db.session.commit()
    return record, key


def revoke_key(key_id: int) -> ApiKey | None:
    record = db.session.get(ApiKey, key_id)
    if record is not None and record.revoked_at is None:
        record.revoked_at = datetime.now(UTC)
        db.session.commit()
    return record


@dataclass(frozen=True)
class ActiveKey:
    """An unrevoked key, as a request that presents it needs it."""

    id: int
    name: str
    prefix: str
    scope: str  # api, relay or both

    def allows(self, use: str) -> bool:
        """Whether the key may be used for this: "api" (the JSON API) or "relay" (AUTH on the SMTP relay)."""
        return self.scope in (use, "both")


def find_active_key(key: str) -> ActiveKey | None:
    """The unrevoked key matching this secret (its columns, read on every request), marked as used (at most once a
    minute: a write per request would make every API call wait for the database's one writer)."""
    table = ApiKey.__table__
    row = db.session.execute(select(table.c.id, table.c.name, table.c.prefix, table.c.scope, table.c.revoked_at,
                                    table.c.last_used_at).where(table.c.key_hash == _hash(key))).first()
    if row is None or row.revoked_at is not None:
        return None
    now = datetime.now(UTC)
    if row.last_used_at is None or now - row.last_used_at > USE_RECORDED_EVERY:
        locked(ApiKey, id=row.id).last_used_at = now
        db.session.commit()
    return ActiveKey(row.id, row.name, row.prefix, row.scope)


def list_keys() -> list[ApiKey]:
    return list(db.session.scalars(select(ApiKey).order_by(ApiKey.revoked_at.is_not(None), ApiKey.created_at.desc())))


@dataclass(frozen=True)
class KeyUsage:
    """What a key sent: how many messages the server accepted, and when the last one went."""

    sent: int = 0
    last_sent_at: datetime | None = None


def key_usage() -> dict[int, KeyUsage]:
    """Per key id, the messages sent with it that the outbox still records."""
    rows = db.session.execute(select(OutboxMessage.api_key_id, func.count(), func.max(OutboxMessage.sent_at))
                              .where(OutboxMessage.status == SENT, OutboxMessage.api_key_id.is_not(None))
                              .group_by(OutboxMessage.api_key_id))
    return {key_id: KeyUsage(count, last) for key_id, count, last in rows}
