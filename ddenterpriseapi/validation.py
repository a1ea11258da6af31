"""Checks shared by forms and services: URLs that may carry secrets, hosts in private networks, Microsoft tenants."""

import ipaddress
import re
import socket
from urllib.parse import urlsplit

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

LOOPBACK_HOSTS = {"localhost", "127.0.0.1", "::1"}
TENANT_ALIASES = {"common", "organizations", "consumers"}
GUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$", re.IGNORECASE)
DOMAIN = re.compile(r"^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$", re.IGNORECASE)

TENANT_HELP = _l(
    "Enter your Directory (tenant) ID (a GUID such as 72f988bf-86f1-41af-91ab-2d7cd011db47) or a verified domain "
    "such as contoso.com. With delegated sign-in, common, organizations or consumers work too."
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


def private_address_problem(host: str) -> str | None:
    """Why the console may not connect to a host when private networks are blocked (it would reach the server's own
    network for whoever edits the settings), or None. Loopback stays allowed: operators run local relays."""
    for address in resolved_addresses(host):
        if not address.is_loopback and (address.is_multicast or not address.is_global):
            return _("%(host)s leads to %(address)s, a private, link-local, reserved or multicast address, which this "
                     "console is set to refuse.", host=host, address=address)
    return None


def resolved_addresses(host: str) -> list[ipaddress.IPv4Address | ipaddress.IPv6Address]:
    """The addresses a host name resolves to; an IP address is taken as it is, without a lookup."""
    try:
        addresses = [ipaddress.ip_address(host)]
    except ValueError:
        try:
            addresses = [ipaddress.ip_address(info[4][0]) for info in socket.getaddrinfo(host, None)]
        except (OSError, ValueError):
            return []  # an unknown host: connecting to it fails with a message of its own
    return [getattr(address, "ipv4_mapped", None) or address for address in addresses]


def is_valid_tenant(tenant: str) -> bool:
    """Microsoft accepts these tenant forms in its endpoint paths."""
    return tenant.lower() in TENANT_ALIASES or bool(GUID.match(tenant) or DOMAIN.match(tenant))
