"""Citations of UN documents in running text (``linkwatch discover``).

Two kinds, after the UN's editorial conventions (DGACM Editorial Manual, "Resolutions and other
formal decisions of United Nations organs"; Dag Hammarskjöld Library, "UN document symbols"):

- **written-out symbols** (``A/79/345``, ``S/2023/673/Corr.1``) and their continuations:
  ``A/52/364 and Add.1``, ``E/CN.9/2025/5 and 6``, ``A/AC.109/2071, 2072, 2074-2078``,
  ``A/C.4/52/SR.3-7`` (each member is a document of its own);
- **resolutions and decisions cited by number**, the symbol built from the issuing organ:
  ``resolution 70/1`` (General Assembly, by session) → ``A/RES/70/1``; ``2146 (2014)`` (Security
  Council, number and year) → ``S/RES/2146 (2014)``; ``resolution 2023/3`` (Economic and Social
  Council, by year) → ``E/RES/2023/3``; ``Human Rights Council resolution 33/25`` →
  ``A/HRC/RES/33/25``; ``1514 (XV)`` (before the 31st session: number and roman session) →
  ``A/RES/1514(XV)``; decisions likewise (``A/DEC/79/505``, ``E/DEC/1982/112``), and every member of
  a list (``resolutions 2441 (2018), 2509 (2020) and 2701 (2023)``).

The organ is the one the text names for the citation (before it: "General Assembly resolution",
"the Council, in its resolution"; after it: "decision 49/426 of the Assembly"), else the organ the
sentence names, else the organ that acts in the text ("The Economic and Social Council, … Recalling
its resolution …"), else the organ whose document the text is. The number's form must fit that
organ (the Council numbers by year and the Assembly by session, never the other way round), and a
resolution of a body without a symbol series of its own (a regional commission, a conference of
parties, another organization) is not turned into a UN symbol. What cannot be attributed is
returned as :class:`Unattributed`, not guessed.
"""
from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timezone

from . import symbols as unsymbols

GA, SC, ECOSOC, HRC, OTHER = "GA", "SC", "ECOSOC", "HRC", "OTHER"
ORGAN_NAMES = {GA: "General Assembly", SC: "Security Council", ECOSOC: "Economic and Social Council",
               HRC: "Human Rights Council"}


@dataclass
class Citation:
    """One cited document: its symbol (parts of a joint symbol) and where the citation is."""

    symbols: list[str]
    start: int
    end: int


@dataclass
class Unattributed:
    """A resolution or decision cited by number whose organ the text does not make clear."""

    text: str  # "resolution 2025/1"
    start: int
    reason: str


@dataclass
class Citations:
    found: list[Citation] = field(default_factory=list)
    unattributed: list[Unattributed] = field(default_factory=list)


@dataclass(frozen=True)
class Context:
    """What the text is: its own symbols (not citations of it) and the year bounds used to tell a
    number from a session or a year."""

    own: tuple[str, ...] = ()
    year: int = field(default_factory=lambda: datetime.now(timezone.utc).year)

    @property
    def organ(self) -> str | None:
        """The organ whose document the text is (from its first own symbol)."""
        return organ_of_symbol(self.own[0]) if self.own else None

    @property
    def ga_session(self) -> int:
        return self.year - 1945  # the 80th session opened in September 2025

    @property
    def hrc_session(self) -> int:
        return (self.year - 2006) * 3 + 3  # three regular sessions a year since 2006


def organ_of_symbol(symbol: str) -> str | None:
    parsed = unsymbols.parse(unsymbols.split_joint(symbol)[0]) if symbol else None
    if parsed is None:
        return None
    if parsed.organ == "A":
        return HRC if parsed.bodies[:1] == ("HRC",) else GA
    return {"S": SC, "E": ECOSOC}.get(parsed.organ)


