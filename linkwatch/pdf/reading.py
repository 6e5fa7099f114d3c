"""Reading rules for page 1: the document's own symbols, its title, its language.

The rules follow the UN's editorial conventions, not particular files (docs/inspection.md):

- **Own symbols** are read where the UN prints them: the masthead line ("United Nations" and the
  symbol; "United Nations System" for CEB), a symbol alone on a header line (older layouts,
  covers: ``JIU/REP/2025/1 [Expanded report]``), a short label and the symbol ("Review Highlights
  JIU/NOTE/2022/1/Rev.1"), or a PDF /Title that is nothing but a symbol. Never the symbols the text
  cites. A reading that looks like an OCR misreading (``A/39/36I``) is not evidence: it is reported
  as *unverified*, with the symbol it probably stands for.
- **Title**, from the most to the least specific layout: a General Assembly resolution (the text
  after "78/323."), a Security Council resolution ("Resolution 2768 (2025)"), a cover (Official
  Records, JIU reports, publications: the largest type, joined to its "Report on…" line), the
  modern template (the first heading paragraph — type larger than the body — below the masthead
  and the session/agenda block, skipping subtitles such as "Report of the Secretary-General" and
  an entity banner such as "UNITED NATIONS POPULATION FUND"), a letter or note verbale heading
  ("Letter dated … addressed to …"), and the typewriter layout of the 1990s (a block in capitals
  below the agenda line). Footnote calls are not part of a title.
- **Language** is decided from running text (sentences), not from the names, headings and tables
  of contents that page 1 may be full of.
"""
from __future__ import annotations

import re
import unicodedata
from collections import Counter
from collections.abc import Callable, Iterable

from ..un import quirks
from ..un import symbols as unsymbols
from .model import Inspection
from .page import Line, Page, follows, from_text, weighted_mode

# --------------------------------------------------------------------------- masthead

# The organisation's name printed left of the symbol in the masthead, in the six official languages
# (the longer name first: CEB documents carry "United Nations System").
UN_NAMES: tuple[str, ...] = (
    "United Nations System", "Système des Nations Unies", "Sistema de las Naciones Unidas",
    "United Nations", "Nations Unies", "Naciones Unidas",
    "Организация Объединенных Наций", "الأمم المتحدة", "联合国",
)
_UN_NAME = "|".join(re.escape(n) for n in UN_NAMES)
# Name then symbol; Arabic may extract in the other order.
# Greedy and anchored on non-blanks at both ends: the lazy "\S.*?\s*$" tried the trailing blanks
# at every position, quadratic in a line of spaces (issue 12: a 724-byte PDF held a worker for its
# whole timeout).
_MASTHEAD = re.compile(rf"^\s*(?:{_UN_NAME})\s+(?P<rest>\S(?:.*\S)?)\s*$|^\s*(?P<rtl>\S(?:.*\S)?)\s+(?:{_UN_NAME})\s*$")
_UN_NAME_START = re.compile(rf"^\s*(?:{_UN_NAME})\b")
_LIST_LABELS = re.compile(r"(?:^|(?<=\s))[IVX]{1,4}\.(?=\s|[A-Z])")
# A cover or brochure labels its symbol: "Review Highlights JIU/NOTE/2022/1/Rev.1" (a short label
# of capitalised words, no digits), or qualifies it: "JIU/REP/2025/1 [Expanded report]".
_LABELLED = re.compile(r"^\s*(?:[A-Z][A-Za-zÀ-ÿ’']*\s+){1,3}(?P<symbol>\S+)\s*$")
_QUALIFIER = re.compile(r"\s*\[[^\]]{1,40}\]\s*$")
_REISSUE = re.compile(
    r"reissued for technical reasons|nouveau tirage pour raisons techniques"
    r"|publicado nuevamente por razones t[ée]cnicas|по техническим причинам"
    r"|أعيد إصدار|因技术原因重新印发",
    re.IGNORECASE,
)
HEADER_LINES = 40  # the masthead/distribution block sits within the first lines of page 1
_HEADER_MARK = re.compile(r"\bdistr\b|\bdist\.|\boriginal\s*:|^\s*original\b", re.IGNORECASE)
_DATE = re.compile(r"^\s*\d{1,2} [A-Za-zéû]+ (?:19|20)\d\d\s*$")  # the distribution block's date


