"""Who checks: the delivery worker runs every check about once a minute; the web processes run the worker check
(at most once a minute between them), so that someone hears of a dead worker although no worker runs to say so."""

import logging
from datetime import datetime, timedelta

from flask_babel import gettext as _

from ..extensions import db
from ..models import Notification
from ..runtime import Runtime
from . import kinds
from .channels import deliver
from .checks import every_check, newest_failure, worker_down
from .incidents import TESTED, Notice, incident_open, reconcile
from .settings import get_notification_settings, mark_failures_seen, take_worker_check_turn

log = logging.getLogger(__name__)
FIRST_LOOK_BACK = timedelta(hours=1)  # on the first check ever, failures this recent are still news
WEB_CHECK_EVERY = timedelta(minutes=1)


def tell(notices: list[Notice], runtime: Runtime, moment: datetime) -> None:
    """Send what the incidents say to tell."""
    settings = get_notification_settings()
    for notice in notices:
        deliver(notice, settings, runtime, moment)


def check_everything(runtime: Runtime, moment: datetime) -> None:
    """Every check, the incidents brought up to date, and what changed told."""
    since = get_notification_settings().failures_seen_until or moment - FIRST_LOOK_BACK
    seen_until = max(since, newest_failure() or since)  # read first: a failure landing meanwhile is told next time
    notices = reconcile(every_check(runtime, moment, since), moment)
    mark_failures_seen(seen_until)
    tell(notices, runtime, moment)


def check_worker(runtime: Runtime, moment: datetime) -> None:
    """The web's part: the worker check alone, writing nothing unless there is something to open, remind or end."""
    finding = worker_down(moment)
    if finding is None and not incident_open(kinds.WORKER_DOWN):
        db.session.rollback()
        return
    if take_worker_check_turn(moment, WEB_CHECK_EVERY):
        tell(reconcile({kinds.WORKER_DOWN: finding}, moment), runtime, moment)


def guarded(check, runtime: Runtime, moment: datetime) -> None:
    """Run a check where nothing may stop (the delivery loop, a response already sent): a failure is logged."""
    try:
        check(runtime, moment)
    except Exception:  # telling someone must never stop delivery or break a page
        db.session.rollback()
        log.exception("The notification checks failed")


def send_test(runtime: Runtime, requested_by: str, moment: datetime) -> list[Notification]:
    """A test notification to every destination, now; what happened at each."""
    notice = Notice(kinds.TEST, TESTED, _("Test notification from ddenterpriseapi"), _(
        "Sent at the request of %(requester)s from the Notifications page. If you can read this, notifications "
        "reach you here.", requester=requested_by))
    return deliver(notice, get_notification_settings(), runtime, moment)