def find_citations(text: str, context: Context = Context()) -> Citations:
    """Every UN document ``text`` cites, in order of position (a document may be cited more
    than once), and the citations by number whose organ could not be told."""
    out = Citations()
    taken: list[tuple[int, int]] = []
    for c in _numbered(text, context, out.unattributed):
        out.found.append(c)
        taken.append((c.start, c.end))
    for c in _written(text, context):
        if not any(s <= c.start < e for s, e in taken):
            out.found.append(c)
    own = [p for s in context.own for p in unsymbols.split_joint(s)]
    out.found = [c for c in out.found
                 if not all(any(unsymbols.same(p, o) for o in own) for p in c.symbols)]
    out.found.sort(key=lambda c: c.start)
    return out


# --------------------------------------------------------------------------- written-out symbols

# A number (or a modifier) that continues the symbol before it: "A/52/364 and Add.1",
# "E/CN.9/2025/5 and 6", "A/AC.109/2071, 2072, 2074-2078".
_MEMBER = r"(?:(?:Add|Corr|Rev)\.\d{1,3}|\d{1,5})(?:[-\u2013]\d{1,5})?"
_CONTINUATION = re.compile(
    rf"^(?:\s*,\s*|\s+and\s+|\s*,\s*and\s+)(?P<m>{_MEMBER})(?![\w/])")
# A range in the last component: "SR.3-7", "2076-2078". Treaty bodies number combined periodic
# reports the same way (CERD/C/PER/CO/22-23, CRC/C/AUS/5-6): one document, not a range.
_RANGE = re.compile(r"^(?P<head>.*/(?:(?P<type>[A-Z]+)\.)?)(?P<a>\d+)[-\u2013](?P<b>\d+)$")
_COMBINED_REPORT = re.compile(r"/(?:CO|[A-Z]{3})/\d+-\d+$")
_MAX_RANGE = 30


def _written(text: str, context: Context) -> Iterator[Citation]:
    for parts, start, end in unsymbols.find_symbol_spans(text, line_breaks_join=False):
        if _ROMAN_ORGAN.match(parts[0]) or not all(plausible(p, context) for p in parts):
            continue
        if len(parts) > 1:
            yield Citation(parts, start, end)
            continue
        members = _expand(parts[0])
        last = parts[0]
        while True:
            m = _CONTINUATION.match(text[end:])
            if not m:
                break
            more = _continue(last, m.group("m"))
            if not more:
                break
            members += more
            last = more[-1]
            end += m.end()
        for symbol in members:
            yield Citation([symbol], start, end)


# A treaty body's decision (III/12, X/3) is not a UN symbol (LC/TS.2021/188 is ECLAC's).
_ROMAN_ORGAN = re.compile(r"^[IVXLC]+/\d+[A-Za-z]?$")


def _expand(symbol: str) -> list[str]:
    m = _RANGE.match(symbol)
    if not m or _COMBINED_REPORT.search(symbol):
        return [symbol]
    a, b = int(m.group("a")), int(m.group("b"))
    if not a < b <= a + _MAX_RANGE:
        return [symbol]
    return [f"{m.group('head')}{n}" for n in range(a, b + 1)]


def _continue(previous: str, member: str) -> list[str]:
    """The symbols a continuation member names, or [] when it does not continue ``previous``."""
    head, _, tail = previous.rpartition("/")
    mod = re.match(r"(Add|Corr|Rev)\.(\d+)", member)
    if mod:
        base = head if re.match(r"(Add|Corr|Rev)\.", tail) else previous
        return _expand(f"{base}/{member}")
    number = re.match(r"(?:(?P<type>[A-Z]+)\.)?(?P<n>\d+)$", tail)
    first = int(member.split("-")[0].split("\u2013")[0])
    if not number or not head or not int(number.group("n")) < first <= int(number.group("n")) + 1000:
        return []  # a continuation counts on from the symbol before it
    prefix = f"{number.group('type')}." if number.group("type") else ""
    return _expand(f"{head}/{prefix}{member}".replace("\u2013", "-"))


def plausible(symbol: str, context: Context) -> bool:
    """False for symbol-shaped strings the UN's own series rule out: the session of an Assembly
    document (A/81/… in 2025), the year of a Council or Security Council document (S/2376/2025 is
    the OPCW's numbering: the Security Council writes S/<year>/<number>)."""
    parsed = unsymbols.parse(symbol)
    if parsed is None:
        return False
    if parsed.organ not in ("A", "S", "E") or parsed.bodies or not parsed.session:
        return True
    if not parsed.session.isdigit() or parsed.doc_type in ("RES", "DEC"):
        return True
    n = int(parsed.session)
    if parsed.organ == "A":
        return n <= context.ga_session or 1946 <= n <= context.year
    return 1946 <= n <= context.year


