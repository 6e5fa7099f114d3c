"""Stage 3: read a PDF's page 1 → its own symbols, title, language, pages.

Two layers:

- :func:`read_pdf_poppler` / :func:`read_pdf` / :func:`read_text` read a PDF *in-process*; only
  :mod:`linkwatch.pdf.worker` calls them, inside a sandboxed process. :func:`parse_page1` is the pure
  text → facts part.
- :class:`Inspector` is the public API: a thread-safe pool of long-lived worker processes, each
  under an address-space limit, each request under a wall-clock limit (kill and respawn on expiry).

Two engines read page 1 (:func:`resolve_engine`): "poppler" (the default when ``pdftotext`` is on
PATH) takes page 1's words and their boxes from ``pdftotext -raw -bbox``, a child of the worker
under the same limits, while pypdf checks the file's structure alongside; "pypdf" (the fallback)
extracts the text itself, ~3× slower. They give the same :class:`Inspection` on every UN fixture.

Title policy: :attr:`Inspection.title` is the text as printed (whitespace collapsed, lines joined,
footnote asterisks dropped), keeping typographic quotes and capitals (``UNCTAD’s CONTRIBUTION…``):
it is evidence, not a key. Compare titles with :func:`title_key` (casefolded, ASCII quotes/dashes).
"""
from __future__ import annotations

import contextlib
import html
import io
import json
import os
import queue
import re
import select
import shutil
import signal
import subprocess
import threading
import time
import unicodedata
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from ..un import quirks
from ..un import symbols as unsymbols


@dataclass
class Inspection:
    """What inspecting one file found. Plain data, JSON-friendly."""

    pages: int | None = None
    symbols: list[str] = field(default_factory=list)  # the document's own, normalised display form
    title: str | None = None
    lang: str | None = None  # ISO 639-1: en fr es ru ar zh ...
    placeholder: bool = False  # the ODS "document does not exist" page
    reissued: bool = False  # "Reissued for technical reasons" / asterisked symbol
    error: str | None = None  # None, or "timeout", "memory", "encrypted", "malformed: <detail>"
    symbol_source: str | None = None  # where symbols were read: "masthead", "header", "metadata"

    def to_dict(self) -> dict:
        """JSON-ready dict of every field."""
        return asdict(self)


class InspectError(RuntimeError):
    """extract_text could not read a file; ``.kind`` is an Inspection.error string."""

    def __init__(self, kind: str) -> None:
        super().__init__(kind)
        self.kind = kind


# --------------------------------------------------------------------------- page-1 layout

# The organisation's name printed left of the symbol in the masthead, in the six official languages.
UN_NAMES: tuple[str, ...] = (
    "United Nations", "Nations Unies", "Naciones Unidas",
    "Организация Объединенных Наций", "الأمم المتحدة", "联合国",
)
_UN_NAME = "|".join(re.escape(n) for n in UN_NAMES)
# Name then symbol; Arabic may extract in the other order.
_MASTHEAD = re.compile(rf"^\s*(?:{_UN_NAME})\s+(?P<rest>\S.*?)\s*$|^\s*(?P<rtl>\S.*?)\s+(?:{_UN_NAME})\s*$")
_REISSUE = re.compile(
    r"reissued for technical reasons|nouveau tirage pour raisons techniques"
    r"|publicado nuevamente por razones t[ée]cnicas|по техническим причинам"
    r"|أعيد إصدار|因技术原因重新印发",
    re.IGNORECASE,
)
_HEADER_LINES = 40  # the masthead/distribution block sits within the first lines of page 1
# "78/323. International Day…", "ES-10/24. …": the resolution's number, then its title.
_GA_RESOLUTION_NO = re.compile(
    r"^\s*(?P<no>(?:ES-\d+/|S-\d+/)?\d{1,3}/\d{1,4}(?: ?[A-Z])?)\.\s+(?P<rest>\S.*)$")
_GA_PREAMBLE = re.compile(
    r"^\s*(The General Assembly|L[’']Assemblée générale|La Asamblea General|Генеральная Ассамблея)\b")