def _symbols_only(text: str) -> bool:
    """True when text is nothing but a (possibly joint, possibly asterisked) symbol."""
    parts = unsymbols.split_joint(text.strip().rstrip("".join(unsymbols.DASHES)))
    return bool(parts) and all(unsymbols.looks_like_symbol(p) for p in parts)


def _with_stacked(lines: list[str], i: int, first: str) -> str:
    """The symbol text at line i, plus the next line when a joint symbol is stacked on two lines."""
    nxt = next((j for j in range(i + 1, len(lines)) if lines[j].strip()), None)
    if nxt is not None and _symbols_only(lines[nxt]) and not lines[nxt].lstrip().startswith("*"):
        return first + "\n" + lines[nxt].strip()
    return first


def _masthead_symbols(lines: list[str]) -> str | None:
    """Symbol text of the masthead line "United Nations  A/79/716-S/2025/18" (anywhere on the page:
    some files extract it after the title). List numbers that a word processor's numbering leaked
    into the masthead ("II. United Nations III. DP/OPS/2025/12") are not part of it."""
    for i, line in enumerate(lines):
        m = _MASTHEAD.match(_LIST_LABELS.sub(" ", line))
        rest = m and (m.group("rest") or m.group("rtl"))
        if rest and _symbols_only(rest):
            return _with_stacked(lines, i, rest)
    return None


def _header_symbols(lines: list[str]) -> str | None:
    """Older layouts and covers: the symbol alone on a header line (perhaps with a bracketed
    qualifier), or after a short label."""
    for i, line in enumerate(lines[:HEADER_LINES]):
        bare = _QUALIFIER.sub("", line)
        # A leading asterisk marks a footnote ("** E/2023/1"), not the document's own symbol.
        if bare.lstrip().startswith("*"):
            continue
        if _symbols_only(bare) or unsymbols.ocr_candidate(bare.strip()):
            return _with_stacked(lines, i, bare.strip())
        labelled = _LABELLED.match(bare)
        if labelled and i < 15 and "/" in labelled.group("symbol") and _symbols_only(labelled.group("symbol")):
            return labelled.group("symbol")
    return None


def own_symbols(page1: str, meta_title: str | None = None) -> tuple[list[str], bool, str | None, list[str]]:
    """(symbols, asterisked, source, unverified) of the document itself, not those it cites.

    Only positional evidence counts: the masthead line, then a symbol on a header line, then the
    PDF /Title when it is nothing but a symbol (most UN PDFs have an empty /Title). A part that
    reads like an OCR misreading goes to ``unverified`` as the symbol it probably stands for.
    """
    lines = page1.splitlines()
    found = [(src, raw) for src, raw in (("masthead", _masthead_symbols(lines)), ("header", _header_symbols(lines)))
             if raw]
    if not found and meta_title and _symbols_only(meta_title):
        found = [("metadata", meta_title)]
    if not found:
        return [], False, None, []
    source, raw = found[0]
    parts = unsymbols.split_joint(raw)
    symbols, unverified = [], []
    for part in parts:
        near = unsymbols.ocr_candidate(part)
        (unverified if near else symbols).append(near or unsymbols.normalise(part))
    starred = source != "metadata" and any("*" in p for p in parts)
    return symbols, starred, source, unverified


# --------------------------------------------------------------------------- title

# "78/323. International Day…", "ES-10/24. …": the resolution's number, then its title.
_GA_RESOLUTION_NO = re.compile(
    r"^\s*(?P<no>(?:ES-\d+/|S-\d+/)?\d{1,3}/\d{1,4}(?: ?[A-Z])?)\.\s+(?P<rest>\S.*)$")