# --------------------------------------------------------------------------- cited by number

_WS = r"[\s\u00a0]+"
_NEW = r"(?:E?S-)?\d{1,4}/\d{1,4}"  # session/number or year/number (70/1, ES-10/15, 2023/3)
_LETTERS = r"(?:\s?[A-H](?:\s(?:and|to)\s[A-H])?(?![\w/]))"  # 671 A, 3411 A and B
_SC_FORM = r"\d{1,4}\s*\((?:19|20)\d\d\)"
_OLD_FORM = rf"\d{{1,4}}{_LETTERS}?\s?\((?:E?S-)?[IVXL]+\)"
_NUMBER = rf"(?<![\w/.])(?:{_NEW}{_LETTERS}?(?:\s\((?:19|20)\d\d\))?|{_SC_FORM}|{_OLD_FORM})(?![\w/])"
_KEYWORD = re.compile(rf"\b(?P<kw>[Rr]esolutions?|[Dd]ecisions?){_WS}(?:No\.{_WS})?(?={_NUMBER})")
_NUMBER_RE = re.compile(_NUMBER)
# What may come between two members of a list: a date, a section or annex, a footnote call.
_FILLER = re.compile(
    r"(?:[ \u00a0]?\((?:sect|annex|para|part)[^()]{0,40}\))?"
    r"(?:,?\s+of\s+\d{1,2}\s+[A-Z][a-z]+\s+\d{4})?"
    r"(?:,\s*annex(?:es)?(?:\s+[IVX]+)?)?"
    r"(?:\s*\((?:sect|annex|para|part)[^()]{0,40}\))?")
_SEPARATOR = re.compile(
    rf"^(?:\s*,\s*(?:and{_WS}|as{_WS}well{_WS}as{_WS}|or{_WS})?|{_WS}(?:and|as{_WS}well{_WS}as|or){_WS})"
    rf"(?:(?:its{_WS}|the{_WS})?(?P<kw>[Rr]esolutions?|[Dd]ecisions?){_WS})?(?={_NUMBER})")

# Organs as the text names them. The three Councils and the Assembly are named in full or, in a
# text of their own, shortly ("the Council", "the Assembly"); any other named body (a commission,
# a conference, a committee, another organization) issues no document of its own under these forms.
_BODY_WORD = r"(?:Commission|Conference|Committee|Board|Assembly|Council|Parties|Ministers|Union|Organization|" \
    r"Organisation|Forum|Mechanism|Group|Panel|Secretariat|Programme|Fund)"
# A body's name: capitalized words (with of/and/for/on/the between them) ending in a body word.
_NAME_WORDS = rf"(?:(?!{_BODY_WORD}\b)[A-Z][\w\u2019'-]*\s+(?:(?:of|and|for|on|the|to)\s+)*){{1,8}}"
_ORGAN_NAMED = re.compile(
    r"(?P<hrc>Human\s+Rights\s+Council)|(?P<sc>Security\s+Council)(?!\s+Committee)"
    r"|(?P<ecosoc>Economic\s+and\s+Social\s+Council|ECOSOC)|(?P<ga>General\s+Assembly)"
    r"|(?P<council>\bCouncil\b)|(?P<assembly>\bAssembly\b)")
_OTHER_NAMED = re.compile(rf"{_NAME_WORDS}{_BODY_WORD}\b|\b(?:Commission|Conference|Committee|OPCW|ECA|ECE|ECLAC|"
                          r"ESCAP|ESCWA|UNEP|WHO|ILO)\b")
# The rest of a body's name after its body word: "Commission for Latin America and the Caribbean"
_NAME_TAIL = re.compile(r"^(?:\s+(?:(?:for|of|on|and|the|in|to)\s+)*[A-Z][\w\u2019'-]*)*")
_ACTING = re.compile(r"(?:^|\n)\s*The (?P<organ>General Assembly|Security Council|Economic and Social Council|"
                     r"Human Rights Council|[A-Z][\w ]{2,80}?),\s*\n")