_SC_RESOLUTION = re.compile(r"^\s*(Resolution|Résolution|Resolución|Резолюция) \d+ \(\d{4}\)\s*$")
# pypdf renders the indent of the UN template's heading paragraphs (title, "Report of…") as two or
# more leading spaces; body paragraphs and agenda headings come out with at most one.
_INDENTED = re.compile(r"^\s{2,}(?=\S)")
# Headings that sit in the title's typographic slot but are not the title.
# Each in the six languages: "Report of the Secretary-General", "Note by the Secretariat",
# "Addendum", "Corrigendum", "Summary".
_NOT_TITLE = re.compile(
    r"^\s*(\[|resolution adopted by|adopted by the|report of the secretary-general\s*$"
    r"|note by the (secretary-general|secretariat)\s*$|addendum\s*$|corrigendum\s*$|summary\s*$"
    r"|rapport du secrétaire général\s*$|note (du secrétaire général|du secrétariat)\s*$|additif\s*$"
    r"|rectificatif\s*$|résumé\s*$"
    r"|informe del secretario general\s*$|nota (del secretario general|de la secretaría)\s*$|adición\s*$"
    r"|corrección\s*$|resumen\s*$"
    r"|доклад генерального секретаря\s*$|записка (генерального секретаря|секретариата)\s*$"
    r"|добавление\s*$|исправление\s*$|резюме\s*$"
    r"|تقرير الأمين العام\s*$|مذكرة من (الأمين العام|الأمانة العامة)\s*$|إضافة\s*$|تصويب\s*$|موجز\s*$"
    r"|秘书长的报告\s*$|秘书长的说明\s*$|秘书处的说明\s*$|增编\s*$|更正\s*$|概要\s*$)",
    re.IGNORECASE,
)
# "Agenda item 43", "Item 5 of the provisional agenda" (not a title that mentions an agenda).
_AGENDA = re.compile(
    r"^\s*(agenda items?\b|items? \d+\b.*\bagenda\b|temas? \d+\b.*\bprograma\b"
    r"|points? \d+\b.*\bordre du jour\b|пункты? \d+\b.*\bповестки\b)",
    re.IGNORECASE,
)


def _blank(line: str) -> bool:
    return not line.strip()


def _symbols_only(text: str) -> bool:
    """True when text is nothing but a (possibly joint, possibly asterisked) symbol."""
    parts = unsymbols.split_joint(text.strip().rstrip("".join(unsymbols.DASHES)))
    return bool(parts) and all(unsymbols.looks_like_symbol(p) for p in parts)


def _next_nonblank(lines: list[str], i: int) -> int | None:
    for j in range(i + 1, len(lines)):
        if not _blank(lines[j]):
            return j
    return None


def _with_stacked(lines: list[str], i: int, first: str) -> str:
    """The symbol text at line i, plus the next line when a joint symbol is stacked on two lines."""
    j = _next_nonblank(lines, i)
    if j is not None and _symbols_only(lines[j]) and not lines[j].lstrip().startswith("*"):
        return first + "\n" + lines[j].strip()
    return first


def _masthead_symbols(lines: list[str]) -> str | None:
    """Symbol text of the masthead line "United Nations  A/79/716-S/2025/18" (anywhere on the page:
    some files extract it after the title)."""
    for i, line in enumerate(lines):
        m = _MASTHEAD.match(line)
        rest = m and (m.group("rest") or m.group("rtl"))
        if rest and _symbols_only(rest):
            return _with_stacked(lines, i, rest)
    return None


def _header_symbols(lines: list[str]) -> str | None:
    """Older layouts (1990s UNCTAD): the symbol alone on a line near "Dist. GENERAL"."""
    for i, line in enumerate(lines[:_HEADER_LINES]):
        # A leading asterisk marks a footnote ("** E/2023/1"), not the document's own symbol.
        if _symbols_only(line) and not line.lstrip().startswith("*"):
            return _with_stacked(lines, i, line.strip())
    return None


def own_symbols(page1: str, meta_title: str | None = None) -> tuple[list[str], bool, str | None]:
    """(symbols, asterisked, source) of the document itself, not those it cites.

    Only positional evidence counts: the masthead line, then a symbol alone on a header line,
    then the PDF /Title when it is nothing but a symbol (most UN PDFs have an empty /Title).
    """
    lines = page1.splitlines()
    for source, raw in (("masthead", _masthead_symbols(lines)), ("header", _header_symbols(lines))):
        if raw:
            parts = unsymbols.split_joint(raw)
            return [unsymbols.normalise(p) for p in parts], any("*" in p for p in parts), source
    if meta_title and _symbols_only(meta_title):
        parts = unsymbols.split_joint(meta_title)
        return [unsymbols.normalise(p) for p in parts], False, "metadata"
    return [], False, None


