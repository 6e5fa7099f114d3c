"""Find the UN documents a text cites, and write them as manifest TOML (``linkwatch discover``).

A source is a concept note or any document — Markdown, plain text, HTML or PDF, a path or an
http(s) URL. Citations are found in the whole text (:mod:`linkwatch.un.citations`: symbols written
out and their continuations, resolutions and decisions by number with their organ); the text is
also cut into *items* (a list item with its continuation lines, or a line) that give each citation:

- the URL cited next to it (bare, ``<…>`` autolinks, ``[text](url)`` links; Markdown escapes
  such as ``a79d62\\_en.pdf`` undone); in a PDF's running text only a URL that names the symbol;
  an UNCTAD file name in the URL is evidence of the symbol;
- the title given in the citation (quoted, or after ``Label:``, before ``, available at``), not
  in a PDF's running text.

A URL cited with no symbol becomes a ``kind = "page"`` entry (``.pdf`` URLs stay ``pdf``).
References to the same document are merged, in order of first mention.

UN knowledge lives in :mod:`linkwatch.un.symbols`, :mod:`linkwatch.un.resolve` and
:mod:`linkwatch.un.citations` (what counts as a citation, the organ of a number); a PDF's text is
made running text by :mod:`linkwatch.un.running_text`; PDFs are read in the
sandboxed inspection worker; URLs are fetched with linkwatch's own :class:`~linkwatch.http.fetcher.Fetcher`.
"""
from __future__ import annotations

import json
import os
import re
import unicodedata
import tempfile
from bisect import bisect_left, bisect_right
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from urllib.parse import unquote, urlsplit

from .. import manifest as _manifest
from . import citations
from . import resolve as unresolve
from . import symbols as unsymbols
from .html_text import html_to_text  # noqa: F401 - part of this module's API
from .running_text import PdfFlow, pdf_flow  # noqa: F401 - PdfFlow is part of this module's API


class SourceError(Exception):
    """The source could not be read; ``exit_code`` is 2 (bad path) or 3 (fetch failed)."""

    def __init__(self, message: str, exit_code: int = 2) -> None:
        super().__init__(message)
        self.exit_code = exit_code


@dataclass
class Reference:
    """One cited document, as the source cites it."""

    symbols: list[str] = field(default_factory=list)  # parts, normalised; [] for a plain URL
    url: str | None = None
    title: str | None = None
    line: int = 0  # line of the source where it is first mentioned (0 when unknown)
    page: int = 0  # page of a PDF source where it is first mentioned (0 when not a PDF)

    @property
    def symbol(self) -> str | None:
        """The symbol as a manifest writes it (joint parts joined by an en dash)."""
        return unsymbols.render_joint(self.symbols) if self.symbols else None

    @property
    def kind(self) -> str:
        if self.symbols or (self.url and urlsplit(self.url).path.lower().endswith(".pdf")):
            return "pdf"
        return "page"

    @property
    def where(self) -> str:
        return f"page {self.page}" if self.page else f"line {self.line}" if self.line else ""


@dataclass
class Unlisted:
    """A resolution or decision cited by number that is not listed: its organ is not clear."""

    text: str  # "resolution 2025/1"
    reason: str
    where: str = ""


@dataclass
class Discovery:
    """What one source cites."""

    source: str
    references: list[Reference]
    lang: str = "en"
    unlisted: list[Unlisted] = field(default_factory=list)
    own: list[str] = field(default_factory=list)  # the source's own symbol, when it has one

    def to_toml(self, existing_ids: set[str] | None = None, header: bool = True) -> str:
        """Manifest TOML: a ``[manifest]`` / ``[defaults]`` head (unless ``header`` is false),
        then one ``[[document]]`` per reference, then what was cited by number but not listed (as
        comments); ids avoid ``existing_ids``."""
        taken = set(existing_ids or ())
        blocks = [_head(self)] if header else []
        blocks += [_document_toml(r, _unique_id(r, taken), self.source) for r in self.references]
        if self.unlisted:
            blocks.append(_unlisted_toml(self.unlisted))
        return "\n".join(blocks)


# --------------------------------------------------------------------------- reading sources