# Where the sentence that names an organ ends: a full stop, a new paragraph, and in resolutions a
# new preambular or operative paragraph (",\nRecalling also …", "\n3. Requests …").
_SENTENCE_END = re.compile(r"[.;:](?=\s+[A-Z(\d])|\n\s*\n|\n\s*\d{1,3}\.\s|,\d{0,3}\s*\n\s*(?=[A-Z][a-z])")


@dataclass
class _Number:
    kind: str  # "resolution" | "decision"
    form: str  # "new" | "sc" | "old"
    a: str  # session, year, or number (sc, old)
    b: str  # number (new), year (sc) or roman session (old)
    start: int
    end: int


def _numbered(text: str, context: Context, unattributed: list[Unattributed]) -> Iterator[Citation]:
    resolved: dict[tuple[str, str, str, str], str] = {}  # the same number is the same organ throughout
    recent: dict[tuple[str, str], tuple[int, str]] = {}  # the organ of the last number of each form
    for group in _groups(text):
        organ = _organ(text, group, context)
        for n in group:
            key = (n.kind, n.form, n.a, n.b)
            org = organ or resolved.get(key) or _recent(recent, n)
            if org is None:
                org = _default_organ(n, text, context)
            symbol = _symbol(n, org, context) if org and org != OTHER else None
            if symbol:
                resolved.setdefault(key, org)
                recent[_form_class(n)] = (n.end, org)
                yield Citation([unsymbols.normalise(symbol)], n.start, n.end)
            else:
                unattributed.append(Unattributed(f"{n.kind} {_flat(text[n.start:n.end])}", n.start, _why(n, org)))
                if org == OTHER:
                    resolved.setdefault(key, OTHER)


# A number with no organ named near it, in a text that named the organ of a number of the same form
# a few sentences before ("… the decision of the Assembly … (resolution 65/234). … the 2030 Agenda
# (resolution 70/1)"), is read as that organ's: that is how the reader reads it.
_RECENT = 1500


def _form_class(n: _Number) -> tuple[str, str]:
    if n.form == "new":
        return n.kind, "year" if len(n.a) == 4 else "session"
    return n.kind, n.form


def _recent(recent: dict[tuple[str, str], tuple[int, str]], n: _Number) -> str | None:
    last = recent.get(_form_class(n))
    return last[1] if last and n.start - last[0] <= _RECENT else None


def _why(n: _Number, organ: str | None) -> str:
    if organ == OTHER:
        return "issued by a body with no UN symbol series of its own"
    if organ:
        return f"the number does not fit the {ORGAN_NAMES[organ]}'s {n.kind}s"
    return "issuing organ not named"


def _groups(text: str) -> Iterator[list[_Number]]:
    """Numbers after "resolution(s)"/"decision(s)", the members of a list kept together."""
    done = 0
    for m in _KEYWORD.finditer(text):
        if m.start() < done:
            continue  # "resolution 2025/1 and decision 2025/100": read with the list
        kind = m.group("kw").lower().rstrip("s")
        pos, group = m.end(), []
        while True:
            n = _NUMBER_RE.match(text, pos)
            if not n:
                break
            group.append(_parse(kind, n.group(0), n.start(), n.end()))
            pos = n.end()
            filler = _FILLER.match(text, pos)
            pos = filler.end() if filler else pos
            sep = _SEPARATOR.match(text[pos:pos + 80])
            if not sep:
                title = _TITLE.match(text, pos, pos + 200)
                if title:
                    pos = title.end()
                    sep = _SEPARATOR.match(text[pos:pos + 80])
            if not sep:
                break
            if sep.group("kw"):
                kind = sep.group("kw").lower().rstrip("s")
            pos += sep.end()
        if group:
            done = group[-1].end
            yield group


# "resolutions 2016/27 on strengthening institutional arrangements … and 2022/24 on …"
_TITLE = re.compile(r"\s+on\s+[^.;:()\d\[\]]{1,160}?(?=(?:\s*,\s*(?:and\s+)?|\s+and\s+)" + _NUMBER + ")")


