"""Stage 1: read a manifest (TOML) into :class:`Document` entries, or say exactly what is wrong.

A manifest is written by people and read by CI, so every mistake is reported as
``file:line: field: what is wrong`` (a :class:`ManifestError`) and never as a traceback.
``tomllib`` gives no line numbers for values, so :class:`_Lines` finds them in the source text.
"""
from __future__ import annotations

import bisect
import os
import re
import sys
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from .un import resolve as unresolve
from .un import symbols as unsymbols

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python 3.10 only
    import tomli as tomllib

KINDS = ("pdf", "page")
MANIFEST_KEYS = {"title": str, "source": str}
DEFAULT_KEYS = {"lang": str, "kind": str, "suggest": bool}
DOCUMENT_KEYS = {
    "id": str,
    "symbol": str,
    "title": str,
    "lang": str,
    "url": str,
    "mirrors": (list, str),  # a list of URLs, or "auto"
    "kind": str,
    "note": str,
}
TOP_LEVEL_KEYS = ("manifest", "defaults", "document", "hosts")
HOST_KEYS = {"headers": dict}
_HEADER_NAME = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")  # an HTTP token (RFC 9110 §5.1)
_LANG = re.compile(r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})?$")
# Checked with fullmatch: "$" would also match before a final newline (an id "a\n" passed).
_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")


#: The line a problem with the whole file is reported at (a missing file, no documents): a line
#: CI annotations can attach to (GitHub drops line=0).
FILE_LINE = 1

#: ``missing_secret(line, field, variable)``: see :func:`parse`.
MissingSecret = Callable[[int, str, str], None]


class ManifestError(Exception):
    """A manifest problem, located: ``file:line: field: message``."""

    def __init__(self, path: str, line: int, field: str, message: str) -> None:
        super().__init__(f"{path}:{line}: {field}: {message}")
        self.path, self.line, self.field, self.message = path, line, field, message


@dataclass(frozen=True, slots=True)  # slots: a 100,000-document manifest is ~25 MB smaller
class Document:
    """One cited document: what is cited and where it is published."""

    id: str
    url: str
    symbols: tuple[str, ...] = ()  # expected own symbols, joint symbols split and normalised
    symbol: str | None = None  # as written in the manifest
    title: str | None = None
    lang: str | None = None
    mirrors: tuple[str, ...] = ()
    kind: str = "pdf"
    note: str | None = None
    suggest: bool = False  # [defaults] suggest = true: look up a web archive capture when it fails
    manifest: str = ""  # path of the manifest file, as given
    line: int = 0  # line of this document's [[document]] header

    @property
    def urls(self) -> tuple[str, ...]:
        """The primary URL, then the mirrors, in the order to try them."""
        return (self.url, *self.mirrors)

    @property
    def display_symbol(self) -> str:
        return " – ".join(self.symbols)


@dataclass(frozen=True)
class Host:
    """``[hosts."example.org"]``: request headers sent to one host only (credentials, typically)."""

    name: str  # "host" (its scheme's default port) or "host:port"; ASCII (IDNA), lowercase
    headers: tuple[tuple[str, str], ...]  # (name, value), values resolved from env: references
    secrets: frozenset[str] = frozenset()  # the values that came from env: (never recorded or shown)
    line: int = 0

    def __repr__(self) -> str:  # never print a secret, even in a traceback or a debugger
        return f"Host({self.name!r}, headers={[n for n, _ in self.headers]}, line={self.line})"


@dataclass(frozen=True)
class Manifest:
    path: str
    documents: tuple[Document, ...]
    title: str | None = None
    source: str | None = None
    hosts: tuple[Host, ...] = ()