def _join(lines: Iterable[str]) -> str:
    """Join wrapped title lines: a line ending in a hyphen continues the word."""
    out = ""
    for line in (ln.strip() for ln in lines):
        if not line:
            continue
        if out.endswith(tuple(unsymbols.DASHES)) and not out.endswith(" -"):
            out += line
        else:
            out = f"{out} {line}" if out else line
    # A trailing asterisk is a footnote call on the title, not part of it.
    return " ".join(out.split()).rstrip("*").rstrip()


def _paragraph(lines: list[str], i: int, first: str) -> list[str]:
    """first, then the lines wrapped after line i: non-blank and not indented (a new paragraph)."""
    block = [first]
    for line in lines[i + 1:]:
        # "Report of the Secretary-General" may follow the title unindented in some extractions.
        if _blank(line) or line[:1].isspace() or _NOT_TITLE.match(line):
            break
        block.append(line)
    return block


def _resolution_title(lines: list[str], symbols: list[str]) -> str | None:
    """GA resolution: the text after "78/323." up to "The General Assembly,"."""
    numbers = {s.split("/RES/", 1)[1] for s in symbols if "/RES/" in s}
    if not numbers:
        return None
    for i, line in enumerate(lines):
        m = _GA_RESOLUTION_NO.match(line)
        if m and m.group("no").replace(" ", "") in numbers:
            block = [m.group("rest")]
            for nxt in lines[i + 1:]:
                if _blank(nxt) or _GA_PREAMBLE.match(nxt):
                    break
                block.append(nxt)
            return _join(block)
    return None


def _sc_resolution_title(lines: list[str]) -> str | None:
    """Security Council resolutions have no descriptive title: "Resolution 2768 (2025)"."""
    for line in lines[:_HEADER_LINES]:
        if _SC_RESOLUTION.match(line):
            return _join([line])
    return None


def _indented_title(lines: list[str]) -> str | None:
    """Modern layout: the title is the first heading paragraph, which pypdf extracts indented."""
    for i, line in enumerate(lines):
        if _INDENTED.match(line) and not _NOT_TITLE.match(line):
            return _join(_paragraph(lines, i, line))
    return None


def _mostly_upper(line: str) -> bool:
    letters = [c for c in line if c.isalpha()]
    return len(letters) >= 8 and sum(c.isupper() for c in letters) >= 0.8 * len(letters)


def _capitals_title(lines: list[str]) -> str | None:
    """1990s layout: after the agenda line, a title in capitals over several lines."""
    head = lines[:_HEADER_LINES]
    # Start below the agenda line, else below "Original: ENGLISH" (the end of the distribution
    # block), so that "UNITED NATIONS" and the board's name are not taken for the title.
    anchors = [i for i, ln in enumerate(head) if _AGENDA.search(ln)] or \
        [i for i, ln in enumerate(head) if ln.strip().lower().startswith("original")]
    start = anchors[-1] + 1 if anchors else 0
    block: list[str] = []
    for line in head[start:]:
        if _mostly_upper(line):
            block.append(line)
        elif block:
            break
    return _join(block) if block else None


def _heading_title(headings: list[list[str]]) -> str | None:
    """Poppler engine: the first heading paragraph (larger type, in the text column, below the
    masthead; see :func:`poppler_page1`) that is not "Report of the Secretary-General" & co."""
    for paragraph in headings:
        if not _NOT_TITLE.match(paragraph[0]):
            return _join(paragraph)
    return None


def find_title(page1: str, symbols: list[str], headings: list[list[str]] | None = None) -> str | None:
    """The document's title from page-1 text, trying layouts from most to least specific.

    ``headings`` (poppler engine only) replaces the pypdf-specific indentation rule by geometry.
    """
    lines = page1.splitlines()
    modern = (lambda: _indented_title(lines)) if headings is None else (lambda: _heading_title(headings))
    for rule in (lambda: _resolution_title(lines, symbols), lambda: _sc_resolution_title(lines),
                 modern, lambda: _capitals_title(lines)):
        title = rule()
        if title:
            return title
    return None


def title_key(title: str) -> str:
    """Comparison form of a title: NFKC, casefolded, ASCII quotes and dashes, spaces collapsed."""
    t = unicodedata.normalize("NFKC", title)
    t = re.sub("[\u2018\u2019\u201a\u201b\u2032`]", "'", t)
    t = re.sub("[\u201c\u201d\u201e\u201f\u00ab\u00bb]", '"', t)
    t = re.sub(f"[{unsymbols.DASHES}]", "-", t)
    return " ".join(t.casefold().split())


