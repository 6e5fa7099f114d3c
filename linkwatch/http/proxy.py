"""Forward proxies: which proxy, if any, a request goes through, as curl and pip decide it.

``HTTP_PROXY`` / ``HTTPS_PROXY`` (or their lowercase forms) name the proxy for plain and TLS
requests, ``NO_PROXY`` the hosts reached directly (comma-separated names, ``.domain`` suffixes,
``host:port``, ``*`` for all); ``--proxy URL`` overrides both variables and still honours
``NO_PROXY``. An https URL goes through its proxy in a ``CONNECT`` tunnel: TLS stays end to end
and certificates are verified as without a proxy. Both HTTP clients (the urllib3 thread pool and
the aiohttp bulk path) ask :func:`proxy_for`, so they always agree.
"""
from __future__ import annotations

import urllib.request
from dataclasses import dataclass, field
from urllib.parse import urlsplit


@dataclass(frozen=True)
class Proxies:
    """Proxy URLs by scheme of the request (``http``, ``https``) and the NO_PROXY list."""

    by_scheme: dict[str, str] = field(default_factory=dict)
    no_proxy: str = ""

    def __bool__(self) -> bool:
        return bool(self.by_scheme)


def from_environment(explicit: str | None = None) -> Proxies:
    """The proxies of this process's environment; ``explicit`` (``--proxy``) replaces the variables'."""
    found = dict(urllib.request.getproxies_environment())  # lowercase names win, as in curl
    no_proxy = found.pop("no", "")
    wanted = {s: found[s] for s in ("http", "https") if found.get(s)}
    if explicit:
        wanted = {"http": explicit, "https": explicit}
    return Proxies({s: _with_scheme(p) for s, p in wanted.items()}, no_proxy)


def proxy_for(url: str, proxies: Proxies) -> str | None:
    """The proxy URL a request for ``url`` goes through, None when it goes directly."""
    if not proxies:
        return None
    parts = urlsplit(url)
    proxy = proxies.by_scheme.get(parts.scheme)
    if not proxy:
        return None
    host = parts.hostname or ""
    netloc = f"{host}:{parts.port}" if parts.port else host
    if proxies.no_proxy and urllib.request.proxy_bypass_environment(netloc, {"no": proxies.no_proxy}):
        return None
    return proxy


def shown(proxy: str) -> str:
    """A proxy URL fit for a message: credentials left out (``http://user:pw@host`` → ``http://host``)."""
    parts = urlsplit(proxy)
    host = parts.hostname or ""
    return f"{parts.scheme}://{host}{f':{parts.port}' if parts.port else ''}"


def _with_scheme(proxy: str) -> str:
    """``proxy.example:3128`` → ``http://proxy.example:3128`` (curl's reading of a bare host)."""
    return proxy if "://" in proxy else f"http://{proxy}"
