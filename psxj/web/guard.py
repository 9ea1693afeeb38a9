"""Who may open the interface `psxj serve` runs: the holder of its secret, from a page it served.

Part of the browser view (psxj.web.server serves it; nothing here imports aiohttp). 127.0.0.1 is no
boundary on a shared machine: every local account can connect to it, and so can any web page a
browser on this machine opens (a cross-site WebSocket, or a name of the attacker's that resolves to
127.0.0.1: DNS rebinding). So, as Jupyter's server does:

- a random secret per run (secrets.token_urlsafe: 256 bits), in the path of the one URL psxj prints,
  required for the page, its files and every WebSocket, compared in constant time. In the path, not a
  cookie: cookies are not kept apart by port, so any server another user runs on 127.0.0.1 would get
  it; not in the query string: textual-serve's page adds its own to the WebSocket's URL.
- the Host header must name this machine: an IP address (loopback only, when psxj listens on
  loopback), `localhost`, or, listening elsewhere, this machine's own names. A name of someone
  else's is how DNS rebinding reaches 127.0.0.1; the port is not compared, so that `ssh -L 9000:...`
  to another local port works.
- an Origin header, which browsers send with every WebSocket and cross-site request, must be the
  page's own (http:// and the Host it was served under): a page from elsewhere cannot drive it,
  even one that learnt the secret.
"""

from __future__ import annotations

import hmac
import ipaddress
import secrets
from typing import FrozenSet, Iterable, Optional, Tuple

SECRET_BYTES = 32


def new_secret() -> str:
    return secrets.token_urlsafe(SECRET_BYTES)


def split_host(host: str) -> Tuple[str, Optional[str]]:
    """('name or address', 'port' or None) of a Host header: `a:8000`, `[::1]:8000`, `a`."""
    if host.startswith("["):
        end = host.find("]")
        if end < 0:
            return host, None
        rest = host[end + 1:]
        return host[1:end], rest[1:] if rest.startswith(":") else None
    name, colon, port = host.rpartition(":")
    return (name, port) if colon else (host, None)


def is_loopback(name: str) -> bool:
    if name.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def _is_address(name: str) -> bool:
    try:
        ipaddress.ip_address(name)
        return True
    except ValueError:
        return False


class Guard:
    """The checks of one `psxj serve` run. `secret` None: the owner turned it off (--no-secret)."""

    def __init__(self, secret: Optional[str], loopback: bool, own_names: Iterable[str] = ()) -> None:
        self.secret = secret
        self.loopback = loopback
        self.own_names: FrozenSet[str] = frozenset(n.lower().rstrip(".") for n in own_names if n) | {"localhost"}

    def host_allowed(self, host: Optional[str]) -> bool:
        """The Host header names this machine (see the module's doc)."""
        if not host or len(host) > 300:
            return False
        name, port = split_host(host)
        if port is not None and not (port.isascii() and port.isdigit() and len(port) <= 5):
            return False
        if _is_address(name):
            return is_loopback(name) or not self.loopback
        return name.lower().rstrip(".") in (frozenset({"localhost"}) if self.loopback else self.own_names)

    def origin_allowed(self, origin: Optional[str], host: str) -> bool:
        """No Origin (a program, not a browser page): allowed, the secret decides. Else the page's own."""
        if origin is None:
            return True
        return hmac.compare_digest(origin.encode("utf-8", "surrogateescape"),
                                   f"http://{host}".encode("utf-8", "surrogateescape"))

    def secret_matches(self, given: str) -> bool:
        """The first part of the path is the secret: compared in constant time (no guessing it byte by
        byte from how long a refusal takes)."""
        if self.secret is None:
            return True
        return hmac.compare_digest(given.encode("utf-8", "surrogateescape"), self.secret.encode("ascii"))

    def refusal(self, path: str, host: Optional[str], origin: Optional[str]) -> Optional[str]:
        """Why this request is refused ("host", "origin", "secret"), or None when it may go on."""
        if not self.host_allowed(host):
            return "host"
        if not self.origin_allowed(origin, host or ""):
            return "origin"
        if self.secret is not None and not self.secret_matches(path.lstrip("/").split("/", 1)[0]):
            return "secret"
        return None
