"""A way back for dead links: ask a web archive's CDX API for a capture of a cited URL.

When a document is ``broken``, ``unreachable`` or ``wrong-document`` and ``--suggest`` is on, the
worker that observed it asks a CDX server (the Wayback Machine's by default; any server speaking
the same JSON, such as pywb's, will do) for the captures of the URL answered with HTTP 200, closest
to the last time linkwatch saw the document ``ok``::

    GET <cdx>?url=<url>&output=json&fl=urlkey,timestamp,original,mimetype,statuscode,digest,length
             &filter=statuscode:200&closest=<yyyymmddhhmmss>&sort=closest&limit=5

The answer is a JSON array whose first row names the fields and whose other rows are captures
(``[]`` when there are none). The capture reported is the closest one, or the closest one whose
``digest`` (base32 SHA-1 of the payload) is the digest of the version linkwatch archived, when one
is. Its replay URL is ``<replay base><timestamp>/<original>``, the replay base derived from the
CDX URL (``…/cdx/search/cdx`` → ``…/web/``) unless given.

The archive service failing (timeout, HTTP 500, garbage, a bot challenge) never fails the run:
it becomes an ``info`` finding saying so. HTTP goes through :class:`linkwatch.http.fetcher.Fetcher` (its
own instance: a small size cap, its own politeness budget for the archive's host).
"""
from __future__ import annotations

import json
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from pathlib import Path
from urllib.parse import urlencode, urlsplit, urlunsplit

from .compare import Finding
from .http.client import FetchConfig
from .http.fetcher import Fetcher
from .store.warc import payload_digest

DEFAULT_CDX_URL = "https://web.archive.org/cdx/search/cdx"
#: Statuses for which a capture is looked up.
SUGGEST_FOR = frozenset({"broken", "unreachable", "wrong-document"})
#: Captures asked for: enough to find one with the archived version's digest near the closest.
LIMIT = 5
#: Largest CDX answer accepted (5 short rows are well under 2 KB).
MAX_ANSWER = 256 * 1024
FIELDS = ("urlkey", "timestamp", "original", "mimetype", "statuscode", "digest", "length")
_TIMESTAMP = re.compile(r"^\d{4,14}$")


@dataclass(frozen=True)
class Memento:
    """One capture of a URL in a web archive."""

    url: str  # where to replay it
    original: str  # the URL that was captured
    at: str  # ISO 8601 UTC, from the CDX timestamp
    digest: str | None  # "sha1:<BASE32>" of the payload, as the CDX reported it
    matches: bool | None  # same payload as the version linkwatch archived (None: nothing to compare)


@dataclass(frozen=True)
class Lookup:
    """What asking the web archive about one URL gave: a capture, none, or an error."""

    url: str  # the URL asked about
    memento: Memento | None = None
    error: str | None = None

    def finding(self) -> Finding:
        """An ``info`` finding ``suggestion`` describing the outcome (never more than info)."""
        m = self.memento
        if self.error is not None:
            return Finding("suggestion", "info", f"could not ask the web archive about {self.url}: {self.error}")
        if m is None:
            return Finding("suggestion", "info", f"no capture of {self.url} answered with HTTP 200 in the web archive")
        same = {True: "the same bytes as the version linkwatch archived",
                False: "not the same bytes as the version linkwatch archived",
                None: "no archived version to compare it with"}[m.matches]
        when = m.at.replace("T", " ").replace("Z", " UTC")
        return Finding("suggestion", "info", f"a web archive capture from {when} may stand in for it: {m.url} ({same})")


class CdxError(ValueError):
    """The CDX server answered something that is not a CDX JSON result."""


def replay_base(cdx_url: str) -> str:
    """Where captures are replayed, derived from the CDX endpoint.

    ``https://web.archive.org/cdx/search/cdx`` → ``https://web.archive.org/web/``;
    a pywb collection ``http://host/coll/cdx`` → ``http://host/coll/``; otherwise ``<origin>/web/``.
    """
    parts = urlsplit(cdx_url)
    path = parts.path.rstrip("/")
    for suffix in ("/cdx/search/cdx", "/cdx/search", "/cdx"):
        if path.endswith(suffix):
            base = path[: -len(suffix)]
            base = base + "/web/" if suffix != "/cdx" or not base else base + "/"
            return urlunsplit((parts.scheme, parts.netloc, base, "", ""))
    return urlunsplit((parts.scheme, parts.netloc, "/web/", "", ""))


def cdx_timestamp(iso: str | None) -> str:
    """``2024-05-01T12:30:00Z`` → ``20240501123000`` (now, when None)."""
    if iso is None:
        return datetime.now(timezone.utc).strftime("%Y%m%d%H%M%S")
    digits = re.sub(r"\D", "", iso)[:14]
    return digits.ljust(14, "0")


def iso_time(timestamp: str) -> str:
    """``20240501123000`` → ``2024-05-01T12:30:00Z`` (a short timestamp is padded: ``2024`` → Jan 1)."""
    t = timestamp.ljust(14, "0")
    month, day = t[4:6] if t[4:6] != "00" else "01", t[6:8] if t[6:8] != "00" else "01"
    return f"{t[:4]}-{month}-{day}T{t[8:10]}:{t[10:12]}:{t[12:14]}Z"