# --------------------------------------------------------------------------- language

_SCRIPT_LANG = (("Cyrillic", "ru"), ("Arabic", "ar"), ("CJK", "zh"))
_LATIN_WORDS = {
    "en": {"the", "and", "of", "to", "is", "that", "for", "with", "by", "on", "are", "this", "you"},
    "fr": {"le", "les", "des", "et", "du", "une", "est", "dans", "pour", "sur", "aux", "au", "qui"},
    "es": {"el", "los", "las", "y", "del", "por", "para", "con", "una", "que", "se", "sobre", "su"},
}


def _script(ch: str) -> str | None:
    if not ch.isalpha():
        return None
    o = ord(ch)
    if 0x0400 <= o <= 0x04FF:
        return "Cyrillic"
    if 0x0600 <= o <= 0x06FF or 0xFB50 <= o <= 0xFEFF:
        return "Arabic"
    if 0x4E00 <= o <= 0x9FFF or 0x3400 <= o <= 0x4DBF:
        return "CJK"
    return "Latin" if o < 0x0250 else None


def detect_language(text: str) -> str | None:
    """ISO 639-1 code from the text itself: script first, then function words for Latin script.

    ("Original: English" is not used: translations print the original's language there.)
    """
    counts: dict[str, int] = {}
    for ch, n in Counter(text).items():  # each distinct character once, in order of appearance
        s = _script(ch)
        if s:
            # A Han character carries about a word; Latin needs ~3 letters to outweigh it.
            counts[s] = counts.get(s, 0) + (3 if s == "CJK" else 1) * n
    if not counts:
        return None
    script = max(counts, key=lambda s: counts[s])
    if script != "Latin":
        return dict(_SCRIPT_LANG)[script]
    words = re.findall(r"[a-zà-ÿ]+", text.lower())
    scores = {lang: sum(w in vocab for w in words) for lang, vocab in _LATIN_WORDS.items()}
    best = max(scores, key=lambda k: scores[k])
    return best if scores[best] else None


# --------------------------------------------------------------------------- PDF reading


def parse_page1(page1: str, meta_title: str | None = None,
                headings: list[list[str]] | None = None) -> Inspection:
    """Everything :class:`Inspection` says that page-1 text (and /Title) can tell.

    ``headings``: the heading paragraphs found by layout (poppler engine); None for pypdf's text,
    whose indentation marks them instead.
    """
    if quirks.is_ods_placeholder(page1):
        return Inspection(placeholder=True, lang=detect_language(page1))
    symbols, starred, source = own_symbols(page1, meta_title)
    return Inspection(
        symbols=symbols,
        title=find_title(page1, symbols, headings),
        lang=detect_language(page1),
        reissued=starred or bool(_REISSUE.search(" ".join(page1.split()))),
        symbol_source=source,
    )


def classify_error(exc: BaseException) -> str:
    """The Inspection.error string for an exception raised while reading a PDF."""
    from pypdf import errors

    if isinstance(exc, InspectError):
        return exc.kind
    if isinstance(exc, MemoryError):
        return "memory"
    if isinstance(exc, errors.LimitReachedError):
        return "memory"  # pypdf's own decompression-bomb guard tripped
    if isinstance(exc, (errors.FileNotDecryptedError, errors.WrongPasswordError)):
        return "encrypted"
    if isinstance(exc, errors.DependencyError) and "crypt" in str(exc).lower():
        return "encrypted"  # AES without the cryptography package: unreadable all the same
    detail = " ".join(str(exc).split())[:160]
    return f"malformed: {type(exc).__name__}: {detail}" if detail else f"malformed: {type(exc).__name__}"


# Files up to this size are read into memory first (pypdf parses a BytesIO faster than a file);
# bigger ones are read lazily through the open file, so a 500 MB PDF with a small page 1 costs its
# cross-reference table and page 1, not 500 MB (pypdf reads a *path* whole into memory).
IN_MEMORY_MAX = 16 * 2**20


@contextlib.contextmanager
def _reader(path: str | os.PathLike[str]) -> Iterator[Any]:  # Iterator[pypdf.PdfReader]
    """An open, readable PdfReader; raises InspectError("encrypted") when it cannot be decrypted."""
    from pypdf import PdfReader

    with open(path, "rb") as fh:
        small = os.fstat(fh.fileno()).st_size <= IN_MEMORY_MAX
        reader = PdfReader(io.BytesIO(fh.read()) if small else fh)
        # Many PDFs are encrypted only to set permissions, with an empty user password: readable.
        if reader.is_encrypted and not reader.decrypt(""):
            raise InspectError("encrypted")
        yield reader


