"""UN document symbols: split, normalise, compare and find them.

A symbol is an organ prefix (``A``, ``S``, ``E``, ``TD``, ``UNEP``…) followed by ``/``-separated
components: ``A/RES/78/323``, ``A/HRC/WG.6/34/ITA/3``, ``TD/B/EX(70)/R.1``, ``A/ES-10/1022``.
A Security Council resolution carries its year: ``S/RES/2768 (2025)``. A *joint* symbol names one
document issued to several organs, its parts joined by a dash or a line break:
``A/79/716-S/2025/18``, ``A/80/62*−E/2025/12*``.

The grammar (after the UN Dag Hammarskjöld Library's guide to document symbols) is in
:class:`Symbol` / :func:`parse` / :func:`render`: parent organ, subsidiary bodies, document type,
session or year, number, stacked modifiers (``/Add.1/Rev.1``), a parenthesised part
(``(2025)``, ``(Part I)``, ``(XVI)``) and the reissue asterisk.

Case rule of :func:`normalise`: every component is upper case except the conventional
title-case modifiers listed in :data:`TITLE_CASE_MODIFIERS` (``Add.1``, ``Corr.1``, ``Rev.1``,
``Amend.1``, ``Sub.2``, ``Summary``). So ``L.3``, ``CRP.1``, ``PV.1``, ``WG.6``, ``AC.292`` stay upper.
"""
from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator
from functools import lru_cache
from dataclasses import dataclass, replace

# Hyphen, non-breaking hyphen, figure dash, en dash, em dash, minus sign: all seen between the
# parts of joint symbols, and the first two inside symbols too (``A/ES‐10``).
DASHES = "-\u2010\u2011\u2012\u2013\u2014\u2212"
_DASH = f"[{DASHES}]"

# Modifiers written in title case by UN editorial convention (lower-cased for lookup).
TITLE_CASE_MODIFIERS: frozenset[str] = frozenset({"add", "corr", "rev", "amend", "sub", "summary"})

# The first component: the parent organ or a body with its own series. Letters, optionally a
# hyphenated joint body (``DP-FPA/2025/1``: the joint UNDP/UNFPA Executive Board segment) and a
# number after a dot (``GEGN.2/2025/35``: the Group of Experts on Geographical Names, second series).
_ORGAN = r"[A-Za-z]{1,10}(?:-[A-Za-z]{1,10})?(?:\.\d{1,3})?"
_ORGAN_RE = re.compile(_ORGAN)
# A dash starts a new part of a joint symbol only when an organ prefix and "/" follow it and the
# text before it is already a symbol (has a "/"): inside a symbol a dash is followed by a number
# (``ES-10/``, ``S-8/``), and in ``DP-FPA/`` nothing before the dash is a symbol yet.
_NEXT_PART = rf"(?=\s*\**\s*{_ORGAN}\s*/)"
_JOINT_SEPARATOR = re.compile(rf"\s*{_DASH}\s*{_NEXT_PART}|\s*[\r\n]+\s*{_NEXT_PART}")

_ATOM = r"[A-Za-z0-9]+(?:\.[A-Za-z0-9]+)*"
# One component: atoms joined by inner dashes (never a dash that starts the next joint part),
# optionally a parenthesised session like ``EX(70)``.
_COMPONENT = rf"{_ATOM}(?:{_DASH}(?![A-Za-z]+\s*/){_ATOM})*(?:\([A-Za-z0-9.]+\))?"
# A parenthesised part after a space: an SC resolution's year, or a report's part ("(Part I)").
# Modifiers may follow a part, or sit inside its parentheses: ``DP/FPA/2025/4 (Part I)/Add.1``,
# ``DP/FPA/2025/4 (Part I/Add.1)``.
_PART_MODIFIERS = r"(?:\s*/\s*(?:Add|Corr|Rev|Amend)\.\d+)*"
# French and Spanish versions print the part in words: ``E/ICEF/672(Première partie)``.
PART_WORDS: dict[str, str] = {
    "premiere partie": "I", "deuxieme partie": "II", "troisieme partie": "III", "quatrieme partie": "IV",
    "cinquieme partie": "V", "primera parte": "I", "segunda parte": "II", "tercera parte": "III",
    "cuarta parte": "IV", "quinta parte": "V",
}
_PART_WORD = r"(?:Premi[eè]re|Deuxi[eè]me|Troisi[eè]me|Quatri[eè]me|Cinqui[eè]me) partie" \
             r"|(?:Primera|Segunda|Tercera|Cuarta|Quinta) parte"