_GA_PREAMBLE = re.compile(
    r"^\s*(The General Assembly|L[’']Assemblée générale|La Asamblea General|Генеральная Ассамблея)\b")
_SC_RESOLUTION = re.compile(r"^\s*(Resolution|Résolution|Resolución|Резолюция) \d+ \(\d{4}\)\s*$")
# Headings that sit in the title's typographic slot but are not the title: the subtitle naming the
# author or the kind of document, in the six languages.
_NOT_TITLE = re.compile(
    r"^\s*(\[|resolution adopted by|adopted by the|report of the secretary-general\s*$"
    r"|(forty|fif|six|seven|eigh|nine|thir|twen|first|second|third|\w+th|\w+st)[\w-]* (semi-annual |annual |quarterly )?"
    r"report of the secretary-general\s*$"
    r"|report of the (undp |unops |unfpa |unicef )?(administrator|executive director|managing director)\W*$"
    r"|note by the (secretary-general|secretariat|co-chairs|president)\s*$|addendum\s*$|corrigendum\s*$"
    r"|summary\s*$|contents\s*$|chair[’']s summary\s*$"
    r"|draft (resolution|decision)s? submitted (by|to)\b"
    r"|rapport du secrétaire général\s*$|note (du secrétaire général|du secrétariat)\s*$|additif\s*$"
    r"|rectificatif\s*$|résumé\s*$|table des mati[eè]res\s*$"
    r"|informe del secretario general\s*$|nota (del secretario general|de la secretaría)\s*$|adición\s*$"
    r"|corrección\s*$|resumen\s*$"
    r"|доклад генерального секретаря\s*$|записка (генерального секретаря|секретариата)\s*$"
    r"|добавление\s*$|исправление\s*$|резюме\s*$"
    r"|تقرير الأمين العام\s*$|مذكرة من (الأمين العام|الأمانة العامة)\s*$|إضافة\s*$|تصويب\s*$|موجز\s*$"
    r"|秘书长的报告\s*$|秘书长的说明\s*$|秘书处的说明\s*$|增编\s*$|更正\s*$|概要\s*$)",
    re.IGNORECASE,
)
# Executive Board documents (UNDP/UNFPA/UNOPS, UNICEF) set the entity's name above the title.
_ENTITY_BANNER = re.compile(
    r"^\s*(?:the\s+)?united nations [\w’' ]*(?:fund|programme|office for project services)\s*$", re.IGNORECASE)
# The session and agenda block left of the text column: "Seventy-ninth session", "2025 session",
# "First regular session 2025", "Item 9 of the provisional agenda*", "Agenda items 32, 69 and 71".
_SESSION_MARK = re.compile(  # (a capital first: "thirty-third special session" ends a title)
    r"^\s*(?-i:[A-Z0-9])[\w-]*\s+(?:[\w-]+\s+){0,2}session(?:\s+(?:of\s+)?\d{4})?\s*[,*]?\s*$"
    r"|^\s*(?-i:A)genda\s+items?\s+\d+\b.*$|^\s*(?-i:I)tems?\s+\d+\b.*$"
    r"|^\s*(?-i:[A-Z]).*\b(?:provisional agenda|preliminary list)\s*\**\s*$",
    re.IGNORECASE)
