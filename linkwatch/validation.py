"""Every option of a run checked once, before any work, for the command line and the API alike.

:class:`OptionError` names the option as both spell it (``timeout (--timeout)``) and says what it
must be. Checked here rather than by argparse so that ``linkwatch.check(..., concurrency=0)`` is
refused exactly as ``--concurrency 0`` is, and so that nothing slips through as a value neither
catches: ``nan`` and ``inf`` compare false with everything, a missing ``--ca-bundle`` file was only
noticed when a connection needed it.
"""
from __future__ import annotations

import ipaddress
import math
import ssl
from dataclasses import fields
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

if TYPE_CHECKING:
    from .run import Options


class OptionError(ValueError):
    """A run option has a value linkwatch cannot work with (exit 2)."""

    def __init__(self, name: str, message: str) -> None:
        super().__init__(f"{name} (--{name.replace('_', '-')}): {message}")
        self.name = name


# name → (kind, lowest, lowest allowed itself?); kinds: "int", "number" (finite), "bool"
_RANGES: dict[str, tuple[str, float, bool]] = {
    "concurrency": ("int", 1, True), "per_host": ("int", 1, True), "retries": ("int", 0, True),
    "max_size": ("int", 1, True), "transient": ("int", 1, True), "inspect_memory_mb": ("int", 64, True),
    "timeout": ("number", 0, False), "inspect_timeout": ("number", 0, False),
    "min_interval": ("number", 0, True), "backoff": ("number", 0, True), "retry_after_cap": ("number", 0, True),
    "min_rate": ("number", 0, True), "max_time": ("number", 0, False), "max_document_time": ("number", 0, False),
    "progress": ("bool", 0, True), "suggest": ("bool", 0, True), "availability_only": ("bool", 0, True),
    "allow_internal_redirects": ("bool", 0, True),
}
_OPTIONAL = {"max_time", "max_document_time"}  # None: no limit


def check_options(options: Options) -> None:
    """Raise :class:`OptionError` for the first option whose value cannot work."""
    for f in fields(options):
        value = getattr(options, f.name)
        if f.name in _RANGES and not (value is None and f.name in _OPTIONAL):
            _check_range(f.name, value, *_RANGES[f.name])
    _check_shard(options.shard)
    _check_ca_bundle(options.ca_bundle)
    for name in ("cdx_url", "replay_url"):
        url = getattr(options, name)
        if url is not None and (not isinstance(url, str) or urlsplit(url).scheme not in ("http", "https")
                                or not urlsplit(url).hostname):
            raise OptionError(name, f"must be an http(s) URL, not {url!r}")
    if not isinstance(options.archive, (str, Path)):
        raise OptionError("archive", f"must be a folder path, not {type(options.archive).__name__}")
    _check_hosts(options.host_headers)
    if options.internal_networks is not None:
        for net in options.internal_networks:
            try:
                ipaddress.ip_network(net, strict=False)
            except (TypeError, ValueError):
                raise OptionError("internal_networks", f"{net!r} is not a network (CIDR, e.g. 10.0.0.0/8)") from None


def _check_range(name: str, value: Any, kind: str, lowest: float, inclusive: bool) -> None:
    if kind == "bool":
        if not isinstance(value, bool):
            raise OptionError(name, f"must be true or false, not {value!r}")
        return
    if isinstance(value, bool) or not isinstance(value, (int, float)) or (kind == "int" and not isinstance(value, int)):
        raise OptionError(name, f"must be {'a whole number' if kind == 'int' else 'a number'}, not {value!r}")
    if not math.isfinite(value):
        raise OptionError(name, f"must be a finite number, not {value!r}")
    if value < lowest or (value == lowest and not inclusive):
        raise OptionError(name, f"must be {'at least' if inclusive else 'more than'} {lowest:g}, not {value!r}")


def _check_shard(shard: Any) -> None:
    if shard is None:
        return
    ok = (isinstance(shard, tuple) and len(shard) == 2 and all(isinstance(x, int) and not isinstance(x, bool)
                                                                for x in shard) and 1 <= shard[0] <= shard[1])
    if not ok:
        raise OptionError("shard", f"must be (K, N) with 1 <= K <= N, not {shard!r}")


def _check_ca_bundle(bundle: Any) -> None:
    """The file must exist and hold certificates TLS can load: checked now, not at the first
    https connection (the bulk client's session refused to start, a traceback, on a re-run)."""
    if bundle is None:
        return
    if not isinstance(bundle, (str, Path)) or not Path(bundle).is_file():
        raise OptionError("ca_bundle", f"{bundle!r} is not a file (a PEM file of CA certificates)")
    try:
        ssl.create_default_context(cafile=str(bundle))
    except (ssl.SSLError, OSError, ValueError) as exc:
        raise OptionError("ca_bundle", f"{bundle}: no CA certificate could be loaded from it ({exc})") from None


def _check_hosts(host_headers: Any) -> None:
    if not isinstance(host_headers, dict):
        raise OptionError("host_headers", "must be {\"host\" or \"host:port\": {header: value}}")
    from .http.client import origin_key

    for host, headers in host_headers.items():
        try:
            origin_key(host)
        except (ValueError, TypeError, AttributeError):
            raise OptionError("host_headers", f"{host!r} is not a host name or host:port") from None
        if not isinstance(headers, dict) or not all(isinstance(k, str) and isinstance(v, str)
                                                    and not any(c in v for c in "\r\n\0") for k, v in headers.items()):
            raise OptionError("host_headers", f"{host}: headers must be {{name: value}} strings without line breaks")
