"""Forms of the Outbox pages: the search over the list, and the buttons on a message."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import HiddenField, SearchField

from .listing import Filter
from .statuses import ALL

SEARCH_LIMIT = 200  # characters: no subject, address or Message-ID worth finding is longer


class SearchForm(FlaskForm):
    """The list's search, read from the address (GET) so that a filtered list can be bookmarked."""

    class Meta:
        """A search changes nothing, so it carries no token."""

        csrf = False

    status = HiddenField()
    q = SearchField(_l("Search"), description=_l("Part of the subject, the sender, a recipient or the Message-ID."))

    def filter(self) -> Filter:
        """The filter this search asks for; an unknown status lists them all."""
        status = self.status.data if self.status.data in ALL else None
        return Filter(status=status, search=(self.q.data or "").strip()[:SEARCH_LIMIT])


class MessageActionForm(FlaskForm):
    """Retry now, Cancel, Send again: a CSRF-protected button each."""