def discover(source: str, lang: str = "en", timeout: float = 30.0) -> Discovery:
    """Read ``source`` (a path or an http(s) URL) and find every document it cites."""
    if re.match(r"^https?://", source, re.IGNORECASE):
        text, is_pdf = _fetch_text(source, timeout)
    else:
        path = Path(source)
        if not path.is_file():
            raise SourceError(f"no such file: {source}")
        text, is_pdf = _file_text(path, base_url=None, timeout=timeout)
    text = normalise_text(text)
    if not is_pdf:
        refs, unlisted = read_references(text)
        return Discovery(source=source, references=refs, lang=lang, unlisted=unlisted)
    flow = pdf_flow(text)
    refs, unlisted = read_references(flow.text, own=flow.own, pages=flow.pages)
    return Discovery(source=source, references=refs, lang=lang, unlisted=unlisted, own=flow.own)


def normalise_text(text: str) -> str:
    """Text as a reader sees it: compatibility forms folded (fullwidth digits, ligatures: NFKC) and
    invisible format characters dropped (soft hyphen, zero-width space and joiners, BOM…), which would
    otherwise end a symbol early ("A/RES/78/3\u200b23" read as A/RES/78/3)."""
    text = unicodedata.normalize("NFKC", text)
    if any(unicodedata.category(c) == "Cf" for c in text):
        text = "".join(c for c in text if unicodedata.category(c) != "Cf")
    return text


def _file_text(path: Path, base_url: str | None, timeout: float,
               content_type: str | None = None) -> tuple[str, bool]:
    """(text, is_pdf) of a local file, by what its bytes are (a PDF is read in the sandboxed worker)."""
    with open(path, "rb") as fh:
        head = fh.read(2048)
    if b"%PDF-" in head[:1024]:
        return _pdf_text(path, timeout), True
    raw = path.read_bytes().decode("utf-8", errors="replace")
    looks_html = re.search(r"<(!doctype html|html|body|p|a|li)[\s>]", raw[:4096], re.IGNORECASE)
    if (content_type or "").startswith("text/html") or path.suffix.lower() in (".html", ".htm") or looks_html:
        return html_to_text(raw, base_url), False
    return raw, False


def _pdf_text(path: Path, timeout: float) -> str:
    from ..pdf.inspect import InspectError, Inspector

    with Inspector(workers=1, timeout=timeout) as inspector:
        try:
            return inspector.extract_text(path)
        except InspectError as exc:
            hint = f" after {timeout:g} s: a long document may need a larger --timeout" if exc.kind == "timeout" else ""
            raise SourceError(f"{path}: cannot read the PDF ({exc.kind}{hint})") from None


def _fetch_text(url: str, timeout: float) -> tuple[str, bool]:
    from ..http.client import FetchConfig
    from ..http.fetcher import Fetcher

    with tempfile.TemporaryDirectory(prefix="linkwatch-discover-") as tmp, \
            Fetcher(FetchConfig(timeout=timeout, retries=2)) as fetcher:
        got = fetcher.fetch(url, Path(tmp))
        if got.body_path is None or got.http_status is None or not 200 <= got.http_status < 300:
            raise SourceError(f"{url}: {got.error or f'HTTP {got.http_status}'}", exit_code=3)
        return _file_text(Path(got.body_path), base_url=got.final_url or url, timeout=timeout,
                          content_type=got.content_type)


# --------------------------------------------------------------------------- finding references

_MD_LINK = re.compile(r"\[(?P<text>[^\]\n]*)\]\((?P<url>https?://(?:[^\s()]|\([^\s()]*\))+)\)")
_AUTOLINK = re.compile(r"<(?P<url>https?://[^\s>]+)>")
_BARE_URL = re.compile(r"https?://[^\s<>\"'\]\[)]+(?:\([^\s)]*\)[^\s<>\"'\]\[)]*)*")
_LIST_ITEM = re.compile(r"^\s*(?:[-*+•]|\d+[.)])\s+")
# A URL's place in the text: a token as long as what it replaces, so that every offset stays true.
_URL_TOKEN_RE = re.compile("\u27e6(\\d+) *\u27e7")
_QUOTED = re.compile(r"[“\"«]([^”\"»]{8,400})[”\"»]")
# Where a citation's title ends: ", available at: <url>", ", see <url>" ("at" alone is a title word).
_TAIL = re.compile(r"[,;]?\s*\b(?:available|see)\b.*$", re.IGNORECASE)