def query_url(cdx_url: str, url: str, near: str | None, limit: int = LIMIT) -> str:
    """The CDX request for captures of ``url`` answered 200, closest to ``near`` (ISO 8601)."""
    params = {"url": url, "output": "json", "fl": ",".join(FIELDS), "filter": "statuscode:200",
              "closest": cdx_timestamp(near), "sort": "closest", "limit": str(limit)}
    sep = "&" if urlsplit(cdx_url).query else "?"
    return cdx_url + sep + urlencode(params)


def parse_cdx(data: bytes) -> list[dict[str, str]]:
    """Rows of a CDX JSON answer as dicts keyed by field name. Raises :class:`CdxError`."""
    text = data.decode("utf-8", "replace").strip()
    if not text:
        return []  # some CDX servers answer "no captures" with an empty body
    try:
        rows = json.loads(text)
    except (ValueError, RecursionError):  # RecursionError: "[[[[…" nested deeper than Python recurses
        raise CdxError("the answer is not JSON") from None
    if not isinstance(rows, list) or not all(isinstance(r, list) for r in rows):
        raise CdxError("the answer is not a JSON array of rows")
    if not rows:
        return []
    header = rows[0]
    if not all(isinstance(h, str) for h in header) or "timestamp" not in header or "original" not in header:
        raise CdxError("the first row does not name the fields (timestamp, original…)")
    return [{h: str(v) for h, v in zip(header, row)} for row in rows[1:]]


class Wayback:
    """Looks up captures; thread-safe (the fetcher is), one instance per run."""

    def __init__(self, fetcher: Fetcher, tmp: Path, cdx_url: str = DEFAULT_CDX_URL,
                 replay_url: str | None = None) -> None:
        self.fetcher, self.tmp, self.cdx_url = fetcher, Path(tmp), cdx_url
        base = replay_url or replay_base(cdx_url)
        self.replay = base if base.endswith("/") else base + "/"

    def lookup(self, url: str, near: str | None, archived: Path | None) -> Lookup:
        """Captures of ``url`` closest to ``near`` (the last good observation's time; None: now).

        ``archived``: the blob of the version linkwatch archived, if any, to compare digests with.
        Never raises for the service's trouble: that is ``Lookup.error``.
        """
        fetched = self.fetcher.fetch(query_url(self.cdx_url, url, near), self.tmp)
        try:
            if fetched.error is not None or fetched.http_status != 200:
                return Lookup(url, error=fetched.error or f"HTTP {fetched.http_status}")
            if fetched.body_path is None:
                return Lookup(url)
            try:
                rows = parse_cdx(Path(fetched.body_path).read_bytes())
            except CdxError as exc:
                return Lookup(url, error=str(exc))
        finally:
            if fetched.body_path is not None:
                Path(fetched.body_path).unlink(missing_ok=True)
        captures = [c for c in (self._capture(row, url) for row in rows) if c is not None]
        if not captures:
            return Lookup(url)
        ours = _sha1(archived)
        if ours is None:
            return Lookup(url, _with_match(captures[0], None))
        matching = [c for c in captures if c.digest == ours]
        if matching:
            return Lookup(url, _with_match(matching[0], True))
        closest = captures[0]
        return Lookup(url, _with_match(closest, False if closest.digest else None))

    def _capture(self, row: dict[str, str], asked: str) -> Memento | None:
        timestamp = row.get("timestamp", "")
        if not _TIMESTAMP.match(timestamp):
            return None
        if row.get("statuscode") not in (None, "200", "-"):
            return None  # the filter asked for 200 only; a server ignoring it is not trusted
        original = row.get("original", "")
        if urlsplit(original).scheme.lower() not in ("http", "https") or any(c in original for c in " \r\n\t"):
            original = asked
        digest = row.get("digest", "").strip().upper().removeprefix("SHA1:")
        return Memento(url=f"{self.replay}{timestamp}/{original}", original=original, at=iso_time(timestamp),
                       digest=f"sha1:{digest}" if re.fullmatch(r"[A-Z2-7]{32}", digest) else None, matches=None)


@contextmanager
def open_wayback(enabled: bool, config: FetchConfig, tmp: Path, cdx_url: str = DEFAULT_CDX_URL,
                 replay_url: str | None = None) -> Iterator[Wayback | None]:
    """A :class:`Wayback` with its own fetcher (the run's timeouts, a small size cap, at most two
    retries, one request at a time to the archive), or None when not ``enabled``."""
    if not enabled:
        yield None
        return
    lookups = replace(config, max_size=MAX_ANSWER, retries=min(config.retries, 2), per_host=1)
    with Fetcher(lookups) as fetcher:
        yield Wayback(fetcher, tmp, cdx_url, replay_url)


def _sha1(path: Path | None) -> str | None:
    if path is None or not Path(path).is_file():
        return None
    return "sha1:" + payload_digest(Path(path)).split(":", 1)[1].upper()


def _with_match(m: Memento, matches: bool | None) -> Memento:
    return Memento(m.url, m.original, m.at, m.digest, matches)