# A budget section is a part too: ``A/72/6 (Sect. 29D)``, ``A/64/6 (Sect. 28D)/Add.1``.
_YEAR_SUFFIX = (rf"(?:[ \u00a0]?\((?:(?:19|20)\d\d|Part ?[IVX\d]+{_PART_MODIFIERS}|Sect\. ?\d+[A-Z]?|{_PART_WORD})\)"
                rf"{_PART_MODIFIERS})")
_SYMBOL = re.compile(rf"(?<![A-Za-z0-9/.]){_ORGAN.replace('a-z', '')}(?:/{_COMPONENT})+{_YEAR_SUFFIX}?"
                     r"(?![A-Za-z0-9])")
_FULL_SYMBOL = re.compile(rf"{_ORGAN}(?:/{_COMPONENT})+{_YEAR_SUFFIX}?", re.IGNORECASE)
_SC_YEAR = re.compile(r"^(S/RES/\d+)\s*\((\d{4})\)$", re.IGNORECASE)


# The longest text that can be one symbol, or one joint symbol. Python's regular expressions
# backtrack: on crafted text (a masthead "United Nations A" + thousands of spaces + "/79/62!")
# some of the patterns below took time quadratic in its length, and a 724-byte PDF held an
# inspection worker for its whole timeout. Bounding what they are applied to keeps every call
# linear in the text; no UN symbol comes near these lengths (the longest seen: ~40 characters).
MAX_SYMBOL_TEXT = 200
MAX_JOINT_TEXT = 600


def split_joint(text: str) -> list[str]:
    """Split a joint symbol into its parts, trimmed, asterisks kept.

    ``"A/80/62*−E/2025/12*"`` → ``["A/80/62*", "E/2025/12*"]``. Dashes inside a part
    (``A/ES-10/1022``, ``A/RES/S-8/1``) do not split: a separator must be followed by an organ
    prefix and ``/``. Text longer than any joint symbol is returned whole, unsplit.
    """
    text = text.strip()
    if len(text) > MAX_JOINT_TEXT:  # not a symbol; and the regexes' time stays linear (below)
        return [text] if text else []
    parts, start = [], 0
    for sep in _JOINT_SEPARATOR.finditer(text):
        if "/" in text[start:sep.start()]:  # a dash inside a joint body ("DP-FPA/") splits nothing
            parts.append(text[start:sep.start()])
            start = sep.end()
    parts.append(text[start:])
    return [p.strip() for p in parts if p.strip()]


_MODIFIER = re.compile(rf"({'|'.join(sorted(TITLE_CASE_MODIFIERS))})(?![^\W\d_])", re.IGNORECASE)


def _component_case(component: str) -> str:
    # The modifier word must end where the letters end ("Add.1", not "ADDX"), or the rule
    # would not be idempotent.
    head = _MODIFIER.match(component)
    if head:
        word = head.group(1)
        return word.capitalize() + component[len(word):].upper()
    return component.upper()


# Pure functions of a short string, asked again and again for the same symbols (a report citing one
# resolution a thousand times, every comparison of a merge): cached.
@lru_cache(maxsize=8192)
def normalise(symbol: str) -> str:
    """Canonical display form of one symbol (idempotent).

    Trimmed, no asterisks, ASCII ``-`` inside, no spaces except one before a parenthesised
    year or part (``S/RES/2768 (2025)``, ``A/80/15 (Part I)``), case per
    :data:`TITLE_CASE_MODIFIERS`. Text that is not a symbol gets the same clean-up, best effort.
    """
    parsed = parse(symbol)
    if parsed is not None:
        return render(replace(parsed, reissued=False))
    s = symbol.replace("*", "")
    s = re.sub(_DASH, "-", s)
    s = re.sub(r"\s+", "", s)
    year = re.search(r"\((?:19|20)\d\d\)$", s)
    body, suffix = (s[: year.start()], " " + year.group(0)) if year else (s, "")
    return "/".join(_component_case(c) for c in body.split("/")) + suffix


