"""Where webhooks may be sent: public addresses only, unless the administrator allows more.

A webhook makes Dialflow post to a URL an administrator typed, from inside the company's
network; aimed at ``127.0.0.1``, ``169.254.169.254`` (a cloud's metadata service) or a LAN
host, it would reach services no one meant to expose. So loopback, link-local, unspecified,
multicast, private and other non-public addresses are refused, except the networks and host
names of ``DIALFLOW_WEBHOOK_ALLOWED_TARGETS`` (on-premise teams run receivers on their LAN).

The check runs twice. When a subscription is saved, on what the URL itself says (an address,
in any form the resolver reads as one, or ``localhost``); no DNS look-up there, since a
request should not wait on DNS and the answer may change. When a delivery is sent, on every
address the host name resolves to, and the connection goes to a checked address
(``crm.webhooks.transport``): that one is authoritative.
"""

from __future__ import annotations

import contextlib
import ipaddress
import socket
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from dialflow.settings import Settings

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
REFUSED_CODE = "webhook_target_refused"

# Why an address is refused, for the recorded error and the API's message.
KINDS = {
    "loopback": "a loopback address (this machine)",
    "link-local": "a link-local address (such as the cloud metadata service 169.254.169.254)",
    "unspecified": "an unspecified address",
    "multicast": "a multicast address",
    "private": "a private network address",
    "reserved": "a reserved, non-public address",
}


def kind_of(address: IPAddress) -> str | None:
    """The kind of internal address ``address`` is (a key of :data:`KINDS`), or None when it
    is a public one. An IPv4 address written as IPv6 (``::ffff:127.0.0.1``) counts as IPv4."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    if address.is_unspecified:
        return "unspecified"
    if address.is_loopback:
        return "loopback"
    if address.is_link_local:
        return "link-local"
    if address.is_multicast:
        return "multicast"
    if address.is_private:
        return "private"
    if not address.is_global:  # shared (carrier-grade NAT), reserved, documentation ranges
        return "reserved"
    return None


@dataclass(frozen=True)
class TargetPolicy:
    """The allowance: networks whose addresses, and host names whose every address, may be
    sent to although internal. The default allows nothing internal."""

    networks: tuple[IPNetwork, ...] = ()
    hosts: tuple[str, ...] = ()  # exact names, or "*.example.lan" for its subdomains

    @classmethod
    def from_settings(cls, settings: Settings) -> TargetPolicy:
        return cls(settings.webhook_allowed_networks, settings.webhook_allowed_hosts)

    def host_allowed(self, host: str) -> bool:
        name = _bare(host)
        for allowed in self.hosts:
            if allowed.startswith("*."):
                if name.endswith(allowed[1:]):
                    return True
            elif name == allowed:
                return True
        return False

    def refusal(self, address: IPAddress) -> str | None:
        """Why ``address`` may not be sent to (a kind of :data:`KINDS`), or None."""
        kind = kind_of(address)
        if kind is None:
            return None
        plain = address.ipv4_mapped if isinstance(address, ipaddress.IPv6Address) else None
        for network in self.networks:
            if address in network or (plain is not None and plain in network):
                return None
        return kind

    def url_host_refusal(self, host: str) -> str | None:
        """Why a subscription may not name ``host`` (an address, or ``localhost``), or None;
        other names are checked when sent, once resolved."""
        name = _bare(host)
        if self.host_allowed(name):
            return None
        if name == "localhost" or name.endswith(".localhost"):
            return None if _in_networks(self.networks, "127.0.0.1", "::1") else "loopback"
        for address in numeric_addresses(name):
            kind = self.refusal(address)
            if kind:
                return kind
        return None


def message(host: str, kind: str, address: IPAddress | None = None) -> str:
    """The sentence a user reads about a refused target."""
    resolved = address is not None and str(address) != _bare(host)
    where = f"{host} resolves to {address}, " if resolved else f"{host} is "
    return (
        f"{where}{KINDS[kind]}; webhooks go only to public addresses unless "
        "DIALFLOW_WEBHOOK_ALLOWED_TARGETS allows it."
    )


def numeric_addresses(host: str) -> list[IPAddress]:
    """The addresses ``host`` names without DNS: dotted, IPv6, and the forms resolvers also
    read as addresses (``127.1``, ``2130706433``, ``0x7f.1``); empty for a host name."""
    try:
        infos = socket.getaddrinfo(host, None, flags=socket.AI_NUMERICHOST)
    except (socket.gaierror, UnicodeError, ValueError):
        # An IPv6 address with a zone this machine has no interface of (``fe80::1%25eth9``,
        # as RFC 6874 writes ``%`` in a URL) is still that address.
        address, zone, _ = host.partition("%")
        with contextlib.suppress(ValueError):
            return [ipaddress.IPv6Address(address)] if zone else []
        return []
    return unique_addresses(str(info[4][0]) for info in infos)


def unique_addresses(raw: Iterable[str]) -> list[IPAddress]:
    """Addresses from resolver results, in order, each once (an IPv6 zone dropped)."""
    found: list[IPAddress] = []
    for text in raw:
        address = ipaddress.ip_address(text.split("%", 1)[0])
        if address not in found:
            found.append(address)
    return found


def _in_networks(networks: tuple[IPNetwork, ...], *addresses: str) -> bool:
    return any(ipaddress.ip_address(a) in n for a in addresses for n in networks)


def _bare(host: str) -> str:
    return host.strip("[]").rstrip(".").lower()