def load(path: str | Path, resolvers: unresolve.Resolvers = unresolve.DEFAULT, *,
         allow_empty: bool = False) -> Manifest:
    """Read and validate one manifest file. Raises :class:`ManifestError`.

    ``resolvers`` are the base URLs used for symbol-only entries and ``mirrors = "auto"``;
    ``allow_empty``: a manifest with no document is not an error (``discover --merge`` fills one)."""
    name = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ManifestError(name, FILE_LINE, "file", "no such file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ManifestError(name, FILE_LINE, "file", f"cannot read: {exc}") from None
    return parse(text, name, resolvers, allow_empty=allow_empty)


def load_all(paths: list[str] | list[Path], resolvers: unresolve.Resolvers = unresolve.DEFAULT) -> list[Manifest]:
    """Read several manifests; a document id may appear only once across them (it keys the index)."""
    manifests = [load(p, resolvers) for p in paths]
    duplicates = duplicate_ids([d for m in manifests for d in m.documents])
    if duplicates:
        doc, first = duplicates[0]
        more = f"; {len(duplicates) - 1} more duplicate(s), 'linkwatch lint' lists them" if len(duplicates) > 1 else ""
        raise ManifestError(doc.manifest, doc.line, "id",
                            f"duplicate id {doc.id!r} (first at {first.manifest}:{first.line}){more}")
    return manifests


def duplicate_ids(documents: list[Document]) -> list[tuple[Document, Document]]:
    """Every document whose id an earlier one already has, with that earlier one (ids key the index)."""
    seen: dict[str, Document] = {}
    found = []
    for doc in documents:
        if doc.id in seen:
            found.append((doc, seen[doc.id]))
        else:
            seen[doc.id] = doc
    return found


def parse(text: str, name: str = "<manifest>", resolvers: unresolve.Resolvers = unresolve.DEFAULT, *,
          allow_empty: bool = False, missing_secret: MissingSecret | None = None) -> Manifest:
    """Validate manifest TOML text; ``name`` is used in error messages.

    A manifest with no document is an error unless ``allow_empty``. ``missing_secret(line, field,
    variable)``, when given, is told about an ``env:`` variable that is not set (the header is then
    left out) instead of that being an error: ``linkwatch lint`` warns, ``check`` refuses."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ManifestError(name, _toml_error_line(exc), "syntax", _toml_error_message(exc)) from None
    lines = _Lines(text)
    for key in data:
        if key not in TOP_LEVEL_KEYS:
            hint = _close_match(key, dict.fromkeys(TOP_LEVEL_KEYS, str))
            if hint:
                hint = f" (did you mean [[document]]?)" if "document" in hint else hint
            raise ManifestError(name, lines.header(key) or lines.key(None, key) or FILE_LINE, _key(key),
                                f"unknown table or key{hint} (expected one of: {', '.join(TOP_LEVEL_KEYS)})")
    head = _table(data, "manifest", MANIFEST_KEYS, name, lines)
    defaults = _table(data, "defaults", DEFAULT_KEYS, name, lines)
    _check_lang_kind(defaults, name, lambda f: lines.key(lines.table("defaults"), f))
    raw_docs = data.get("document", [])
    if not isinstance(raw_docs, list):
        raise ManifestError(name, lines.header("document") or lines.key(None, "document") or FILE_LINE, "document",
                            "must be an array of tables: write [[document]] (two brackets) before each document")
    if not raw_docs and not allow_empty:
        raise ManifestError(name, FILE_LINE, "document",
                            "no documents: list each cited document in a [[document]] table (see docs/manifest.md)")
    # Each document's table is dropped as its Document is made: the parsed tree of a 100,000-document
    # manifest (~50 MB) shrinks while the Documents grow, instead of both being held at once.
    documents = [_document(_take(raw_docs, index), index, defaults, name, lines, resolvers)
                 for index in range(len(raw_docs))]
    duplicates = duplicate_ids(documents)
    if duplicates:
        doc, first = duplicates[0]
        more = f"; {len(duplicates) - 1} more duplicate(s), 'linkwatch lint' lists them" if len(duplicates) > 1 else ""
        raise ManifestError(name, doc.line, "id", f"duplicate id {doc.id!r} (first at line {first.line}){more}")
    return Manifest(path=name, documents=tuple(documents), title=head.get("title"), source=head.get("source"),
                    hosts=_hosts(data, name, lines, missing_secret))


def _take(items: list[Any], index: int) -> Any:
    """``items[index]``, leaving None in its place."""
    item, items[index] = items[index], None
    return item


def _hosts(data: dict[str, Any], name: str, lines: _Lines,
           missing_secret: MissingSecret | None = None) -> tuple[Host, ...]:
    """``[hosts."example.org"] headers = { Authorization = "env:UN_TOKEN" }``, validated and resolved.

    A value ``env:NAME`` is read from the environment variable NAME now; a missing or empty variable
    is an error naming it. Messages never quote a header's value.
    """
    raw = data.get("hosts", {})
    if not isinstance(raw, dict):
        raise ManifestError(name, lines.key(None, "hosts"), "hosts", 'must be a table: write [hosts."example.org"]')
    hosts = []
    for host, table in raw.items():
        line = lines.host(host) or lines.table("hosts") or FILE_LINE
        field_name = f"hosts.{_key(host)}"
        if not isinstance(table, dict):
            raise ManifestError(name, line, field_name, "must be a table with headers = { Name = \"value\" }")
        _check_keys(table, HOST_KEYS, name, lambda f: lines.key(line, f), prefix=field_name + ".")
        try:
            ascii_name = _host_key(host)
        except ValueError:
            raise ManifestError(name, line, field_name, f"{host!r} is not a host name or host:port") from None
        headers: list[tuple[str, str]] = []
        secrets: set[str] = set()
        for header, value in table.get("headers", {}).items():
            where = lines.key(line, "headers")  # the documented form is an inline table on that line
            label = f"{field_name}.headers.{_key(header)}"
            if not _HEADER_NAME.fullmatch(header):
                raise ManifestError(name, where, label, "not a valid HTTP header name")
            if not isinstance(value, str):
                raise ManifestError(name, where, label, f"must be a string, not {_type_name(type(value))}")
            if value.startswith("env:"):
                var = value[4:]
                if not var:
                    raise ManifestError(name, where, label, "env: names no environment variable")
                if not os.environ.get(var):
                    if missing_secret is not None:  # lint: a laptop or a fork's PR has no secrets
                        missing_secret(where, label, var)
                        continue
                    raise ManifestError(name, where, label, f"environment variable {var!r} is "
                                        f"{'empty' if var in os.environ else 'not set'} (the header's value is read from it)")
                value = os.environ[var]
                secrets.add(value)
            if any(c in value for c in "\r\n\0"):
                raise ManifestError(name, where, label, "the value contains a line break or NUL (not sent)")
            headers.append((header, value))
        hosts.append(Host(ascii_name, tuple(headers), frozenset(secrets), line))
    return tuple(hosts)


def _key(key: str) -> str:
    """A key from the manifest as it may appear in ``file:line: field: message``: bare keys as they
    are, others quoted as a TOML string with ``:`` escaped, so that a key such as ``"a: b"`` or one
    holding a newline cannot break the one-line format that CI annotations parse."""
    if re.fullmatch(r"[A-Za-z0-9_.-]+", key):
        return key
    import json

    return json.dumps(key).replace(":", "\\u003a")


def _host_key(key: str) -> str:
    """A ``[hosts."…"]`` key as the fetcher matches it: ``host`` (that host on its scheme's default
    port) or ``host:port``, the host in ASCII (IDNA) and lowercase. Raises ValueError."""
    key = key.strip()
    port = None
    m = re.fullmatch(r"(?P<host>\[[0-9A-Fa-f:.]+\]|[^:\[\]]+)(?::(?P<port>[0-9]{1,5}))?", key)
    if not m:
        raise ValueError(key)
    if m["port"] is not None:
        port = int(m["port"])
        if not 0 < port < 65536:
            raise ValueError(key)
    host = m["host"]
    host = host if host.startswith("[") else _ascii_host(host)
    return host.lower() if port is None else f"{host.lower()}:{port}"


def _ascii_host(host: str) -> str:
    """The host name as it goes on the wire: IDNA (UTS #46) for internationalised names, lowercase."""
    host = host.strip().rstrip(".")
    if not host or any(c in host for c in "/:@ "):
        raise ValueError(host)
    if host.isascii():
        return host.lower()
    try:
        import idna

        return idna.encode(host, uts46=True).decode("ascii")
    except ImportError:  # pragma: no cover - idna comes with requests
        return host.encode("idna").decode("ascii").lower()
    except UnicodeError as exc:
        raise ValueError(host) from exc


def derive_id(symbol: str | None, url: str) -> str:
    """A stable, readable id: from the first symbol (``A/79/62`` → ``a-79-62``), else from the URL."""
    base = symbol if symbol else _url_stem(url)
    slug = re.sub(r"[^a-z0-9.]+", "-", base.lower()).strip("-.")
    return slug or "document"


def _url_stem(url: str) -> str:
    parts = urlsplit(url)
    path = parts.path.rstrip("/").rsplit("/", 1)[-1]
    path = re.sub(r"\.(pdf|html?)$", "", path, flags=re.I)
    return path or parts.hostname or "document"


def _table(data: dict[str, Any], key: str, allowed: dict[str, type], name: str, lines: _Lines) -> dict[str, Any]:
    table = data.get(key, {})
    line = lines.table(key)
    if not isinstance(table, dict):
        raise ManifestError(name, lines.key(None, key), key, f"must be a table: write [{key}]")
    _check_keys(table, allowed, name, lambda f: lines.key(line, f), prefix=f"{key}.")
    return table


def _check_keys(table: dict[str, Any], allowed: dict[str, type], name: str,
                line_of: Any, prefix: str = "") -> None:
    for field_name, value in table.items():
        if field_name not in allowed:
            hint = _close_match(field_name, allowed)
            raise ManifestError(name, line_of(field_name), prefix + _key(field_name),
                                f"unknown key{hint} (allowed: {', '.join(allowed)})")
        expected = allowed[field_name]
        if not isinstance(value, expected) or isinstance(value, bool) and expected is not bool:
            raise ManifestError(name, line_of(field_name), prefix + _key(field_name),
                                f"must be a {_type_name(expected)}, not {_type_name(type(value))}")


def _check_lang_kind(table: dict[str, Any], name: str, line_of: Any, prefix: str = "") -> None:
    lang = table.get("lang")
    if lang is not None and not _LANG.fullmatch(lang):
        raise ManifestError(name, line_of("lang"), prefix + "lang",
                            f"{lang!r} is not a language code (use ISO 639-1 such as en, fr, es, ru, ar, zh)")
    kind = table.get("kind")
    if kind is not None and kind not in KINDS:
        raise ManifestError(name, line_of("kind"), prefix + "kind",
                            f"{kind!r} is not a kind (use one of: {', '.join(KINDS)})")


def _document(raw: Any, index: int, defaults: dict[str, Any], name: str, lines: _Lines,
              resolvers: unresolve.Resolvers = unresolve.DEFAULT) -> Document:
    header = lines.document(index)
    if not isinstance(raw, dict):
        raise ManifestError(name, header, "document", "must be a table")
    # Lines are looked up only for a message: a 10,000-document manifest has no time to spare.
    line_of = lambda f: lines.key(header, f)  # noqa: E731 - a tiny locator closure
    _check_keys(raw, DOCUMENT_KEYS, name, line_of, prefix="document.")
    _check_lang_kind(raw, name, line_of, prefix="document.")
    symbol = raw.get("symbol")
    if symbol is not None and not unsymbols.split_joint(symbol):
        raise ManifestError(name, line_of("symbol"), "document.symbol", f"{symbol!r} is not a document symbol")
    # A symbol the grammar doubts is kept as written (normalised best effort): `linkwatch lint`
    # warns about it, nothing refuses it (the UN keeps creating series).
    expected = tuple(unsymbols.normalise(s) for s in unsymbols.split_joint(symbol)) if symbol else ()
    lang = raw.get("lang", defaults.get("lang"))
    if "url" in raw:
        url = check_url(raw["url"], name, lambda: line_of("url"), "document.url")
    elif expected:  # symbol only: the URL is resolved from it (see linkwatch.un.resolve.primary_url)
        try:
            url = unresolve.primary_url(expected[0], lang or "en", resolvers)
        except ValueError as exc:
            raise ManifestError(name, line_of("symbol"), "document.url",
                                f"missing, and none can be resolved from {symbol!r} ({exc}): give its URL") from exc
    else:
        raise ManifestError(name, header, "document.url",
                            "missing (give the URL the document is cited at, or its symbol)")
    mirrors = _mirrors(raw["mirrors"], expected, url, lang, resolvers, name,
                       lambda: line_of("mirrors")) if "mirrors" in raw else ()
    doc_id = raw.get("id") or derive_id(expected[0] if expected else None, url)
    if not _ID.fullmatch(doc_id):
        raise ManifestError(name, line_of("id"), "document.id",
                            f"{doc_id!r}: use letters, digits, '.', '_' and '-' only")
    return Document(
        id=doc_id, url=url, symbols=expected, symbol=symbol, title=_clean(raw.get("title")),
        lang=lang, mirrors=mirrors,
        kind=raw.get("kind", defaults.get("kind", "pdf")), note=raw.get("note"), suggest=defaults.get("suggest", False),
        manifest=name, line=header,
    )


def _mirrors(value: list[Any] | str, expected: tuple[str, ...], url: str, lang: str | None,
             resolvers: unresolve.Resolvers, name: str, line: Callable[[], int]) -> tuple[str, ...]:
    """The mirror URLs: as listed, or resolved from the symbol for ``mirrors = "auto"``."""
    if isinstance(value, str):
        if value != "auto":
            raise ManifestError(name, line(), "document.mirrors", f'must be a list of URLs or "auto", not {value!r}')
        if not expected:
            raise ManifestError(name, line(), "document.mirrors", '"auto" needs a symbol to resolve mirrors from')
        return unresolve.mirror_urls(expected[0], lang or "en", resolvers, exclude=(url,))
    return tuple(check_url(m, name, line, "document.mirrors") if isinstance(m, str)
                 else _bad_mirror(name, line()) for m in value)


def _bad_mirror(name: str, line: int) -> str:
    raise ManifestError(name, line, "document.mirrors", "must be a list of URL strings")


def check_url(url: str, name: str, line: Callable[[], int], field_name: str) -> str:
    """``url`` trimmed, if it is a usable http(s) URL; ``line()`` locates the error otherwise."""
    url = url.strip()
    if any(unicodedata.category(c) in ("Cc", "Cf") for c in url):  # a line break, BEL, ESC, zero-width…
        raise ManifestError(name, line(), field_name, "the URL contains a control or invisible character "
                            "(not shown); remove it or percent-encode it")
    if re.match(r"[^/?#]*//[^/?#]*@", url):  # user:pass@ would be recorded and shown in clear
        host = re.sub(r"^[^/?#]*//[^/?#]*@", "", url).split("/")[0].split(":")[0]
        raise ManifestError(name, line(), field_name, "a user name or password in the URL is not allowed "
                            f'(the URL is not shown): give credentials as headers in [hosts."{host}"], '
                            "from env: variables (see docs/manifest.md)")
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError for a port out of range or not a number
    except ValueError as exc:  # "https://[undocs.org/x": an unclosed IPv6 bracket, a bad port
        raise ManifestError(name, line(), field_name, f"{url!r} is not a usable URL ({exc})") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ManifestError(name, line(), field_name, f"{url!r} is not an http(s) URL")
    return url


def _clean(text: str | None) -> str | None:
    return " ".join(text.split()) if text else None


def _type_name(t: type | tuple[type, ...]) -> str:
    if isinstance(t, tuple):
        return " or ".join(_type_name(x) for x in t)
    return {str: "string", list: "list", dict: "table", int: "integer", float: "number",
            bool: "boolean"}.get(t, t.__name__)


def _close_match(word: str, allowed: dict[str, type]) -> str:
    import difflib

    match = difflib.get_close_matches(word, list(allowed), n=1)
    return f" (did you mean {match[0]!r}?)" if match else ""


def _toml_error_line(exc: Exception) -> int:
    m = re.search(r"at line (\d+)", str(exc))
    return int(m.group(1)) if m else FILE_LINE


def _toml_error_message(exc: Exception) -> str:
    return re.sub(r"\s*\(at line \d+, column \d+\)", "", str(exc)) or "invalid TOML"


class _Lines:
    """Where things are in the TOML source: table headers, [[document]] headers, keys within a block.

    Good enough for manifests people write (one key per line, standard tables); anything it cannot
    place falls back to the nearest header, and line 1 (`FILE_LINE`) means "the file".
    """

    _HEADER = re.compile(r"^\s*\[\s*([A-Za-z0-9_.\"' -]+?)\s*\]\s*(#.*)?$")
    _ARRAY = re.compile(r"^\s*\[\[\s*([A-Za-z0-9_.\"' -]+?)\s*\]\]\s*(#.*)?$")
    _BRACKET = re.compile(r"^[ \t]*\[", re.M)  # where a header may start

    def __init__(self, text: str) -> None:
        # Header lines are found by one scan of the text, and lines split only for an error message:
        # a list of every line of a 100,000-document manifest was ~30 MB, all of it transient.
        self.text = text
        self.headers: list[tuple[int, str, bool]] = []  # (line, name, is_array)
        no, at = 1, 0
        for start in self._BRACKET.finditer(text):
            no += text.count("\n", at, start.start())
            at = start.start()
            end = text.find("\n", at)
            line = text[at:end if end >= 0 else len(text)]
            if m := self._ARRAY.match(line):
                self.headers.append((no, sys.intern(m.group(1).strip("\"'")), True))
            elif m := self._HEADER.match(line):
                self.headers.append((no, m.group(1).strip("\"'"), False))
        # Computed once: a 10,000-document manifest asks for each document's lines (O(n), not O(n²)).
        self._starts = [no for no, _, _ in self.headers]
        self._documents = [no for no, n, arr in self.headers if n == "document" and arr]
        self._lines: list[str] | None = None

    @property
    def lines(self) -> list[str]:
        if self._lines is None:
            self._lines = self.text.split("\n")  # TOML's line breaks, as the header scan counts them
        return self._lines

    def table(self, name: str) -> int | None:
        return next((no for no, n, arr in self.headers if n == name and not arr), None)

    def header(self, name: str) -> int | None:
        """Line of the first ``[name]``, ``[[name]]`` or ``[name.sub]`` header."""
        return next((no for no, n, _ in self.headers if n == name or n.startswith(name + ".")), None)

    def host(self, host: str) -> int | None:
        """Line of the ``[hosts."<host>"]`` header."""
        pattern = re.compile(rf"^\s*\[\s*hosts\s*\.\s*([\"']?){re.escape(host)}\1\s*\]")
        return next((no for no, line in enumerate(self.lines, start=1) if pattern.match(line)), None)

    def document(self, index: int) -> int:
        found = self._documents
        return found[index] if index < len(found) else (found[-1] if found else FILE_LINE)

    def key(self, header: int | None, key: str) -> int:
        """Line of ``key = …`` in the block starting at ``header`` (None: before any header)."""
        start = header or 0
        after = bisect.bisect_right(self._starts, start)
        end = self._starts[after] if after < len(self._starts) else len(self.lines) + 1
        pattern = re.compile(rf"^\s*[\"']?{re.escape(key)}[\"']?\s*=")
        for no in range(start + 1, end):
            if pattern.match(self.lines[no - 1]):
                return no
        return header or FILE_LINE