# "Agenda item 43", "Item 5 of the provisional agenda" (not a title that mentions an agenda).
_AGENDA = re.compile(
    r"^\s*(agenda items?\b|items? \d+\b.*\bagenda\b|temas? \d+\b.*\bprograma\b"
    r"|points? \d+\b.*\bordre du jour\b|пункты? \d+\b.*\bповестки\b)",
    re.IGNORECASE,
)
_OLD_SESSION = re.compile(r"^\s*(?:[\w-]+\s+){0,3}(?:session|sesi[oó]n)\b.{0,20}$", re.IGNORECASE)
_SECTION = re.compile(r"^\s*(?:[IVX]+|[A-H]|\d{1,2})\.\s")  # "I. Introduction": the body has begun
_LETTER = re.compile(r"^\s*(?:identical\s+)?(?:letters?|note verbale|notes verbales)\s+dated\b", re.IGNORECASE)
_NOT_TEXT = re.compile(r"^\s*\*[\dA-Z]+\*\s*$|^\s*(?:GE\.)?\d{2}-\d{5}\b")  # barcode, job number
_COVER_MARK = re.compile(r"^\s*(?:official records|documents officiels|documentos oficiales)\b", re.IGNORECASE)
# Cover lines that are not the title: the organ, the series, the supplement, a year alone.
_COVER_FURNITURE = re.compile(
    rf"^\s*(?:(?:{_UN_NAME})\s*$|general assembly\s*$|security council\s*$|economic and social council\s*$"
    r"|official records|supplement|\w+(?:-\w+)? session\s*$|overview\s*$|\d{4}\s*$|geneva|new york"
    r"|united nations conference on trade|u n i t e d)",
    re.IGNORECASE)
_HEADING = 1.12  # a heading is set at least this much larger than the body text
_BANNER = 1.5  # the organ's name in the masthead: much larger than any title


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
    # A trailing asterisk or dagger is a footnote call on the title, not part of it.
    return " ".join(out.split()).rstrip("*\u2020\u2021 ,").rstrip()


def _paragraphs(lines: list[Line], same: Callable[[Line, Line], bool]) -> list[list[Line]]:
    """Consecutive lines (content order) grouped while ``same(previous, next)`` holds."""
    out: list[list[Line]] = []
    for ln in lines:
        if out and same(out[-1][-1], ln):
            out[-1].append(ln)
        else:
            out.append([ln])
    return out


def _same_paragraph(a: Line, b: Line) -> bool:
    return abs(a.size - b.size) <= 0.08 * max(a.size, b.size) and follows(a, b) and not _NOT_TITLE.match(b.text)


def _body_size(page: Page) -> float:
    """The body type: the size of running text (five or more full lines); on a page with little
    running text, the size of the distribution block ("Distr.: General", the date), which the
    template sets in body type; else the size most characters are set in."""
    full = Counter(round(ln.size, 1) for ln in page.lines if len(ln.text) >= 50)
    if full and full.most_common(1)[0][1] >= 5:
        return full.most_common(1)[0][0]
    distr = [ln.size for ln in page.lines if ln.top < 0.25 * page.height and (
        _HEADER_MARK.search(ln.text) or _DATE.match(ln.text))]
    return min(distr) if distr else weighted_mode((round(ln.size, 1), len(ln.text)) for ln in page.lines) or 1.0


def _garbled(text: str) -> bool:
    """OCR noise: words with a capital after a small letter ("oRIGTNAL", "nF"), a digit between
    letters or a letter between digits ("19Ô0") — two of them, or a quarter of the words (one
    "McDonald" is a name): not a title anyone printed ("1990s" is fine)."""
    words = [w.strip(".,;:()[]'’\"*") for w in text.split()]
    noisy = sum(1 for w in words if w.isalpha() and re.search(r"[a-z][A-Z]", w)
                or w.isalnum() and re.search(r"[^\W\d_]\d[^\W\d_]|\d[^\W\d_]\d", w))
    return noisy >= 2 or noisy > 0.25 * len(words)