def _meta_title(reader: Any) -> str | None:
    try:
        title = reader.metadata.title if reader.metadata else None
    except Exception:  # noqa: BLE001 - a broken Info dictionary must not hide page-1 facts
        return None
    return title if isinstance(title, str) else None


def read_pdf(path: str | os.PathLike[str]) -> Inspection:
    """Inspect one PDF in this process with pypdf alone (call it inside a worker, not in the pipeline)."""
    try:
        with _reader(path) as reader:
            pages = len(reader.pages)
            page1 = reader.pages[0].extract_text() if pages else ""
            ins = parse_page1(page1 or "", _meta_title(reader))
        ins.pages = pages
        return ins
    except Exception as exc:  # noqa: BLE001 - anything pypdf raises (MemoryError too) is a finding
        return Inspection(error=classify_error(exc))


def read_text(path: str | os.PathLike[str], max_pages: int | None = None) -> str:
    """Full text of a PDF, pages separated by form feeds (raises on unreadable files)."""
    with _reader(path) as reader:
        pages = reader.pages if max_pages is None else reader.pages[:max_pages]
        return "\f".join(p.extract_text() or "" for p in pages)


# --------------------------------------------------------------------------- poppler engine
# pdftotext -raw keeps the content-stream order (the order pypdf extracts in); -bbox adds each
# word's box, from which lines, type sizes and the text column are rebuilt below.

ENGINES = ("auto", "poppler", "pypdf")
ENGINE_ENV = "LINKWATCH_INSPECT_ENGINE"
PDFTOTEXT_ARGS = ("-q", "-raw", "-bbox", "-enc", "UTF-8", "-f", "1", "-l", "1")


def resolve_engine(engine: str | None = None) -> str:
    """"poppler" or "pypdf": ``engine``, else $LINKWATCH_INSPECT_ENGINE, else "auto" (poppler's
    pdftotext when it is on PATH, pypdf otherwise). Raises ValueError for an unknown name or for
    "poppler" without pdftotext."""
    name = (engine or os.environ.get(ENGINE_ENV) or "auto").strip().lower()
    if name not in ENGINES:
        raise ValueError(f"unknown inspection engine {name!r} (choose from {', '.join(ENGINES)})")
    if name == "pypdf":
        return name
    if shutil.which("pdftotext"):
        return "poppler"
    if name == "poppler":
        raise ValueError("inspection engine 'poppler' needs pdftotext on PATH (package poppler-utils)")
    return "pypdf"


_BBOX_WORD = re.compile(
    r'<word xMin="([-+.\d]+)" yMin="([-+.\d]+)" xMax="([-+.\d]+)" yMax="([-+.\d]+)">(.*?)</word>', re.DOTALL)
_HEADER_MARK = re.compile(r"\bdistr\b|\bdist\.|\boriginal\s*:|^\s*original\b", re.IGNORECASE)
_UN_NAME_START = re.compile(rf"^\s*(?:{_UN_NAME})\b|(?:{_UN_NAME})\s*$")

_Word = tuple[float, float, float, float, str]  # xMin, yMin, xMax, yMax, text (y grows downwards)


def _same_line(a: _Word, b: _Word) -> bool:
    """Either word's vertical middle lies within the other's box (superscripts, mixed sizes)."""
    return a[1] <= (b[1] + b[3]) / 2 <= a[3] or b[1] <= (a[1] + a[3]) / 2 <= b[3]


class _Line:
    """Words that content order shows on one line, with the line's geometry."""

    __slots__ = ("size", "text", "x0", "y0", "y1")

    def __init__(self, words: list[_Word]) -> None:
        prev = words[0]
        parts, x0, y0, y1 = [prev[4]], prev[0], prev[1], prev[3]
        weight = {round(y1 - y0, 1): len(prev[4])}  # box height → characters set at it
        for w in words[1:]:
            h = w[3] - w[1]
            # poppler splits a word where the font changes ("A" + "/79/716-" in a masthead): no gap,
            # no space.
            if not -0.5 <= w[0] - prev[2] < 0.12 * min(prev[3] - prev[1], h):
                parts.append(" ")
            parts.append(w[4])
            x0, y0, y1 = min(x0, w[0]), min(y0, w[1]), max(y1, w[3])
            key = round(h, 1)
            weight[key] = weight.get(key, 0) + len(w[4])
            prev = w
        self.text, self.x0, self.y0, self.y1 = "".join(parts), x0, y0, y1
        self.size = max(weight, key=lambda k: weight[k])  # the height most of its characters have


