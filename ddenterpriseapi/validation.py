"""Checks shared by forms and services: URLs that may carry secrets, Microsoft tenants."""

import ipaddress
import re
from urllib.parse import urlsplit

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

LOOPBACK_HOSTS = {"localhost", "127.0.0.1", "::1"}
TENANT_ALIASES = {"common", "organizations", "consumers"}
GUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$", re.IGNORECASE)
DOMAIN = re.compile(r"^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$", re.IGNORECASE)

TENANT_HELP = _l(
    "Enter common, organizations, consumers, your Directory (tenant) ID "
    "(a GUID such as 72f988bf-86f1-41af-91ab-2d7cd011db47) or a verified domain such as contoso.com."
)


def is_loopback(host: str | None) -> bool:
    """True for the hosts where plain http never leaves the machine."""
    if not host:
        return False
    if host.lower() in LOOPBACK_HOSTS:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def url_problem(url: str) -> str | None:
    """Why a URL cannot carry OAuth secrets, or None when it can (https, or http on loopback)."""
    try:
        parts = urlsplit(url)
        parts.port  # raises on a malformed port
    except ValueError:
        return _("This is not a valid URL.")
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return _("Enter a full URL starting with https://.")
    if parts.scheme == "http" and not is_loopback(parts.hostname):
        return _("Use https:// (plain http is accepted only for localhost, 127.0.0.1 and ::1).")
    if parts.username or parts.password:
        return _("A URL must not contain a user name or password.")
    return None


def is_valid_tenant(tenant: str) -> bool:
    """Microsoft accepts these tenant forms in its endpoint paths."""
    return tenant.lower() in TENANT_ALIASES or bool(GUID.match(tenant) or DOMAIN.match(tenant))