def _modern_title(page: Page, own: list[str]) -> str | None:
    """The first heading paragraph below the masthead and the session/agenda block."""
    body = _body_size(page)
    # The masthead: "United Nations" and the symbol at the very top, the organ's name in large
    # type, the distribution block at the right; it sets the text column's left edge.
    masthead = [ln for ln in page.lines if ln.top < 0.25 * page.height and (
        ln.top < 0.15 * page.height and _UN_NAME_START.match(ln.text) or ln.size >= _BANNER * body
        or _HEADER_MARK.search(ln.text) or any(s in ln.text for s in own))]
    start = max((ln.bottom for ln in masthead), default=0.0)
    banners = [ln.x0 for ln in masthead if ln.size >= _BANNER * body]  # the organ's name
    edge = min(banners or [ln.x0 for ln in masthead if _MASTHEAD.match(ln.text)], default=0.0)
    # The session and agenda block hangs left of that column, above the title.
    block = [ln.bottom for ln in page.lines if start <= ln.top < 0.6 * page.height and _SESSION_MARK.match(ln.text)]
    start = max([start, *block])
    candidates = [ln for ln in page.lines if ln.top >= start - 0.5 and ln.bottom < 0.9 * page.height
                  and ln.size >= _HEADING * body and ln.x0 >= edge - 25 and not _NOT_TEXT.match(ln.text)]
    paragraphs = [p for p in _paragraphs(candidates, _same_paragraph) if not _NOT_TITLE.match(p[0].text)]
    for i, para in enumerate(paragraphs):
        text = _join(ln.text for ln in para)
        if _SECTION.match(text):
            return None  # the body's first section: no title above it
        if len(para) == 1 and _ENTITY_BANNER.match(text) and i + 1 < len(paragraphs):
            continue
        return text
    return None


def _cover_title(page: Page) -> str | None:
    """Covers (Official Records, JIU reports, publications): the largest type that is not the
    organ, the series or the supplement; a body's name is joined to its "Report on…" line."""
    if not any(_COVER_MARK.match(ln.text) for ln in page.lines) and (
            len(page.lines) > 20 or any(_HEADER_MARK.search(ln.text) for ln in page.lines)):
        return None
    lines = [ln for ln in page.lines if not _COVER_FURNITURE.match(ln.text) and not _NOT_TEXT.match(ln.text)
             and not _symbols_only(_QUALIFIER.sub("", ln.text))]
    paragraphs = _paragraphs(lines, lambda a, b: abs(a.size - b.size) <= 0.08 * a.size and follows(a, b))
    if not paragraphs:
        return None
    i = max(range(len(paragraphs)), key=lambda k: paragraphs[k][0].size)
    title = _join(ln.text for ln in paragraphs[i])
    nxt = _join(ln.text for ln in paragraphs[i + 1]) if i + 1 < len(paragraphs) else ""
    # Official Records of a subsidiary body: its name in the largest type, then "Report on the …
    # session" (ECOSOC) or "Biennial Report": the title is both.
    official = any(_COVER_MARK.match(ln.text) for ln in page.lines)
    if official and "report" not in title.lower() and re.search(r"\breport\b", nxt, re.IGNORECASE):
        title = f"{title}: {nxt}"
    return title


def _resolution_title(lines: list[str], symbols: list[str]) -> str | None:
    """GA resolution: the text after "78/323." up to "The General Assembly,"."""
    numbers = {s.split("/RES/", 1)[1] for s in symbols if "/RES/" in s}
    for i, line in enumerate(lines if numbers else []):
        m = _GA_RESOLUTION_NO.match(line)
        if m and m.group("no").replace(" ", "") in numbers:
            block = [m.group("rest")]
            for nxt in lines[i + 1:]:
                if not nxt.strip() or _GA_PREAMBLE.match(nxt):
                    break
                block.append(nxt)
            return _join(block)
    return None


def _sc_resolution_title(lines: list[str]) -> str | None:
    """Security Council resolutions have no descriptive title: "Resolution 2768 (2025)"."""
    return next((_join([ln]) for ln in lines[:HEADER_LINES] if _SC_RESOLUTION.match(ln)), None)


def _text_paragraph(lines: list[str], i: int) -> list[str]:
    block = [lines[i]]
    for line in lines[i + 1:]:
        if not line.strip() or _NOT_TITLE.match(line):
            break
        block.append(line)
    return block