def _bbox_lines(bbox: bytes) -> list[_Line]:
    words = []
    for x0, y0, x1, y1, raw in _BBOX_WORD.findall(bbox.decode("utf-8", "replace")):
        text = (html.unescape(raw) if "&" in raw else raw).strip()
        if text:  # barcode fonts extract as empty words
            words.append((float(x0), float(y0), float(x1), float(y1), text))
    lines, current = [], []
    for w in words:
        if current and not _same_line(current[-1], w):
            lines.append(_Line(current))
            current = []
        current.append(w)
    if current:
        lines.append(_Line(current))
    return lines


def _mode(values: Iterable[tuple[float, int]]) -> float | None:
    """The value with the largest total weight, from (value, weight) pairs."""
    totals: dict[float, int] = {}
    for value, weight in values:
        totals[value] = totals.get(value, 0) + weight
    return max(totals, key=lambda v: totals[v]) if totals else None


def _headings(lines: list[_Line]) -> list[list[str]]:
    """Heading paragraphs: runs of lines set larger than the body text, starting at the left edge
    of the text column (not in the session/agenda columns), below the masthead and distribution
    block."""
    body = _mode((ln.size, len(ln.text)) for ln in lines)  # the size most of the text is set in
    column = _mode((round(ln.x0), 1) for ln in lines if abs(ln.size - body) <= 0.5) if body else None
    if body is None or column is None:
        return []
    top = max((ln.y1 for ln in lines[:_HEADER_LINES]
               if _HEADER_MARK.search(ln.text) or _UN_NAME_START.search(ln.text)), default=0.0)

    def heading(ln: _Line) -> bool:
        return ln.size >= 1.1 * body and abs(ln.x0 - column) <= 3 and ln.y0 > top

    out: list[list[str]] = []
    i = 0
    while i < len(lines):
        if not heading(lines[i]):
            i += 1
            continue
        block, first = [lines[i].text], lines[i]
        prev, i = first, i + 1
        while i < len(lines):
            ln = lines[i]
            gap = ln.y0 - prev.y1
            if not heading(ln) or abs(ln.size - first.size) > 0.6 or not -0.5 * ln.size <= gap < 0.5 * ln.size \
                    or _NOT_TITLE.match(ln.text):
                break
            block.append(ln.text)
            prev, i = ln, i + 1
        out.append(block)
    return out


def poppler_page1(bbox: bytes) -> tuple[str, list[list[str]]]:
    """(page-1 text, heading paragraphs) from ``pdftotext -raw -bbox`` output.

    The text has one line per line of type in content order, and a blank line where the next line
    does not follow right below (a paragraph break or a jump to another part of the page).
    """
    lines = _bbox_lines(bbox)
    out: list[str] = []
    for prev, ln in zip([None, *lines], lines):
        if prev is not None and not -prev.size <= ln.y0 - prev.y1 < 0.5 * min(prev.size, ln.size):
            out.append("")
        out.append(ln.text)
    return "\n".join(out), _headings(lines)


# Below this size pypdf reads page 1 in ~1 ms, less than starting pdftotext costs (~5 ms): a full
# check of 10,000 one-page 700-byte PDFs took 44 s with pdftotext for every file, 26 s with pypdf.
# The UN documents (80 KB and up) all go to pdftotext.
POPPLER_MIN_SIZE = 16 * 1024


