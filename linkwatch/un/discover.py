"""Find the UN documents a text cites, and write them as manifest TOML (``linkwatch discover``).

A source is a concept note or any document — Markdown, plain text, HTML or PDF, a path or an
http(s) URL. Its text is cut into *items* (a list item with its continuation lines, or a line),
and each item gives references:

- symbols, joint ones kept together (``A/79/62 – E/2024/3``), and resolution numbers written the
  way meetings cite them (``ECOSOC resolution 2023/3`` → ``E/RES/2023/3``, when the item or its URL
  says ECOSOC / Economic and Social Council; likewise General Assembly and Security Council);
- the URL cited next to them (bare, ``<…>`` autolinks, ``[text](url)`` links; Markdown escapes
  such as ``a79d62\\_en.pdf`` undone); an UNCTAD file name in the URL is evidence of the symbol;
- the title given in the citation (quoted, or after ``Label:``, before ``, available at``).

A URL cited with no symbol becomes a ``kind = "page"`` entry (``.pdf`` URLs stay ``pdf``).
References to the same document are merged, in order of first mention.

UN knowledge lives in :mod:`linkwatch.un.symbols` and :mod:`linkwatch.un.resolve`; PDFs are read in the
sandboxed inspection worker; URLs are fetched with linkwatch's own :class:`~linkwatch.http.fetcher.Fetcher`.
"""
from __future__ import annotations

import json
import os
import re
import tempfile
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from urllib.parse import urljoin, urlsplit

from .. import manifest as _manifest
from . import resolve as unresolve
from . import symbols as unsymbols


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

    @property
    def symbol(self) -> str | None:
        """The symbol as a manifest writes it (joint parts joined by an en dash)."""
        return unsymbols.render_joint(self.symbols) if self.symbols else None

    @property
    def kind(self) -> str:
        if self.symbols or (self.url and urlsplit(self.url).path.lower().endswith(".pdf")):
            return "pdf"
        return "page"


@dataclass
class Discovery:
    """What one source cites."""

    source: str
    references: list[Reference]
    lang: str = "en"

    def to_toml(self, existing_ids: set[str] | None = None, header: bool = True) -> str:
        """Manifest TOML: a ``[manifest]`` / ``[defaults]`` head (unless ``header`` is false),
        then one ``[[document]]`` per reference; ids avoid ``existing_ids``."""
        taken = set(existing_ids or ())
        blocks = [_head(self)] if header else []
        blocks += [_document_toml(r, _unique_id(r, taken), self.source) for r in self.references]
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
    if is_pdf:
        # PDF text breaks long URLs at the line end ("…digital-\nfuture"): put them together.
        text = re.sub(r"(https?://\S*[-/_.])\n(?=[\w/.%-]+(?:[ \t]|$))", r"\1", text, flags=re.MULTILINE)
    # PDF text has no blank lines between paragraphs: each line is read on its own.
    return Discovery(source=source, references=find_references(text, continuation=not is_pdf), lang=lang)


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
            raise SourceError(f"{path}: cannot read the PDF ({exc.kind})") from None


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


_BLOCKS = ("p", "div", "li", "tr", "h1", "h2", "h3", "h4", "h5", "h6", "section", "article", "blockquote",
           "ul", "ol", "table", "dd", "dt")


def html_to_text(html: str, base_url: str | None = None) -> str:
    """HTML as Markdown-ish text: links become ``[text](url)`` (relative ones made absolute),
    list items ``- …``, block elements their own lines."""
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(html, "html.parser")
    for tag in soup(["script", "style", "noscript", "template"]):
        tag.decompose()
    for a in soup.find_all("a", href=True):
        href = urljoin(base_url, a["href"]) if base_url else a["href"]
        text = " ".join(a.get_text(" ").split())
        a.replace_with(f"[{text}]({href})" if href.startswith(("http://", "https://")) else text)
    for br in soup.find_all("br"):
        br.replace_with("\n")
    for tag in soup.find_all(_BLOCKS):
        tag.insert_before("\n- " if tag.name == "li" else "\n")
        tag.insert_after("\n")
    lines = (" ".join(line.split()) for line in soup.get_text().splitlines())
    return "\n".join(line for line in lines if line)


# --------------------------------------------------------------------------- finding references

_MD_LINK = re.compile(r"\[(?P<text>[^\]\n]*)\]\((?P<url>https?://(?:[^\s()]|\([^\s()]*\))+)\)")
_AUTOLINK = re.compile(r"<(?P<url>https?://[^\s>]+)>")
_BARE_URL = re.compile(r"https?://[^\s<>\"'\]\[)]+(?:\([^\s)]*\)[^\s<>\"'\]\[)]*)*")
_LIST_ITEM = re.compile(r"^\s*(?:[-*+•]|\d+[.)])\s+")
_URL_TOKEN = "\u27e6URL{}\u27e7"  # stands in for a URL while the item's text is read
_URL_TOKEN_RE = re.compile("\u27e6URL(\\d+)\u27e7")
_QUOTED = re.compile(r"[“\"«]([^”\"»]{8,400})[”\"»]")
# Where a citation's title ends: ", available at: <url>", ", see <url>" ("at" alone is a title word).
_TAIL = re.compile(r"[,;]?\s*\b(?:available|see)\b.*$", re.IGNORECASE)
# "ECOSOC resolution 2023/3", "General Assembly resolution 78/132", "Security Council resolution 2768 (2025)".
_RESOLUTION = re.compile(r"\bresolutions?\s+(?P<a>\d{1,4})/(?P<b>\d{1,4})\b|\bresolutions?\s+(?P<sc>\d{1,4})\s*\((?P<year>(?:19|20)\d\d)\)",
                         re.IGNORECASE)