def _token(n: int, length: int) -> str:
    core = f"\u27e6{n}"
    return core + " " * max(0, length - len(core) - 1) + "\u27e7"


@dataclass
class _Masked:
    text: str  # the source with every URL replaced by a token of the same length
    urls: list[str]


def _mask(text: str) -> _Masked:
    """Pull the URLs out (links first: their text is kept unless it is the URL)."""
    urls: list[str] = []

    def token(url: str, length: int) -> str:
        urls.append(_clean_url(url))
        return _token(len(urls) - 1, length)

    def link(m: re.Match[str]) -> str:
        label = m.group("text")
        shown = "" if re.match(r"^\s*(https?://|www\.)", label) else label + " "
        return shown + token(m.group("url"), len(m.group(0)) - len(shown))

    def bare(m: re.Match[str]) -> str:
        url = m.group(0).rstrip(".,;:")
        return token(url, len(url)) + m.group(0)[len(url):]

    text = _MD_LINK.sub(link, text)
    text = _AUTOLINK.sub(lambda m: token(m.group("url"), len(m.group(0))), text)
    text = _BARE_URL.sub(bare, text)
    text = text.replace("**", "  ").replace("__", "  ")  # emphasis markers, outside URLs
    return _Masked(text, urls)


def _clean_url(url: str) -> str:
    # A backslash is never part of a URL: it is a Markdown escape (a79d62\_en.pdf).
    return url.replace("\\", "").rstrip(".,;:")


@dataclass
class _Item:
    start: int
    end: int
    text: str  # the masked text of the item, line breaks and list markers as spaces
    is_list: bool

    def url_ids(self) -> list[int]:
        return [int(m.group(1)) for m in _URL_TOKEN_RE.finditer(self.text)]


def _items(masked: str, continuation: bool) -> list[_Item]:
    """List items (with lazy continuation lines), else single lines; blank lines end an item."""
    items: list[_Item] = []
    start = end = -1
    is_list = False

    def flush() -> None:
        if start >= 0:
            raw = masked[start:end]
            text = _LIST_ITEM.sub(lambda m: " " * len(m.group(0)), raw, count=1) if is_list else raw
            items.append(_Item(start, end, text.replace("\n", " ").replace("\r", " "), is_list))

    pos = 0
    for raw in masked.split("\n"):
        line_start, line_end = pos, pos + len(raw)
        pos = line_end + 1
        if not raw.strip():
            flush()
            start = -1
        elif _LIST_ITEM.match(raw) or start < 0 or not is_list or not continuation:
            flush()
            start, end, is_list = line_start, line_end, bool(_LIST_ITEM.match(raw))
        else:  # continuation of a list item ("…website of the CSTD:\n<https://…>")
            end = line_end
    flush()
    return items


def find_references(text: str, continuation: bool = True) -> list[Reference]:
    """Every document cited in ``text`` (Markdown, plain text, or text from HTML), merged."""
    return read_references(normalise_text(text), continuation=continuation)[0]


def read_references(text: str, own: list[str] | None = None, pages: list[tuple[int, int]] | None = None,
                    continuation: bool | None = None) -> tuple[list[Reference], list[Unlisted]]:
    """(references, what was cited by number but not listed) of a source's text, already through
    :func:`normalise_text` (:func:`discover` and :func:`find_references` do that once).

    ``pages`` (offset, page number) marks a PDF's running text (:func:`pdf_flow`): there each line
    is an item, a URL is the one cited for a symbol only when it names that symbol, and titles are
    not read from prose. Otherwise list items go on over their continuation lines (Markdown)."""
    prose = pages is not None
    masked = _mask(text)
    plain = _URL_TOKEN_RE.sub(lambda m: " " * len(m.group(0)), masked.text)
    found = citations.find_citations(plain, citations.Context(own=tuple(own or ())))
    items = _items(masked.text, continuation=not prose if continuation is None else continuation)
    line_starts = [0] + [m.end() for m in re.finditer("\n", text)]
    collected = _Collected()
    cited = sorted(found.found, key=lambda c: c.start)
    cited_at = [c.start for c in cited]
    unattributed = sorted(found.unattributed, key=lambda u: u.start)
    unattributed_at = [u.start for u in unattributed]
    for item in items:  # each item's citations by bisection: linear in the source, not items × citations
        mine = cited[bisect_left(cited_at, item.start):bisect_left(cited_at, item.end)]
        numbers = unattributed[bisect_left(unattributed_at, item.start):bisect_left(unattributed_at, item.end)]
        where = {"page": _page_at(pages, item.start)} if prose else {"line": bisect_right(line_starts, item.start)}
        for ref in _item_references(item, mine, numbers, masked.urls, prose):
            ref.line, ref.page = where.get("line", 0), where.get("page", 0)
            collected.add(ref)
    refs = collected.refs
    notes: list[Unlisted] = []
    for u in found.unattributed:
        if _evidenced(u, refs):
            continue
        where = f"page {_page_at(pages, u.start)}" if prose else f"line {bisect_right(line_starts, u.start)}"
        if not any(n.text == u.text for n in notes):
            notes.append(Unlisted(u.text, u.reason, where))
    return refs, notes