def read_pdf_poppler(path: str | os.PathLike[str], pdftotext: str = "pdftotext") -> Inspection:
    """Inspect one PDF in this process with poppler's pdftotext for page 1's text and pypdf for the
    rest (call it inside a worker: pdftotext inherits the worker's limits).

    pdftotext runs while pypdf opens the file alongside: its structure (page count, encryption,
    /Title) and page 1's content streams decoded under pypdf's decompression limits, so that
    malformed, encrypted and decompression-bomb files get the very errors the pypdf engine gives.
    When pdftotext fails on a file pypdf could open, and for files under POPPLER_MIN_SIZE, the
    file is read by pypdf alone.
    """
    path = os.path.abspath(path)  # never mistaken for an option
    try:
        if os.path.getsize(path) < POPPLER_MIN_SIZE:
            return read_pdf(path)
        with subprocess.Popen([pdftotext, *PDFTOTEXT_ARGS, path, "-"], stdin=subprocess.DEVNULL,
                              stdout=subprocess.PIPE, stderr=subprocess.DEVNULL) as proc:
            try:
                with _reader(path) as reader:
                    pages = len(reader.pages)
                    meta_title = _meta_title(reader)
                    if pages:
                        reader.pages[0].get_contents()  # decoded only: a bomb raises here
                bbox, _ = proc.communicate()
            finally:
                if proc.poll() is None:
                    proc.kill()
        if proc.returncode != 0 or b"<page " not in bbox:
            return read_pdf(path)
        text, headings = poppler_page1(bbox)
        ins = parse_page1(text, meta_title, headings)
        ins.pages = pages
        return ins
    except Exception as exc:  # noqa: BLE001 - as read_pdf: every failure is a finding
        return Inspection(error=classify_error(exc))


# --------------------------------------------------------------------------- sandboxed pool


class _Timeout(Exception):
    pass


class _Died(Exception):
    pass


class _WorkerProcess:
    """One long-lived ``linkwatch.pdf.worker`` process speaking JSON lines on stdin/stdout."""

    STARTUP_TIMEOUT = 60.0  # interpreter + pypdf import, generous for loaded CI machines

    def __init__(self, memory_mb: int) -> None:
        from . import worker

        # Its own session and process group, so that kill() also reaches a pdftotext it started.
        self.proc = subprocess.Popen(
            worker.command(memory_mb), stdin=subprocess.PIPE, stdout=subprocess.PIPE, bufsize=0,
            start_new_session=True,
        )
        self._buf = bytearray()
        try:
            ready = self._read_line(self.STARTUP_TIMEOUT)
        except (_Timeout, _Died, ValueError):
            ready = {}
        if ready.get("ready") is not True:
            self.kill()
            raise RuntimeError(f"inspection worker failed to start (exit code {self.proc.returncode})")

    def _read_line(self, timeout: float) -> dict:
        deadline = time.monotonic() + timeout
        assert self.proc.stdout is not None
        fd = self.proc.stdout.fileno()
        end = self._buf.find(b"\n")
        while end < 0:
            left = deadline - time.monotonic()
            if left <= 0:
                raise _Timeout
            readable, _, _ = select.select([fd], [], [], left)
            if readable:
                chunk = os.read(fd, 1 << 20)
                if not chunk:
                    raise _Died
                seen = len(self._buf)
                self._buf += chunk  # a full-text reply can be megabytes: search only the new part
                end = self._buf.find(b"\n", seen)
        line = bytes(self._buf[:end])
        del self._buf[: end + 1]
        return json.loads(line)

    def request(self, message: dict, timeout: float) -> dict:
        """Send one request and wait for its answer; raises _Timeout or _Died."""
        assert self.proc.stdin is not None
        try:
            self.proc.stdin.write(json.dumps(message).encode() + b"\n")
        except (BrokenPipeError, OSError) as exc:
            raise _Died from exc
        return self._read_line(timeout)

    def kill(self) -> None:
        """Kill the process and anything it started (pdftotext), and reap it."""
        if self.proc.returncode is None:
            # Not reaped yet, so the group id is still this worker's: SIGKILL the whole group, the
            # worker and a pdftotext it may be waiting for (dead or alive, the worker is reaped next).
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait()
        for stream in (self.proc.stdin, self.proc.stdout):
            if stream:
                stream.close()