def _letter_title(lines: list[str]) -> str | None:
    """A letter or note verbale: its heading runs from "Letter dated" to the paragraph's end."""
    for i, line in enumerate(lines):
        if _LETTER.match(line):
            block = _text_paragraph(lines, i)
            end = max((k for k, ln in enumerate(block) if "addressed to" in ln.lower()), default=None)
            return _join(block if end is None else block[:end + 1] + _addressee_rest(block, end))
    return None


def _addressee_rest(block: list[str], end: int) -> list[str]:
    # "… addressed to the" / "Secretary-General": the addressee may wrap onto the next line.
    tail = block[end].rstrip().lower()
    return block[end + 1:end + 2] if tail.endswith((" to", " the", " of", " and", ",")) else []


def _indented_title(page: Page) -> str | None:
    """Plain text in which the heading paragraphs are indented (pypdf's plain extraction)."""
    lines = page.lines
    for i, ln in enumerate(lines):
        if ln.x0 >= 2 and not _NOT_TITLE.match(ln.text):
            block = [ln]
            for nxt in lines[i + 1:]:  # wrapped lines follow unindented; a gap or an indent ends it
                if not follows(block[-1], nxt) or nxt.x0 >= 1 or _NOT_TITLE.match(nxt.text):
                    break
                block.append(nxt)
            return _join(b.text for b in block)
    return None


def _mostly_upper(line: str) -> bool:
    letters = [c for c in line if c.isalpha()]
    return len(letters) >= 8 and sum(c.isupper() for c in letters) >= 0.8 * len(letters)


def _capitals_title(lines: list[str]) -> str | None:
    """1990s layout: after the agenda line, a title in capitals over several lines."""
    head = lines[:HEADER_LINES]
    # Start below the last of the agenda line, the session line and "Original: ENGLISH" (the end
    # of the distribution block): the organ's and the board's names in capitals come before them
    # ("ECONOMIC AND SOCIAL COUNCIL", "FONDS DES NATIONS UNIES POUR L'ENFANCE"), the title after.
    anchors = [i for i, ln in enumerate(head) if _AGENDA.search(ln) or _OLD_SESSION.match(ln)
               or ln.strip().lower().startswith("original")]
    start = anchors[-1] + 1 if anchors else 0
    block: list[str] = []
    for line in head[start:]:
        if _mostly_upper(line) and not _garbled(line) and not _symbols_only(line):
            block.append(line)
        elif block:
            break
    return _join(block) if block else None


def find_title(page: Page, symbols: list[str]) -> str | None:
    """The document's title, trying layouts from the most to the least specific."""
    lines = page.text().splitlines()
    rules: list[Callable[[], str | None]] = [
        lambda: _resolution_title(lines, symbols), lambda: _sc_resolution_title(lines)]
    if page.geometry:
        rules += [lambda: _cover_title(page), lambda: _modern_title(page, symbols)]
    else:
        rules += [lambda: _indented_title(page)]
    rules += [lambda: _letter_title(lines), lambda: _capitals_title(lines)]
    for rule in rules:
        title = rule()
        if title and not _garbled(title):
            return title
    return None


# --------------------------------------------------------------------------- language

_SCRIPT_LANG = (("Cyrillic", "ru"), ("Arabic", "ar"), ("CJK", "zh"))
_LATIN_WORDS = {
    "en": {"the", "and", "of", "to", "is", "that", "for", "with", "by", "on", "are", "this", "you", "has", "have"},
    "fr": {"le", "les", "des", "et", "du", "une", "est", "dans", "pour", "sur", "aux", "au", "qui", "sont"},
    "es": {"el", "los", "las", "y", "del", "por", "para", "con", "una", "que", "se", "sobre", "su", "es"},
}
_LEADERS = re.compile(r"(?:\.\s?){4,}|…{2,}")  # a table of contents' dot leaders


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


