"""Who a request comes from: the connection's address, or the client a trusted proxy names.

X-Forwarded-For is a header anyone can send, so it is believed only from the proxies that
AIGC_TRUSTED_PROXIES names (addresses or networks): walking it from the right, each hop added by a
trusted proxy is skipped, and the first address a trusted proxy did not add is the client. With no
trusted proxy (the default) the header is ignored and the client is the connection's peer.
"""

import functools
import ipaddress

from django.conf import settings


@functools.lru_cache(maxsize=8)
def _networks(proxies: tuple[str, ...]) -> tuple:
    return tuple(ipaddress.ip_network(proxy.strip(), strict=False) for proxy in proxies if proxy.strip())


def _trusted(address: str, networks) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in network for network in networks)


def client_address(request) -> str:
    """The client's IP address for rate limits, lockouts and the audit log ("" when unknown)."""
    remote = request.META.get("REMOTE_ADDR") or ""
    networks = _networks(tuple(settings.AIGC_TRUSTED_PROXIES))
    if not networks or not _trusted(remote, networks):
        return remote
    hops = [hop.strip() for hop in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if hop.strip()]
    for hop in reversed(hops):
        if not _trusted(hop, networks):
            try:
                return str(ipaddress.ip_address(hop))
            except ValueError:  # not an address: the last trusted proxy's peer is all that is known
                return remote
        remote = hop
    return remote