def _page_at(pages: list[tuple[int, int]] | None, offset: int) -> int:
    page = 0
    for start, number in pages or ():
        if start > offset:
            break
        page = number
    return page


def _evidenced(u: citations.Unattributed, refs: list[Reference]) -> bool:
    # "Resolution 2023/3: …, available at …/ecosoc_res_2023d3_en.pdf": the URL named the organ.
    number = u.text.split()[-1]
    return any(p.endswith("/" + number) for r in refs for p in r.symbols)


def _item_references(item: _Item, cited: list[citations.Citation], numbers: list[citations.Unattributed],
                     urls: list[str], prose: bool) -> list[Reference]:
    refs: list[Reference] = []
    ids = item.url_ids()
    places = _ItemURLs(item, [c.start - item.start for c in cited], urls)
    title = None if prose or not cited else _title(item)  # the item's, whichever of its symbols
    for c in cited:
        if prose:
            url = next((urls[i] for i in ids if _names(urls[i], c.symbols)), None)
        else:
            url = places.for_symbol(c.start - item.start)
        refs.append(Reference(symbols=c.symbols, url=url if url and usable_url(url) else None, title=title))
    used = {r.url for r in refs}
    for i in ids:  # URLs that no citation claims: pages (or PDFs) cited on their own
        url = urls[i]
        if url in used or not usable_url(url):
            continue
        code_symbol = unresolve.symbol_from_unctad_code(url)
        if code_symbol and any(unsymbols.same(code_symbol, p) for r in refs for p in r.symbols):
            continue  # the file of a document already cited here
        if code_symbol and any(code_symbol.endswith("/" + u.text.split()[-1]) for u in numbers):
            # the URL's file name says which organ's resolution the item cites
            refs.append(Reference(symbols=[code_symbol], url=url, title=None if prose else _title(item)))
            continue
        refs.append(Reference(url=url, title=None if prose else _page_title(item)))
    return refs


def usable_url(url: str) -> bool:
    """Whether the manifest would accept ``url`` (http(s), a host, no user info, no control
    characters): discover never writes a manifest that ``lint`` refuses."""
    try:
        _manifest.check_url(url, "", lambda: 0, "url")
    except _manifest.ManifestError:
        return False
    return True


def _names(url: str, parts: list[str]) -> bool:
    """True when ``url`` is evidently the file or page of the document: its path spells the symbol
    (undocs.org/en/A/79/62), or its file name is the UNCTAD code of it."""
    path = unquote(urlsplit(url).path).upper().replace(" ", "")
    code = unresolve.symbol_from_unctad_code(url)
    for p in parts:
        if path.endswith("/" + unsymbols.key(p)) or (code and unsymbols.same(code, p)):
            return True
    return False


class _ItemURLs:
    """Which URL an item cites for the symbol at each offset (:meth:`for_symbol`), with the item's
    URL places and symbol offsets sorted once: an item citing thousands of symbols stays linear."""

    def __init__(self, item: _Item, offsets: list[int], urls: list[str]) -> None:
        self.urls = urls
        self.offsets = sorted(offsets)
        places = [(m.start(), int(m.group(1))) for m in _URL_TOKEN_RE.finditer(item.text)]
        self.place_at = [start for start, _ in places]
        self.place_id = [i for _, i in places]
        self.length = len(item.text)

    def for_symbol(self, offset: int) -> str | None:
        """The first URL after the symbol at ``offset`` and before the next symbol, else (one
        symbol, one URL) the item's only URL."""
        later = bisect_right(self.offsets, offset)
        end = self.offsets[later] if later < len(self.offsets) else self.length
        first = bisect_left(self.place_at, offset)
        if first < len(self.place_at) and self.place_at[first] < end:
            return self.urls[self.place_id[first]]
        if len(self.offsets) == 1 and len(self.place_id) == 1:
            return self.urls[self.place_id[0]]
        return None


