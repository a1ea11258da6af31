"""Sent and failed messages ever: the rows still kept plus those the retention purge removed, so that the totals
the metrics publish as counters never go down."""

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from ..extensions import db
from ..models import OutboxMessage, OutboxTotals
from . import statuses

UPSERTS = {"sqlite": sqlite.insert, "postgresql": postgresql.insert}  # both speak INSERT ... ON CONFLICT


@dataclass(frozen=True)
class DeliveredTotals:
    """How many messages were ever sent, and how many failed for good."""

    sent: int
    failed: int


def record_purged(sent: int, failed: int) -> None:
    """Count purged sent and failed messages in the caller's transaction, so that the deletion and the count
    commit together; an atomic upsert, so that concurrent purges add up."""
    insert = UPSERTS[db.session.get_bind().dialect.name](OutboxTotals)
    statement = insert.values(id=1, sent_purged=sent, failed_purged=failed)
    db.session.execute(statement.on_conflict_do_update(index_elements=[OutboxTotals.id], set_={
        "sent_purged": OutboxTotals.sent_purged + statement.excluded.sent_purged,
        "failed_purged": OutboxTotals.failed_purged + statement.excluded.failed_purged,
    }))


def read_totals(session: Session) -> DeliveredTotals:
    """Both totals in one statement: a purge committing meanwhile is counted either as rows or as purged, never
    both (even under PostgreSQL's READ COMMITTED, where each statement sees its own snapshot)."""
    sent, failed = session.execute(select(
        _total(statuses.SENT, OutboxTotals.sent_purged), _total(statuses.FAILED, OutboxTotals.failed_purged))).one()
    return DeliveredTotals(sent=sent, failed=failed)


def _total(status: str, purged_column):
    """Rows kept in this status, plus the purged count (none before the first purge)."""
    kept = select(func.count()).select_from(OutboxMessage).where(OutboxMessage.status == status)
    purged = select(purged_column).where(OutboxTotals.id == 1)
    return kept.scalar_subquery() + func.coalesce(purged.scalar_subquery(), 0)