def _running_text(lines: Iterable[str]) -> str:
    """The lines that read as sentences: not a table of contents entry, not a run of capitalised
    words (organisation names, headings, lists of members)."""
    keep = []
    for line in lines:
        words = re.findall(r"[^\W\d_]+", line)
        if len(words) < 5 or _LEADERS.search(line):
            continue
        capitalised = sum(w[0].isupper() for w in words if len(w) > 3)
        if capitalised > 0.6 * max(1, sum(len(w) > 3 for w in words)):
            continue
        keep.append(line)
    return "\n".join(keep)


def detect_language(text: str) -> str | None:
    """ISO 639-1 code from the text itself: script first, then function words of running text for
    Latin script ("Original: English" is not used: translations print the original's language there)."""
    counts: dict[str, int] = {}
    for ch, n in Counter(text).items():
        s = _script(ch)
        if s:
            # A Han character carries about a word; Latin needs ~3 letters to outweigh it.
            counts[s] = counts.get(s, 0) + (3 if s == "CJK" else 1) * n
    if not counts:
        return None
    script = max(counts, key=lambda s: counts[s])
    if script != "Latin":
        return dict(_SCRIPT_LANG)[script]
    for sample in (_running_text(text.splitlines()), text):
        words = re.findall(r"[a-zà-ÿ]+", sample.lower())
        scores = {lang: sum(w in vocab for w in words) for lang, vocab in _LATIN_WORDS.items()}
        best = max(scores, key=lambda k: scores[k])
        if scores[best] >= 3 or sample is text and scores[best]:
            return best
    return None


# --------------------------------------------------------------------------- everything at once


def read_page(page: Page, meta_title: str | None = None) -> Inspection:
    """Everything :class:`Inspection` says that page 1 (and the PDF /Title) can tell."""
    text = page.text()
    if quirks.is_ods_placeholder(text):
        return Inspection(placeholder=True, lang=detect_language(text))
    symbols, starred, source, unverified = own_symbols(text, meta_title)
    return Inspection(
        symbols=symbols,
        title=find_title(page, symbols or unverified),
        lang=detect_language(text),
        reissued=starred or bool(_REISSUE.search(" ".join(text.split()))),
        symbol_source=source,
        unverified=unverified,
    )


def parse_page1(page1: str, meta_title: str | None = None) -> Inspection:
    """:func:`read_page` for plain page-1 text (no geometry: text-order rules only)."""
    return read_page(from_text(page1), meta_title)


def title_key(title: str) -> str:
    """Comparison form of a title: NFKC, casefolded, ASCII quotes and dashes, spaces collapsed."""
    t = unicodedata.normalize("NFKC", title)
    t = re.sub("[\u2018\u2019\u201a\u201b\u2032`]", "'", t)
    t = re.sub("[\u201c\u201d\u201e\u201f\u00ab\u00bb]", '"', t)
    t = re.sub(f"[{unsymbols.DASHES}]", "-", t)
    return " ".join(t.casefold().split())


_TRAILING_GROUP = re.compile(r"\s*\([^()]*\)\s*$")
_FOOTNOTE_END = re.compile(r"[*\u2020\u2021]\s*$")


def words_key(title: str) -> str:
    """The words of a title: accents, case, punctuation, quotes, dashes and spacing ignored."""
    t = unicodedata.normalize("NFKD", title)
    t = "".join(c for c in t if not unicodedata.combining(c)).casefold()
    return " ".join(re.sub(r"[^\w]+|_", " ", t).split())


def title_matches(got: str | None, expected: Iterable[str]) -> bool:
    """True when a title read is an acceptable reading of one of the ``expected`` titles: the same
    words (:func:`words_key`), also when a trailing parenthesised group — a date or place line
    that some layouts set in the title block and others below it — is on one side only. A title
    still ending in a footnote call is not acceptable."""
    if not got or _FOOTNOTE_END.search(got):
        return False
    mine = {words_key(got), words_key(_TRAILING_GROUP.sub("", got))}
    return any(mine & {words_key(e), words_key(_TRAILING_GROUP.sub("", e))} for e in expected)
