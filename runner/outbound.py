"""Outbound HTTP calls the runner makes to addresses the repo names: safe by default.

Webhook, Slack and PagerDuty URLs come from the status repo (or its secrets), which merge requests
change; a call to one must not reach the runner's own network by surprise (server-side request
forgery: a "webhook" at 169.254.169.254, localhost:8080, 10.0.0.5). So every call:
- goes to http or https only;
- resolves the host first and refuses when any of its addresses is private, loopback, link-local,
  multicast, reserved or unspecified, unless that address is inside a network the repo allows
  (`allow_networks:` in `.gitlab/notifications.yml`, e.g. `[10.20.0.0/16]` for an internal
  relay, `[127.0.0.0/8]` for a test receiver);
- never follows a redirect (a receiver that moved answers 3xx, which is a failure to fix in the
  config: a redirect could otherwise carry the call, and its credentials, elsewhere);
- has a timeout.
Refusals are permanent DeliveryErrors that name the host, never the URL (a Slack webhook URL is a
secret).
"""

from __future__ import annotations

import ipaddress
import socket
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterable, Sequence
from typing import Any

from tidings.errors import TidingsError

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


class Refused(TidingsError):
    """A destination the runner does not call (and why); nothing was sent."""


def networks(allowed: Iterable[str]) -> tuple[Network, ...]:
    return tuple(ipaddress.ip_network(n, strict=False) for n in allowed)


def _public(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return not (
        address.is_private
        or address.is_loopback
        or address.is_link_local
        or address.is_multicast
        or address.is_reserved
        or address.is_unspecified
    )


def check(url: str, allowed: Sequence[Network] = ()) -> None:
    """Raise Refused unless `url` is http(s) to a host whose every address may be called."""
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise Refused("the receiver's URL is not an http(s) URL")
    host = parts.hostname
    try:
        infos = socket.getaddrinfo(host, parts.port or (443 if parts.scheme == "https" else 80))
    except (socket.gaierror, UnicodeError) as exc:
        raise Refused(f"cannot resolve {host}: {exc}") from None
    for info in infos:
        address = ipaddress.ip_address(str(info[4][0]).split("%")[0])
        if not _public(address) and not any(address in network for network in allowed):
            raise Refused(
                f"{host} is a private, loopback or link-local address ({address}); "
                "allow its network in .gitlab/notifications.yml (allow_networks) to call it"
            )


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None  # the 3xx comes back as an HTTPError: a failure, never followed


_OPENER = urllib.request.build_opener(_NoRedirect)


def open_url(request: urllib.request.Request, timeout: float, allowed: Sequence[Network] = ()) -> bytes:
    """Make the call after `check`; its answer's body. Raises Refused, HTTPError, URLError, OSError."""
    check(request.full_url, allowed)
    with _OPENER.open(request, timeout=timeout) as response:
        return bytes(response.read())