_ECOSOC = re.compile(r"\bECOSOC\b|Economic and Social Council|ecosoc_res_", re.IGNORECASE)
_ROMAN_ORGAN = re.compile(r"^[IVXLC]+/")
_GA = re.compile(r"General Assembly", re.IGNORECASE)
_SC = re.compile(r"Security Council", re.IGNORECASE)


@dataclass
class _Item:
    text: str  # URLs replaced by tokens
    urls: list[str]
    line: int
    is_list: bool


def find_references(text: str, continuation: bool = True) -> list[Reference]:
    """Every document cited in ``text`` (Markdown, plain text, or text from HTML/PDF), merged.

    ``continuation``: a list item goes on over the following lines up to a blank line (Markdown);
    without it every line is an item (text extracted from PDFs)."""
    refs: list[Reference] = []
    for item in _items(text, continuation):
        for ref in _item_references(item):
            _merge(refs, ref)
    return refs


def _items(text: str, continuation: bool = True) -> list[_Item]:
    """List items (with lazy continuation lines), else single lines; blank lines end an item."""
    items: list[_Item] = []
    current: list[str] = []
    start, is_list = 0, False

    def flush() -> None:
        if current:
            items.append(_tokenise(" ".join(current), start, is_list))
            current.clear()

    for no, raw in enumerate(text.replace("\f", "\n").splitlines(), start=1):
        line = raw.strip()
        if not line:
            flush()
        elif _LIST_ITEM.match(raw) or not current or not is_list or not continuation:
            flush()
            current.append(_LIST_ITEM.sub("", line))
            start, is_list = no, bool(_LIST_ITEM.match(raw))
        else:  # continuation of a list item ("…website of the CSTD:\n<https://…>")
            current.append(line)
    flush()
    return items


def _tokenise(text: str, line: int, is_list: bool) -> _Item:
    """Pull the URLs out of an item (links first: their text is kept unless it is the URL)."""
    urls: list[str] = []

    def token(url: str) -> str:
        urls.append(_clean_url(url))
        return _URL_TOKEN.format(len(urls) - 1)

    def link(m: re.Match[str]) -> str:
        label = m.group("text")
        shown = "" if re.match(r"^\s*(https?://|www\.)", label) else label + " "
        return shown + token(m.group("url"))

    text = _MD_LINK.sub(link, text)
    text = _AUTOLINK.sub(lambda m: token(m.group("url")), text)
    text = _BARE_URL.sub(lambda m: token(m.group(0).rstrip(".,;:")) + m.group(0)[len(m.group(0).rstrip(".,;:")):],
                         text)
    text = text.replace("**", "").replace("__", "")  # emphasis markers, outside URLs
    return _Item(text, urls, line, is_list)


def _clean_url(url: str) -> str:
    # A backslash is never part of a URL: it is a Markdown escape (a79d62\_en.pdf).
    return url.replace("\\", "").rstrip(".,;:")


def _item_references(item: _Item) -> list[Reference]:
    groups = _symbol_groups(item)
    refs: list[Reference] = []
    for parts, offset in groups:
        url = _url_for(item, offset, [o for _, o in groups])
        refs.append(Reference(symbols=parts, url=url, title=_title(item, parts), line=item.line))
    used = {r.url for r in refs}
    for url in item.urls:  # URLs that no symbol claims: pages (or PDFs) cited on their own
        if url in used:
            continue
        code_symbol = unresolve.symbol_from_unctad_code(url)
        if code_symbol and urlsplit(url).path.lower().endswith(".pdf") and _mentions_resolution(item):
            continue  # the resolution's own URL, already paired above
        refs.append(Reference(url=url, title=_page_title(item), line=item.line))
    return refs


def _symbol_groups(item: _Item) -> list[tuple[list[str], int]]:
    """Symbols written out, plus resolution numbers the context makes symbols of."""
    plain = _URL_TOKEN_RE.sub(lambda m: " " * len(m.group(0)), item.text)
    # A roman-numeral "organ" is a decision of a treaty body (III/12, X/3), not a UN symbol.
    groups = [g for g in unsymbols.find_symbol_groups(plain) if not _ROMAN_ORGAN.match(g[0][0])]
    seen = {unsymbols.key(p) for parts, _ in groups for p in parts}
    context = item.text + " " + " ".join(item.urls)
    for m in _RESOLUTION.finditer(plain):
        symbol = _resolution_symbol(m, context)
        if symbol and unsymbols.key(symbol) not in seen:
            seen.add(unsymbols.key(symbol))
            groups.append(([unsymbols.normalise(symbol)], m.start()))
    return sorted(groups, key=lambda g: g[1])