# --------------------------------------------------------------------------- grammar

# Document types written as a component of their own, before the session: A/RES/78/132,
# S/PRST/2024/1, A/INF/79/1, ST/SGB/2019/8, ST/AI/2019/1, E/DEC/2023/201.
SERIES_TYPES: frozenset[str] = frozenset({"RES", "DEC", "INF", "PRST", "SGB", "AI", "IC", "BUR"})
# Document types that carry the number after a dot, after the session: A/C.2/79/L.3,
# A/79/PV.12, E/CN.16/2024/CRP.1, TD/B/EX(70)/R.1, A/C.3/79/SR.4, A/HRC/55/NGO.1.
NUMBERED_TYPES: frozenset[str] = frozenset({"L", "PV", "SR", "CRP", "R", "NGO", "WP", "MISC"})
# Modifiers that stack at the end, in the order written: /Add.1/Rev.1, /Corr.2, /Summary.
# ("Sub.2" is title case too, but it is a body: the Sub-Commission.)
MODIFIER_WORDS: frozenset[str] = frozenset({"add", "corr", "rev", "amend", "summary"})

_COMPONENT_RE = re.compile(r"[A-Za-z0-9]+(?:[.-][A-Za-z0-9]+)*(?:\([A-Za-z0-9.]+\))?")
_MODIFIER_RE = re.compile(r"(?:Add|Corr|Rev|Amend)\.\d+|Summary", re.IGNORECASE)
_SESSION_RE = re.compile(r"\d{1,4}|E?S-\d{1,2}|EX\(\d+\)", re.IGNORECASE)
_NUMBERED_RE = re.compile(rf"({'|'.join(sorted(NUMBERED_TYPES))})\.(\d+[A-Z]?)", re.IGNORECASE)
# A parenthesised part at the end: after a space (``(2025)``, ``(Part I)``), or glued to a number
# (``1625(XVI)``); ``EX(70)`` is a session, glued to letters. Modifiers may follow the part or sit
# inside its parentheses (``(Part I)/Add.1``, ``(Part I/Add.1)``): they are the document's modifiers.
# Only the modifiers themselves (spacing and case tolerated, as everywhere): "/L.1" after "(70)" is
# the rest of TD/B/EX (70)/L.1 written with a space, not an addendum of a part.
_MOD_WORDS = "|".join(r"\s*".join(word) for word in ("Add", "Corr", "Rev", "Amend"))
_MODS_TEXT = rf"(?:\s*/\s*(?i:{_MOD_WORDS})\s*\.\s*(?:\d\s*)+)*"
_TRAILING_PART = re.compile(
    rf"^(?P<body>.*?)(?:\s+|(?<=\d))\((?P<part>[A-Za-z0-9.\u00c0-\u017f ]+?)(?P<inner>{_MODS_TEXT})\)"
    rf"(?P<after>{_MODS_TEXT})\s*$", re.DOTALL)
_ROMAN = re.compile(r"[IVXLC]+", re.IGNORECASE)


@dataclass(frozen=True)
class Symbol:
    """One UN document symbol, taken apart.

    ``A/C.2/79/L.3/Rev.1`` → organ ``A``, bodies ``("C.2",)``, session ``79``, doc_type ``L``,
    number ``3``, modifiers ``("Rev.1",)``. ``S/RES/2768 (2025)`` → organ ``S``, doc_type ``RES``,
    number ``2768``, part ``2025``. Components are stored in canonical case. ``number`` holds
    whatever follows the session when it is not a plain type+number (``ITA/3`` in
    ``A/HRC/WG.6/34/ITA/3``), so that every symbol renders back as written.
    """

    organ: str  # parent organ: A, S, E, ST, TD, UNCTAD, UNEP…
    bodies: tuple[str, ...] = ()  # subsidiary bodies: C.2, CN.16, HRC, WG.6, B, AC.292…
    doc_type: str | None = None  # RES, INF… (before the session) or L, PV, CRP, R… (with the number)
    session: str | None = None  # 79, 2024, S-8, ES-10, EX(70)
    number: str | None = None  # 62, 3 (of L.3), ITA/3
    modifiers: tuple[str, ...] = ()  # Add.1, Rev.1, Corr.2: in the order they stack
    part: str | None = None  # parenthesised: 2025 (an SC resolution's year), Part I, XVI
    reissued: bool = False  # printed with an asterisk

    @property
    def numbered_type(self) -> bool:
        """True when the type is written with the number (``L.3``), not as its own component."""
        return self.doc_type is not None and self.doc_type in NUMBERED_TYPES


