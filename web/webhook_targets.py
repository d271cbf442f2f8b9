"""Where a webhook may deliver: the rule, checked when a hook is registered and again before every
attempt (a name that resolved to a public address at registration may resolve to the server's own
Redis later), and the address an attempt then connects to, so what was checked is what is reached.

By default a target must resolve only to global addresses: loopback, private ranges, link-local
(the cloud metadata address 169.254.169.254 among them), shared (100.64/10), unspecified and
reserved addresses are refused, as are URLs with a user or password in them. The allow-list
setting (`JD_WEBHOOK_ALLOW`) widens or narrows that: a network (`10.20.0.0/16`, `127.0.0.1`)
admits addresses inside it; host names (`hooks.hospital.example`, or `.hospital.example` for a
domain) limit targets to those names. Redirects are never followed (a 3xx is a failed attempt),
so a receiver cannot send a delivery on to somewhere the rule would refuse."""

import asyncio
import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

IP = ipaddress.IPv4Address | ipaddress.IPv6Address


class TargetRefused(Exception):
    """Not a place a webhook may go; the message says why, without any internal detail."""


@dataclass(frozen=True)
class Target:
    url: str  # as registered
    host: str  # the name, for the Host header and TLS
    address: str  # the checked address the attempt connects to

    @property
    def connect_url(self) -> str:
        parts = urlsplit(self.url)
        host = f"[{self.address}]" if ":" in self.address else self.address
        netloc = f"{host}:{parts.port}" if parts.port else host
        return urlunsplit((parts.scheme, netloc, parts.path or "/", parts.query, ""))

    @property
    def host_header(self) -> str:
        parts = urlsplit(self.url)
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{parts.port}" if parts.port else host


def _address(text: str) -> IP | None:
    try:
        return ipaddress.ip_address(text.strip("[]"))
    except ValueError:
        return None


def _plain(ip: IP) -> IP:
    """An IPv4 address written as IPv6 (::ffff:127.0.0.1) is judged as the IPv4 it is."""
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    return ip


class TargetRules:
    def __init__(self, allow: list[str]) -> None:
        self.networks: list[ipaddress.IPv4Network | ipaddress.IPv6Network] = []
        self.names: list[str] = []
        for entry in allow:
            entry = entry.strip().lower()
            if not entry:
                continue
            try:
                self.networks.append(ipaddress.ip_network(entry, strict=False))
            except ValueError:
                self.names.append(entry)

    def _in_networks(self, ip: IP) -> bool:
        return any(ip.version == n.version and ip in n for n in self.networks)

    def _name_allowed(self, host: str) -> bool:
        if not self.names:
            return True
        return any(host == n or (n.startswith(".") and host.endswith(n)) for n in self.names)

    def parse(self, url: str) -> tuple[str, int]:
        """(host, port) of a URL a hook may have, or TargetRefused."""
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https"):
            raise TargetRefused("a webhook URL is http or https")
        if parts.username is not None or parts.password is not None or "@" in parts.netloc:
            raise TargetRefused("a webhook URL carries no user or password: sign with the secret instead")
        host = (parts.hostname or "").lower()
        if not host:
            raise TargetRefused("the URL names no host")
        literal = _address(host)
        if literal is None and not self._name_allowed(host):
            raise TargetRefused(f"{host} is not in the allow-list (JD_WEBHOOK_ALLOW)")
        if literal is not None and self.names and not self._in_networks(_plain(literal)):
            raise TargetRefused(f"{host} is not in the allow-list (JD_WEBHOOK_ALLOW)")
        try:
            port = parts.port or (443 if parts.scheme == "https" else 80)
        except ValueError:
            raise TargetRefused("the URL's port is not a port") from None
        return host, port

    def judge(self, host: str, addresses: list[str]) -> str:
        """The address to connect to, if every address the host has is allowed."""
        if not addresses:
            raise TargetRefused(f"{host} does not resolve")
        for text in addresses:
            ip = _address(text)
            if ip is None:
                raise TargetRefused(f"{host} resolves to something that is not an address")
            plain = _plain(ip)
            if not plain.is_global and not self._in_networks(plain):
                # said without the address itself when the name was not one: no map of the inside
                shown = f" ({plain})" if _address(host) is not None or host == "localhost" else ""
                raise TargetRefused(f"{host} is an internal address{shown}: webhooks go to public "
                                    "addresses, or to networks named in JD_WEBHOOK_ALLOW")
        return addresses[0]

    async def resolve(self, url: str) -> Target:
        host, port = self.parse(url)
        literal = _address(host)
        if literal is not None:
            addresses = [str(literal)]
        else:
            try:
                found = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
            except (socket.gaierror, UnicodeError):
                raise TargetRefused(f"{host} does not resolve") from None
            addresses = list(dict.fromkeys(str(info[4][0]) for info in found))
        return Target(url, host, self.judge(host, addresses))