def _title(item: _Item) -> str | None:
    """The title given in a citation: quoted, or the text after "Label:" (minus symbols and the
    "available at" tail). Only list items and short lines are citations; prose is not."""
    text = " ".join(item.text.split())
    if not item.is_list and len(text) > 300:
        return None
    quoted = _QUOTED.search(text)
    if quoted and _plausible_title(_tidy(quoted.group(1))):
        return _tidy(quoted.group(1))
    text = _URL_TOKEN_RE.sub("", text)
    text = _TAIL.sub("", text)
    if ":" in text:
        text = text.split(":", 1)[1]
    text = re.sub(r"\(\s*[^()]*\d[^()]*\)", lambda m: "" if unsymbols.find_symbols(m.group(0)) else m.group(0), text)
    kept, last = [], 0
    for _parts, start, end in unsymbols.find_symbol_spans(text):  # the symbols are not the title
        kept.append(text[last:start])
        last = end
    title = _tidy("".join(kept) + text[last:])
    return title if _plausible_title(title) else None


def _plausible_title(title: str) -> bool:
    # A title starts like one and is a phrase, not a paragraph swept up from running text.
    return bool(re.match(r"^[\w“\"'‘]", title)) and 3 <= len(title.split()) <= 40


def _page_title(item: _Item) -> str | None:
    text = _tidy(_URL_TOKEN_RE.sub("", item.text))
    return text if _plausible_title(text) else None


def _tidy(text: str) -> str:
    text = _URL_TOKEN_RE.sub(" ", text)  # a URL's place holder is not part of a title
    text = re.sub(r"\s+", " ", text).strip()
    text = re.sub(r"^\d{1,3}\s+(?=[A-Z])", "", text)  # a footnote number in front
    return text.strip(" ,;:.*-–—−").strip()


class _Collected:
    """References merged as they are found, one per document: a new one fills the gaps of the
    reference to the same document (same symbol, or same URL) already there, else is added.

    Looked up by symbol and by URL rather than compared with every earlier reference: a source
    citing thousands of documents stays linear."""

    def __init__(self) -> None:
        self.refs: list[Reference] = []
        self._by_symbol: dict[str, list[int]] = {}  # symbol key without an SC year → positions
        self._by_url: dict[str, list[int]] = {}

    def add(self, new: Reference) -> None:
        at = self._find(new)
        if at is None:
            self.refs.append(new)
            self._index(len(self.refs) - 1, new)
            return
        ref = self.refs[at]
        if len(new.symbols) > len(ref.symbols):
            ref.symbols = new.symbols  # the joint form is the fuller citation
        ref.url = ref.url or new.url
        ref.title = ref.title or new.title
        self._index(at, ref)

    def _find(self, new: Reference) -> int | None:
        candidates: set[int] = set()
        for sym in new.symbols:
            for i in self._by_symbol.get(unsymbols.loose_key(sym), ()):
                if any(unsymbols.same(sym, b) for b in self.refs[i].symbols):
                    candidates.add(i)
        if new.url:
            candidates.update(i for i in self._by_url.get(new.url, ())
                              if self.refs[i].url == new.url and not (new.symbols and self.refs[i].symbols))
        return min(candidates) if candidates else None  # the earliest, as a scan in order would find

    def _index(self, at: int, ref: Reference) -> None:
        for sym in ref.symbols:
            slots = self._by_symbol.setdefault(unsymbols.loose_key(sym), [])
            if at not in slots:
                slots.append(at)
        if ref.url:
            slots = self._by_url.setdefault(ref.url, [])
            if at not in slots:
                slots.append(at)


# --------------------------------------------------------------------------- TOML