def parse(text: str) -> Symbol | None:
    """Take one symbol apart (case, dash variants, spacing and asterisks tolerated); None if it is
    not one. A joint symbol is several symbols: :func:`split_joint` it first."""
    s = text.strip()
    if len(s) > MAX_SYMBOL_TEXT:
        return None
    reissued = "*" in s
    s = re.sub(_DASH, "-", s.replace("*", "")).strip()
    part = None
    m = _TRAILING_PART.match(s)
    if m:
        s, part = m.group("body") + m.group("inner") + m.group("after"), _part_case(m.group("part"))
    components = re.sub(r"\s+", "", s).split("/")
    if len(components) < 2 or not _ORGAN_RE.fullmatch(components[0]):
        return None
    if not all(_COMPONENT_RE.fullmatch(c) for c in components[1:]) or not any(c.isdigit() for c in s):
        return None
    organ, *rest = [_component_case(c) for c in components]
    modifiers: list[str] = []
    while len(rest) > 1 and _MODIFIER_RE.fullmatch(rest[-1]):
        modifiers.insert(0, rest.pop())
    return _classify(organ, rest, tuple(modifiers), part, reissued)


def _classify(organ: str, rest: list[str], modifiers: tuple[str, ...], part: str | None,
              reissued: bool) -> Symbol:
    # The session is the first session-like component that something follows; without one, the
    # last component is the number (S/RES/2768, TD/B/WP/343, A/2).
    at = next((i for i, c in enumerate(rest[:-1]) if _SESSION_RE.fullmatch(c)), None)
    before, session, after = (rest[:at], rest[at], rest[at + 1:]) if at is not None else (rest[:-1], None, rest[-1:])
    doc_type = None
    if before and before[-1] in SERIES_TYPES:
        doc_type = before.pop()
    number = "/".join(after)
    numbered = _NUMBERED_RE.fullmatch(number)
    if doc_type is None and numbered:
        doc_type, number = numbered.group(1).upper(), numbered.group(2).upper()
    return Symbol(organ, tuple(before), doc_type, session, number or None, modifiers, part, reissued)


def _part_case(part: str) -> str:
    # Spacing is not significant (comparison ignores it): "Part I" is the one space kept. A part in
    # words (French, Spanish versions) is the same part: "Première partie" is "Part I".
    words = unicodedata.normalize("NFKD", " ".join(part.split()).lower())
    words = "".join(c for c in words if not unicodedata.combining(c))
    if words in PART_WORDS:
        return "Part " + PART_WORDS[words]
    p = re.sub(r"\s+", "", part)
    m = re.fullmatch(r"part([IVXLC]+|\d+)", p, re.IGNORECASE)
    if m:
        return "Part " + m.group(1).upper()
    m = re.fullmatch(r"sect\.?(\d+[A-Z]?)", p, re.IGNORECASE)
    return "Sect. " + m.group(1).upper() if m else p.upper()


def render(symbol: Symbol) -> str:
    """The display form of a :class:`Symbol` (with its asterisk when reissued)."""
    components = [symbol.organ, *symbol.bodies]
    if symbol.doc_type and not symbol.numbered_type:
        components.append(symbol.doc_type)
    if symbol.session:
        components.append(symbol.session)
    if symbol.numbered_type:
        components.append(f"{symbol.doc_type}.{symbol.number}")
    elif symbol.number:
        components.append(symbol.number)
    out = "/".join(components)
    modifiers = "".join("/" + m for m in symbol.modifiers)
    if symbol.part:
        # The guide prints a GA session in roman numerals glued on (A/RES/1625(XVI)); years and
        # parts follow a space (S/RES/2768 (2025), A/80/15 (Part I)). A part's own addenda follow
        # it (DP/FPA/2025/4 (Part I)/Add.1); other parts close the symbol.
        glued = _ROMAN.fullmatch(symbol.part) is not None
        part = f"({symbol.part})" if glued else f" ({symbol.part})"
        out += part + modifiers if symbol.part.startswith(("Part ", "Sect. ")) else modifiers + part
    else:
        out += modifiers
    return out + ("*" if symbol.reissued else "")