class Inspector:
    """Thread-safe pool of sandboxed worker processes that inspect PDFs.

    Each worker is a long-lived process (``python -m linkwatch.pdf.worker``-equivalent) under an
    address-space limit of ``memory_mb`` (RLIMIT_AS, interpreter included); each request must be
    answered within ``timeout`` seconds or the worker is killed and replaced. Workers start
    lazily, at most ``workers`` at once; callers beyond that wait for an idle one.

    ``engine`` reads page 1: "poppler" (pdftotext, started by the worker: same address-space
    limit, killed with the worker on timeout), "pypdf", or "auto"/None: :func:`resolve_engine`
    (``$LINKWATCH_INSPECT_ENGINE``, else poppler when pdftotext is installed). Both engines give
    the same :class:`Inspection` on the UN fixtures; poppler is ~3× faster.
    """

    def __init__(self, workers: int = 2, timeout: float = 30.0, memory_mb: int = 1024,
                 engine: str | None = None) -> None:
        self.size, self.timeout, self.memory_mb = max(1, workers), timeout, memory_mb
        self.engine = resolve_engine(engine)
        self._pdftotext = shutil.which("pdftotext") if self.engine == "poppler" else None
        self._idle: queue.SimpleQueue[_WorkerProcess] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._live: set[_WorkerProcess] = set()
        self._slots = threading.Semaphore(self.size)
        self._closed = False

    def __enter__(self) -> Inspector:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _acquire(self) -> _WorkerProcess:
        self._slots.acquire()
        try:
            if self._closed:
                raise RuntimeError("Inspector is closed")
            while True:
                try:
                    w = self._idle.get_nowait()
                except queue.Empty:
                    break
                if w.proc.poll() is None:
                    return w
                self._discard(w)  # died while idle (killed from outside): not this file's fault
            w = _WorkerProcess(self.memory_mb)
            with self._lock:
                self._live.add(w)
            return w
        except BaseException:
            self._slots.release()
            raise

    def _release(self, w: _WorkerProcess, healthy: bool) -> None:
        if healthy and not self._closed:
            self._idle.put(w)
        else:
            self._discard(w)
        self._slots.release()

    def _discard(self, w: _WorkerProcess) -> None:
        # The replacement is spawned lazily by the next _acquire.
        w.kill()
        with self._lock:
            self._live.discard(w)

    def _call(self, message: dict, timeout: float | None) -> dict:
        """One request; a worker that dies is replaced and the request tried once more on a fresh
        one, so a worker killed from outside is not blamed on the file."""
        reply = self._call_once(message, timeout)
        if "died" in reply:
            reply = self._call_once(message, timeout)
        if "died" in reply:
            # Death under RLIMIT_AS (a C allocation failing, SIGKILL/SIGSEGV) is the usual cause.
            code = reply["died"]
            return {"error": "memory" if code < 0 else f"malformed: worker exited with {code}"}
        return reply

    def _call_once(self, message: dict, timeout: float | None) -> dict:
        w = self._acquire()
        healthy = False
        try:
            reply = w.request(message, self.timeout if timeout is None else timeout)
            # After a MemoryError the worker's heap may be in a bad state: start afresh.
            healthy = "memory" not in (reply.get("error"), reply.get("inspection", {}).get("error"))
            return reply
        except _Timeout:
            return {"error": "timeout"}
        except _Died:
            w.kill()  # the group too: a pdftotext it started must not outlive it
            return {"died": w.proc.returncode}
        finally:
            self._release(w, healthy)

    def inspect(self, path: str | os.PathLike[str], timeout: float | None = None) -> Inspection:
        """Inspect one PDF in a worker: symbols, title, language, pages, or an error.

        ``timeout`` overrides the pool's wall-clock limit for this call.
        """
        message = {"op": "inspect", "path": str(Path(path).resolve()), "engine": self.engine}
        if self._pdftotext:
            message["pdftotext"] = self._pdftotext
        reply = self._call(message, timeout)
        if "inspection" in reply:
            return Inspection(**reply["inspection"])
        return Inspection(error=reply.get("error", "malformed: no answer"))

    def extract_text(self, path: str | os.PathLike[str], max_pages: int | None = None,
                     timeout: float | None = None) -> str:
        """Full text (pages separated by form feeds) in a worker; raises InspectError on failure."""
        message = {"op": "text", "path": str(Path(path).resolve()), "max_pages": max_pages}
        reply = self._call(message, timeout)
        if "text" in reply:
            return reply["text"]
        raise InspectError(reply.get("error", "malformed: no answer"))

    def pids(self) -> list[int]:
        """Process ids of the live workers (diagnostics and tests)."""
        with self._lock:
            return sorted(w.proc.pid for w in self._live)

    def close(self) -> None:
        """Stop every worker. Idempotent."""
        self._closed = True
        with self._lock:
            live, self._live = list(self._live), set()
        for w in live:
            w.kill()


def inspect_files(paths: Iterable[str | os.PathLike[str]],
                  inspector: Inspector | None = None) -> list[tuple[str, Inspection]]:
    """Inspect local files (``linkwatch inspect FILE...``), in order, in sandboxed workers."""
    paths = [str(p) for p in paths]
    if inspector is not None:
        return [(p, inspector.inspect(p)) for p in paths]
    with Inspector(workers=1) as own:
        return [(p, own.inspect(p)) for p in paths]