def _parse(kind: str, raw: str, start: int, end: int) -> _Number:
    raw = raw.replace("\u00a0", " ")
    m = re.match(r"((?:E?S-)?\d+)/(\d+)", raw)
    if m:
        return _Number(kind, "new", m.group(1), m.group(2), start, end)
    m = re.match(r"(\d+)\D*\((\d{4})\)$", raw)
    if m:
        return _Number(kind, "sc", m.group(1), m.group(2), start, end)
    m = re.match(r"(\d+)\D*?\(((?:E?S-)?[IVXL]+)\)$", raw)
    assert m, raw
    return _Number(kind, "old", m.group(1), m.group(2), start, end)


def _organ(text: str, group: list[_Number], context: Context) -> str | None:
    """The organ the text names for this citation, or None when it names none."""
    if group[0].form == "sc":
        return SC  # a number with its year in parentheses: the Security Council's form alone
    start, end = group[0].start, group[-1].end
    before = text[_sentence_start(text, start):start]
    keyword = max(before.rfind(w) for w in ("resolution", "Resolution", "decision", "Decision"))
    lead = _flat(before[:keyword] if keyword >= 0 else before)
    after = _flat(text[end:end + 240])
    possessive = re.search(r"\bits\s*$", lead) is not None
    # "General Assembly resolution", "adopted by the Economic Commission for Africa … of resolution"
    near = None if possessive else _last_named(lead[-60:], context)
    if near == OTHER and not _adjacent_body(lead, context):
        near = None  # another body is named only when it issues the resolution itself
    if near:
        return near
    # "decision 49/426 of the Assembly", "decision 2025/100 of 18 March 2025 adopted by ECA"
    m = _OF_ORGAN.match(after)
    named = _first_named(m.group("rest"), context) if m else None
    if named:
        return named
    if possessive or re.match(r"\s*,\s+the\s", after):
        # "In its resolution 57/15 on …, the Human Rights Council", "Recalling its resolution"
        subject = _SUBJECT.match(after)
        named = _first_named(subject.group("rest"), context) if subject else None
        return named or _last_named(lead, context) or _acting(text, start, context)
    # Elsewhere in the sentence only the organs themselves count: "The Advisory Committee
    # stresses … (see resolution 78/253)" is the Assembly's resolution, not the Committee's.
    named = _last_named(lead, context)
    return named if named != OTHER else None


def _adjacent_body(lead: str, context: Context) -> bool:
    """True when a body's name ends at most two words before the keyword: "Economic Commission
    for Africa adopted resolution", "Statistical Commission decision"."""
    named = _named(lead, context)
    if not named or named[-1][2] != OTHER:
        return False
    rest = lead[named[-1][1]:]
    rest = rest[_NAME_TAIL.match(rest).end():]
    # "… Review Forum (resolution 76/266)": the parenthesis names the document the title is, not
    # the body that issued it.
    return "(" not in rest and len(re.findall(r"[\w\u2019'-]+", rest)) <= 2


_OF_ORGAN = re.compile(r"(?:\s?\([^()]{0,40}\))?(?:,?\s+of\s+\d{1,2}\s+\w+\s+\d{4})?,?\s+"
                       r"(?:of|adopted\s+by|by)\s+(?:the\s+)?(?P<rest>.{0,120})")
_SUBJECT = re.compile(r"[^.;]{0,200}?,\s+the\s+(?P<rest>[^,.;]{0,80})")


def _flat(text: str) -> str:
    return re.sub(r"\s+", " ", text)


def _sentence_start(text: str, pos: int) -> int:
    window = text[max(0, pos - 600):pos]
    ends = list(_SENTENCE_END.finditer(window))
    return pos - len(window) + (ends[-1].end() if ends else 0)


def _named(text: str, context: Context) -> list[tuple[int, int, str | None]]:
    """Every organ or other body ``text`` names: (start, end, organ), in order. The Assembly and
    the three Councils win over a longer name around them ("Recalling General Assembly …")."""
    organs = [(m.start(), m.end(), _classify(m, context)) for m in _ORGAN_NAMED.finditer(text)]
    full = [(s, e) for s, e, _ in organs]
    others = [(m.start(), m.end(), OTHER) for m in _OTHER_NAMED.finditer(text)
              if not any(s < m.end() and m.start() < e for s, e in full)]
    return sorted(organs + others)