def parse_joint(text: str) -> list[Symbol]:
    """Every part of a (possibly joint) symbol that parses, in order."""
    return [p for p in (parse(part) for part in split_joint(text)) if p is not None]


def render_joint(symbols: list[str] | tuple[str, ...]) -> str:
    """Parts of a joint symbol written as the manifest and reports write them: ``A/79/62–E/2024/3``."""
    return "\u2013".join(symbols)


def _session_value(session: str | None) -> int | None:
    return int(session) if session and session.isdigit() else None


def is_successor(old: str | Symbol, new: str | Symbol) -> bool:
    """True when ``new`` is a later edition of ``old``: the same symbol but for a later session
    or year (A/79/62 → A/80/62, E/2024/3 → E/2025/3). Joint symbols: any pair of parts.

    A session and a year never compare (A/79/… and E/2024/… are different counters).
    """
    olds = [old] if isinstance(old, Symbol) else parse_joint(old)
    news = [new] if isinstance(new, Symbol) else parse_joint(new)
    return any(_later_edition(o, n) for o in olds for n in news)


def _later_edition(old: Symbol, new: Symbol) -> bool:
    a, b = _session_value(old.session), _session_value(new.session)
    if a is None or b is None or len(str(a)) == 4 and b < 1000 or len(str(b)) == 4 and a < 1000:
        return False
    same_but_session = replace(new, session=old.session, reissued=old.reissued)
    return b > a and same_but_session == old


def _candidates(text: str) -> Iterator[tuple[re.Match[str], str]]:
    """Every symbol-shaped match in ``text`` with its normalised form.

    A candidate needs a digit (``HIV/AIDS`` and ``TCP/IP`` are not symbols); a ``(year)`` suffix is
    kept only on Security Council resolutions, where it is part of the symbol.
    """
    for m in _SYMBOL.finditer(text):
        raw = m.group(0)
        if not any(c.isdigit() for c in raw):
            continue
        sym = normalise(raw)
        if not sym.startswith("S/RES/"):
            sym = re.sub(r" \(\d{4}\)$", "", sym)
        yield m, sym


def find_symbol_groups(text: str) -> list[tuple[list[str], int]]:
    """Symbols in free text with joint symbols kept together: ``[(parts, offset), …]``.

    Two symbols are parts of one joint symbol when only a dash (with spaces or asterisks) or a
    line break separates them: ``(A/79/62 – E/2024/3)``. Parts are normalised; duplicates kept.
    """
    return [(parts, start) for parts, start, _ in find_symbol_spans(text)]


def find_symbol_spans(text: str, line_breaks_join: bool = True) -> list[tuple[list[str], int, int]]:
    """:func:`find_symbol_groups` with where each group ends: ``[(parts, start, end), …]``.

    ``line_breaks_join=False``: only a dash joins (in a list of citations, one symbol per line is
    one document per line; a masthead stacks the parts of a joint symbol on lines of their own)."""
    groups: list[tuple[list[str], int, int]] = []
    last_end = -1
    joiner = _JOINER if line_breaks_join else _DASH_JOINER
    for m, sym in _candidates(text):
        between = text[last_end:m.start()] if last_end >= 0 else None
        if groups and between is not None and joiner.fullmatch(between):
            parts, start, _ = groups[-1]
            groups[-1] = (parts + [sym], start, m.end())
        else:
            groups.append(([sym], m.start(), m.end()))
        last_end = m.end()
    return groups


# Unambiguous (blanks, then asterisks each followed by blanks): "[ ]*\**[ ]*" split a run of
# blanks between two quantifiers in every way before failing, quadratic in the run.
_JOINER = re.compile(rf"\**[ \t\u00a0]*(?:{_DASH}|\r?\n)[ \t\u00a0]*(?:\*+[ \t\u00a0]*)?")
_DASH_JOINER = re.compile(rf"\**[ \t\u00a0]*{_DASH}[ \t\u00a0]*(?:\*+[ \t\u00a0]*)?")


