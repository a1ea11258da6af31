"""Who may read the metrics: a scraper on this machine, or one that knows the configured token."""

import hmac
from ipaddress import ip_address


def may_scrape(remote_addr: str | None, authorization: str | None, token: str | None) -> bool:
    """From a loopback address (as the ProxyFix of TRUSTED_PROXIES reports it), or with the bearer token."""
    return is_loopback(remote_addr) or bearer_matches(authorization, token)


def is_loopback(remote_addr: str | None) -> bool:
    """127.0.0.0/8, ::1 or an IPv4-mapped loopback address; anything unparsable is not."""
    try:
        address = ip_address(remote_addr or "")
    except ValueError:
        return False
    return (getattr(address, "ipv4_mapped", None) or address).is_loopback


def bearer_matches(authorization: str | None, token: str | None) -> bool:
    """An `Authorization: Bearer` header carrying the token, compared in constant time; never when none is set.
    The token is taken as text: DDE_METRICS_TOKEN=12345 reaches the config as a number."""
    scheme, _, supplied = (authorization or "").partition(" ")
    if token is None or str(token) == "" or scheme.lower() != "bearer":
        return False
    return hmac.compare_digest(supplied.strip().encode(), str(token).encode())
