"""What a subscriber's address may be: an e-mail address, or a webhook URL at a public address.

A webhook URL is fetched by the runner, so a reader could aim it at the runner's own network (the
cloud metadata service at 169.254.169.254, an admin port on 127.0.0.1): server-side request
forgery. Its host must resolve, and every address it resolves to must be a public one, unless the
site allows private ones (`subscribers.allow_private_webhooks`, for an intranet); then plain http
is accepted too, elsewhere https only (the challenge carries the subscriber's signing secret).
The check is made when subscribing and again at every delivery, and the delivery connects to the
address that was checked (runner/subscribers/webhook.py), so a DNS answer that changes in between
cannot get around it.
"""

from __future__ import annotations

import ipaddress
import re
import socket
from dataclasses import dataclass
from email.errors import HeaderParseError
from email.headerregistry import Address
from urllib.parse import urlsplit

MAX_EMAIL = 254
MAX_URL = 2000
# A pragmatic address: one @, a dot in the domain, no spaces or controls; what SMTP servers accept.
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,62}[A-Za-z0-9])?"
_EMAIL = re.compile(rf"^[A-Za-z0-9.!#$%&'*+/=?^_`{{|}}~-]{{1,64}}@{_LABEL}(?:\.{_LABEL})+$")


class AddressError(ValueError):
    """The address cannot be subscribed; the message says why, for the reader."""


def email_address(text: str) -> str:
    """The address as stored: trimmed and lowercased, so one mailbox is one subscriber."""
    address = text.strip()
    if not address or len(address) > MAX_EMAIL or not _EMAIL.match(address) or ".." in address:
        raise AddressError("That is not an e-mail address such as name@example.com.")
    try:
        Address(addr_spec=address)
    except (ValueError, HeaderParseError):
        raise AddressError("That is not an e-mail address such as name@example.com.") from None
    return address.lower()


@dataclass(frozen=True)
class Target:
    """Where a webhook is delivered: the URL's parts and the address its host was checked at."""

    scheme: str
    host: str
    port: int
    path: str  # with its query
    ip: str


def webhook_url(text: str, allow_private: bool) -> str:
    """The URL as stored, after checking its form (not its host's addresses: see `resolve`)."""
    url = text.strip()
    if not url or len(url) > MAX_URL or any(c.isspace() or ord(c) < 32 for c in url):
        raise AddressError("That is not a webhook URL such as https://hooks.example.com/status.")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise AddressError("That is not a webhook URL such as https://hooks.example.com/status.") from None
    schemes = ("https", "http") if allow_private else ("https",)
    if parts.scheme not in schemes or not parts.hostname:
        raise AddressError("A webhook URL must start with https:// and name a host.")
    if parts.username is not None or parts.password is not None:
        raise AddressError("A webhook URL may not hold a user name or password.")
    if parts.fragment:
        raise AddressError("A webhook URL may not have a #fragment.")
    if port == 0:
        raise AddressError("That is not a webhook URL such as https://hooks.example.com/status.")
    return url


def is_public(ip: str) -> bool:
    """Whether an address is reachable on the internet at large (not private, loopback, link-local,
    multicast, reserved or unspecified; an IPv4-mapped IPv6 address is judged as its IPv4 one)."""
    address = ipaddress.ip_address(ip.split("%", 1)[0])
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address.is_global and not address.is_multicast


def resolve(url: str, allow_private: bool) -> Target:
    """The URL's host resolved and checked; AddressError when it does not resolve or resolves to
    an address the site does not allow (every one it resolves to must pass)."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError):
        raise AddressError("The webhook's host name does not resolve.") from None
    ips = sorted({str(info[4][0]) for info in infos})
    if not ips:
        raise AddressError("The webhook's host name does not resolve.")
    if not allow_private and not all(is_public(ip) for ip in ips):
        raise AddressError("Webhooks must be at a public address: this one is private, loopback or reserved.")
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    return Target(parts.scheme, host, port, path, ips[0])