def _resolution_symbol(m: re.Match[str], context: str) -> str | None:
    if m.group("sc"):
        return f"S/RES/{m.group('sc')} ({m.group('year')})" if _SC.search(context) else None
    a, b = m.group("a"), m.group("b")
    if len(a) == 4 and _ECOSOC.search(context):
        return f"E/RES/{a}/{b}"  # ECOSOC numbers its resolutions by year
    if len(a) <= 3 and _GA.search(context):
        return f"A/RES/{a}/{b}"  # the General Assembly by session
    return None


def _mentions_resolution(item: _Item) -> bool:
    return bool(_RESOLUTION.search(item.text))


def _url_for(item: _Item, offset: int, offsets: list[int]) -> str | None:
    """The URL cited for the symbol at ``offset``: the first URL after it and before the next
    symbol, else (one symbol, one URL) the item's only URL."""
    later = [o for o in offsets if o > offset]
    end = min(later) if later else len(item.text)
    for m in _URL_TOKEN_RE.finditer(item.text):
        if offset <= m.start() < end:
            return item.urls[int(m.group(1))]
    if len(offsets) == 1 and len(item.urls) == 1:
        return item.urls[0]
    return None


def _title(item: _Item, parts: list[str]) -> str | None:
    """The title given in a citation: quoted, or the text after "Label:" (minus symbols and the
    "available at" tail). Only list items and short lines are citations; prose is not."""
    if not item.is_list and len(item.text) > 300:
        return None
    quoted = _QUOTED.search(item.text)
    if quoted and _plausible_title(_tidy(quoted.group(1))):
        return _tidy(quoted.group(1))
    text = _URL_TOKEN_RE.sub("", item.text)
    text = _TAIL.sub("", text)
    if ":" in text:
        text = text.split(":", 1)[1]
    text = re.sub(r"\(\s*[^()]*\d[^()]*\)", lambda m: "" if unsymbols.find_symbols(m.group(0)) else m.group(0), text)
    for parts_, _ in unsymbols.find_symbol_groups(text):
        for p in parts_:
            text = text.replace(p, "")
    title = _tidy(text)
    return title if _plausible_title(title) else None


def _plausible_title(title: str) -> bool:
    # A title starts like one and is a phrase, not a paragraph swept up from running text.
    return bool(re.match(r"^[\w“\"'‘]", title)) and 3 <= len(title.split()) <= 40


def _page_title(item: _Item) -> str | None:
    text = _tidy(_URL_TOKEN_RE.sub("", item.text))
    return text if _plausible_title(text) else None


def _tidy(text: str) -> str:
    text = re.sub(r"\s+", " ", text).strip()
    text = re.sub(r"^\d{1,3}\s+(?=[A-Z])", "", text)  # a footnote number in front
    return text.strip(" ,;:.*-–—−").strip()


def _merge(refs: list[Reference], new: Reference) -> None:
    """Add ``new``, or fill the gaps of the reference to the same document (same symbol, or same
    URL) that is already there."""
    for ref in refs:
        same_doc = (new.symbols and ref.symbols and any(unsymbols.same(a, b) for a in new.symbols for b in ref.symbols)) \
            or (new.url and ref.url == new.url and not (new.symbols and ref.symbols))
        if same_doc:
            if len(new.symbols) > len(ref.symbols):
                ref.symbols = new.symbols  # the joint form is the fuller citation
            ref.url = ref.url or new.url
            ref.title = ref.title or new.title
            return
    refs.append(new)


# --------------------------------------------------------------------------- TOML


def _head(d: Discovery) -> str:
    name = d.source.rstrip("/").rsplit("/", 1)[-1]
    return (f"# Written by linkwatch discover from {d.source} on {_today()}.\n"
            f"# Check titles and URLs against the source before relying on them.\n\n"
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
    where = f", line {ref.line}" if ref.line else ""
    lines.append(f"note = {_q(f'cited in {source}{where}')}")
    return "\n".join(lines) + "\n"


def _unique_id(ref: Reference, taken: set[str]) -> str:
    base = _manifest.derive_id(ref.symbols[0] if ref.symbols else None, ref.url or "document")
    doc_id, n = base, 2
    while doc_id in taken:
        doc_id, n = f"{base}-{n}", n + 1
    taken.add(doc_id)
    return doc_id


def _q(text: str) -> str:
    # A JSON string is a valid TOML basic string (same escapes, \uXXXX included).
    return json.dumps(text, ensure_ascii=False)


def _today() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%d")


# --------------------------------------------------------------------------- --merge


def merge(discovery: Discovery, manifest_path: str | Path) -> list[Reference]:
    """Append to ``manifest_path`` the references it does not already list (same symbol, or a URL
    it already checks), as text: its comments and order are kept. Returns what was added.

    The file is written atomically (temporary file + rename), and only if the result is a valid
    manifest. Raises :class:`~linkwatch.manifest.ManifestError` when the manifest is not valid."""
    path = Path(manifest_path)
    existing = _manifest.load(path)
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