def _head(d: Discovery) -> str:
    name = d.source.rstrip("/").rsplit("/", 1)[-1]
    own = f"# The source is {_q(unsymbols.render_joint(d.own))} itself: not listed.\n" if d.own else ""
    return (f"# Written by linkwatch discover from {_q(d.source)} on {_today()}.\n"
            f"# Check titles and URLs against the source before relying on them.\n{own}\n"
            f"[manifest]\ntitle = {_q('Documents cited by ' + name)}\nsource = {_q(d.source)}\n\n"
            f"[defaults]\nlang = {_q(d.lang)}\n")


def _document_toml(ref: Reference, doc_id: str, source: str) -> str:
    lines = ["[[document]]", f"id = {_q(doc_id)}"]
    if ref.symbol:
        lines.append(f"symbol = {_q(ref.symbol)}")
    if ref.title:
        lines.append(f"title = {_q(ref.title)}")
    if ref.url:
        lines.append(f"url = {_q(ref.url)}")
    else:
        lines.insert(0, "# cited without a URL: linkwatch resolves one from the symbol")
    if ref.symbols:
        lines.append('mirrors = "auto"')
    if ref.kind != "pdf":
        lines.append(f"kind = {_q(ref.kind)}")
    where = f", {ref.where}" if ref.where else ""
    lines.append(f"note = {_q(f'cited in {source}{where}')}")
    return "\n".join(lines) + "\n"


def _unlisted_toml(unlisted: list[Unlisted]) -> str:
    lines = ["# Cited by number but not listed: the issuing organ is not clear from the text.",
             "# Add them by hand (symbol = \"...\") if you know which organ issued them."]
    # A comment runs to the end of its line and may hold no control character: escaped like a string.
    lines += [f"#   {_q(u.text)}{f' ({_q(u.where)[1:-1]})' if u.where else ''}: {_q(u.reason)[1:-1]}"
              for u in unlisted]
    return "\n".join(lines) + "\n"


def _unique_id(ref: Reference, taken: set[str]) -> str:
    base = _manifest.derive_id(ref.symbols[0] if ref.symbols else None, ref.url or "document")
    doc_id, n = base, 2
    while doc_id in taken:
        doc_id, n = f"{base}-{n}", n + 1
    taken.add(doc_id)
    return doc_id


# Characters a TOML basic string cannot hold raw (TOML 1.0: C0 controls but tab, and DEL), and the
# C1 controls, which a terminal may still act on: written as \uXXXX escapes.
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f]")
_SURROGATE = re.compile("[\ud800-\udfff]")


def _q(text: str) -> str:
    """``text`` as a TOML basic string: JSON's escapes are TOML's; controls and DEL escaped; a lone
    surrogate (not a character: no UTF-8 for it) becomes U+FFFD."""
    text = _SURROGATE.sub("\ufffd", text)
    quoted = json.dumps(text, ensure_ascii=False)
    return _CONTROL.sub(lambda m: f"\\u{ord(m.group(0)):04x}", quoted)


def _today() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%d")


# --------------------------------------------------------------------------- --merge


def merge(discovery: Discovery, manifest_path: str | Path) -> list[Reference]:
    """Append to ``manifest_path`` the references it does not already list (same symbol, or a URL
    it already checks), as text: its comments and order are kept. Returns what was added.

    The file is written atomically (temporary file + rename), and only if the result is a valid
    manifest. Raises :class:`~linkwatch.manifest.ManifestError` when the manifest is not valid."""
    path = Path(manifest_path)
    existing = _manifest.load(path, allow_empty=True)  # a new manifest may hold no document yet
    known_symbols = [s for d in existing.documents for s in d.symbols]
    known_urls = {u for d in existing.documents for u in d.urls}
    new = [r for r in discovery.references
           if not any(unsymbols.same(s, k) for s in r.symbols for k in known_symbols)
           and not (r.url and r.url in known_urls)]
    if not new:
        return []
    text = path.read_text(encoding="utf-8")
    added = Discovery(discovery.source, new, discovery.lang).to_toml(
        existing_ids={d.id for d in existing.documents}, header=False)
    sep = "" if text.endswith("\n") else "\n"
    text += f"{sep}\n# --- added by linkwatch discover from {discovery.source} on {_today()} ---\n\n{added}"
    _manifest.parse(text, str(path))  # never write a manifest linkwatch itself would refuse
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)
    return new