def _classify(m: re.Match[str], context: Context) -> str | None:
    for group, organ in (("hrc", HRC), ("sc", SC), ("ecosoc", ECOSOC), ("ga", GA), ("assembly", GA)):
        if m.group(group):
            return organ
    # "the Council": the Council whose document this is
    own = context.organ
    return own if own in (SC, ECOSOC, HRC) else None


def _last_named(text: str, context: Context) -> str | None:
    organs = [organ for _, _, organ in _named(text, context) if organ]
    return organs[-1] if organs else None


def _first_named(text: str, context: Context) -> str | None:
    """The organ named at the start of ``text`` ("the Assembly, …", "Economic Commission for …")."""
    text = re.sub(r"^United Nations ", "", text)
    named = _named(text, context)
    return named[0][2] if named and named[0][0] == 0 else None


def _acting(text: str, pos: int, context: Context) -> str | None:
    """The organ that speaks in a resolution text: the last "The X," heading before ``pos``."""
    headings = list(_ACTING.finditer(text, 0, pos))
    if headings:
        named = _named(_flat(headings[-1].group("organ")), context)
        return named[0][2] if named else OTHER
    return context.organ


def _default_organ(n: _Number, text: str, context: Context) -> str | None:
    """No organ named anywhere near: the organ whose document the text is, when the form fits it."""
    own = context.organ
    if n.form == "old":
        return own if own in (GA, ECOSOC) else GA  # before 1976 only these numbered this way
    return own


# Decisions of a regular session are numbered from 101 up (the Assembly: 3xx elections and
# appointments, 4xx and 5xx other decisions; the Councils: 1xx and 2xx): "decision 2025/1" of a
# subsidiary body reproduced in a Council report is not a Council decision.
_FIRST_DECISION = 101


def _symbol(n: _Number, organ: str, context: Context) -> str | None:
    series = "RES" if n.kind == "resolution" else "DEC"
    if n.kind == "decision" and n.form == "new" and n.a[:1].isdigit() and int(n.b) < _FIRST_DECISION:
        return None
    if organ == SC:
        ok = n.form == "sc" and n.kind == "resolution" and 1946 <= int(n.b) <= context.year
        return f"S/RES/{n.a} ({n.b})" if ok else None
    if n.form == "old":
        if n.kind != "resolution" or organ not in (GA, ECOSOC):
            return None
        if organ == GA and _roman(n.b) > 30:  # the 31st session numbered by session/number
            return None
        return f"{'A' if organ == GA else 'E'}/RES/{n.a}({n.b})"
    if n.form != "new":
        return None
    if organ == ECOSOC:
        ok = len(n.a) == 4 and 1978 <= int(n.a) <= context.year
        return f"E/{series}/{n.a}/{n.b}" if ok else None
    if organ == GA:
        if n.a[0].isdigit():
            ok = 31 <= int(n.a) <= context.ga_session
        else:
            ok = True  # a special (S-8) or emergency special (ES-10) session
        return f"A/{series}/{n.a}/{n.b}" if ok else None
    if organ == HRC:
        # The Council numbers resolutions anew each session and adopts a few dozen in one: "53/199"
        # is the Assembly's numbering (its 53rd session, 1998), never the Council's.
        ok = n.b.isdigit() and int(n.b) <= _HRC_MAX_PER_SESSION and (
            n.a.startswith("S-") or (n.a.isdigit() and 1 <= int(n.a) <= context.hrc_session))
        return f"A/HRC/{series}/{n.a}/{n.b}" if ok else None
    return None


_HRC_MAX_PER_SESSION = 100

_ROMAN_VALUES = {"I": 1, "V": 5, "X": 10, "L": 50, "C": 100}


def _roman(text: str) -> int:
    digits = [_ROMAN_VALUES.get(c, 0) for c in text.split("-")[-1]]
    return sum(-d if i + 1 < len(digits) and d < digits[i + 1] else d for i, d in enumerate(digits))