@lru_cache(maxsize=8192)
def key(symbol: str) -> str:
    """Comparison key: ignores case, dash variant, asterisks and spacing."""
    return re.sub(r"\s+", "", normalise(symbol)).upper()


def _without_sc_year(k: str) -> str:
    m = _SC_YEAR.match(k)
    return m.group(1) if m else k


def loose_key(symbol: str) -> str:
    """:func:`key` without a Security Council resolution's year: symbols that :func:`same`
    equates share it (an index keyed by it finds every candidate for :func:`same`)."""
    return _without_sc_year(key(symbol))


def same(a: str, b: str) -> bool:
    """True when two symbols name the same document.

    A Security Council resolution's year is optional: ``S/RES/2768`` == ``S/RES/2768 (2025)``
    (but two different years differ).
    """
    ka, kb = key(a), key(b)
    if ka == kb:
        return True
    if _SC_YEAR.match(ka) and _SC_YEAR.match(kb):
        return False  # both carry a year, and they differ
    return _without_sc_year(ka) == _without_sc_year(kb)


def looks_like_symbol(text: str) -> bool:
    """True when the whole of ``text`` (trimmed, asterisks ignored) is one symbol with a digit."""
    s = text.strip().replace("*", "").strip()
    return len(s) <= MAX_SYMBOL_TEXT and bool(_FULL_SYMBOL.fullmatch(s)) and any(c.isdigit() for c in s)


def find_symbols(text: str) -> list[str]:
    """Symbols in free text, normalised, in order of first appearance, without duplicates.

    Joint symbols come back as their parts. A ``(year)`` suffix is kept only on ``S/RES/``.
    Candidates without a digit (``HIV/AIDS``, ``TCP/IP``) are not symbols.
    """
    found: list[str] = []
    seen: set[str] = set()
    for _, sym in _candidates(text):
        if key(sym) not in seen:
            seen.add(key(sym))
            found.append(sym)
    return found


# --------------------------------------------------------------------------- OCR near-misses

# Letters that OCR reads for digits (and back): "A/39/36I" is A/39/361 scanned.
_OCR_DIGITS = str.maketrans({"I": "1", "l": "1", "O": "0", "o": "0"})
_OCR_NUMBER = re.compile(r"[\dIlOo]*\d[\dIlOo]*")
_OCR_ORGAN_DOT = re.compile(r"^([A-Za-z]{1,10})\s*\.\s*/")  # "A./47/435"


def ocr_candidate(text: str) -> str | None:
    """The symbol an OCR near-miss stands for, or None when ``text`` is not one.

    Scanned documents carry an OCR text layer that misreads symbols in ways the grammar accepts
    or nearly accepts: ``A/39/36I`` (a number component with an I, l, O or o among its digits),
    ``A./47/435`` (a stray dot after the organ). Such a reading is not evidence of the symbol: it
    is a candidate, to be reported as unverified (never as the document's symbol).
    """
    s = _OCR_ORGAN_DOT.sub(r"\1/", " ".join(text.split()).replace("*", ""))
    components = [c.strip() for c in s.split("/")]
    fixed = [c.translate(_OCR_DIGITS) if _OCR_NUMBER.fullmatch(c) and not c.isdigit() else c
             for c in components]
    candidate = "/".join(fixed)
    if candidate == text.strip().replace("*", "") or parse(candidate) is None:
        return None
    return normalise(candidate)


def doubts(symbol: str) -> str | None:
    """Why a symbol as written (possibly joint) does not follow the grammar, or None.

    Doubt is a warning, never a refusal: the UN keeps creating series the grammar has not seen, so
    a document cited by such a symbol is still checked (its parts are compared as normalised text).
    """
    parts = split_joint(symbol)
    if not parts:
        return "no symbol in it"
    for part in parts:
        near = ocr_candidate(part)
        if near:
            return f"{part!r} looks like a misreading of {near!r}"
        if parse(part) is None:
            return f"{part!r} does not follow the document-symbol grammar"
    return None
