"""UN document symbols: split, normalise, compare and find them.

A symbol is an organ prefix (``A``, ``S``, ``E``, ``TD``, ``UNEP``…) followed by ``/``-separated
components: ``A/RES/78/323``, ``A/HRC/WG.6/34/ITA/3``, ``TD/B/EX(70)/R.1``, ``A/ES-10/1022``.
A Security Council resolution carries its year: ``S/RES/2768 (2025)``. A *joint* symbol names one
document issued to several organs, its parts joined by a dash or a line break:
``A/79/716-S/2025/18``, ``A/80/62*−E/2025/12*``.

Case rule of :func:`normalise`: every component is upper case except the conventional
title-case modifiers listed in :data:`TITLE_CASE_MODIFIERS` (``Add.1``, ``Corr.1``, ``Rev.1``,
``Amend.1``, ``Sub.2``, ``Summary``). So ``L.3``, ``CRP.1``, ``PV.1``, ``WG.6``, ``AC.292`` stay upper.
"""
from __future__ import annotations

import re

# Hyphen, non-breaking hyphen, figure dash, en dash, em dash, minus sign: all seen between the
# parts of joint symbols, and the first two inside symbols too (``A/ES‐10``).
DASHES = "-\u2010\u2011\u2012\u2013\u2014\u2212"
_DASH = f"[{DASHES}]"

# Modifiers written in title case by UN editorial convention (lower-cased for lookup).
TITLE_CASE_MODIFIERS: frozenset[str] = frozenset({"add", "corr", "rev", "amend", "sub", "summary"})

# A dash starts a new part of a joint symbol only when an organ prefix and "/" follow it;
# inside a symbol a dash is followed by a number (``ES-10/``, ``S-8/``).
_NEXT_PART = r"(?=\s*\**\s*[A-Za-z]+\s*/)"
_JOINT_SEPARATOR = re.compile(rf"\s*{_DASH}\s*{_NEXT_PART}|\s*[\r\n]+\s*{_NEXT_PART}")

_ATOM = r"[A-Za-z0-9]+(?:\.[A-Za-z0-9]+)*"
# One component: atoms joined by inner dashes (never a dash that starts the next joint part),
# optionally a parenthesised session like ``EX(70)``.
_COMPONENT = rf"{_ATOM}(?:{_DASH}(?![A-Za-z]+\s*/){_ATOM})*(?:\([A-Za-z0-9.]+\))?"
_YEAR_SUFFIX = r"(?:[ \u00a0]?\((?:19|20)\d\d\))"
_SYMBOL = re.compile(rf"(?<![A-Za-z0-9/.])[A-Z]{{1,10}}(?:/{_COMPONENT})+{_YEAR_SUFFIX}?(?![A-Za-z0-9])")
_FULL_SYMBOL = re.compile(rf"[A-Za-z]{{1,10}}(?:/{_COMPONENT})+{_YEAR_SUFFIX}?")
_SC_YEAR = re.compile(r"^(S/RES/\d+)\s*\((\d{4})\)$", re.IGNORECASE)


def split_joint(text: str) -> list[str]:
    """Split a joint symbol into its parts, trimmed, asterisks kept.

    ``"A/80/62*−E/2025/12*"`` → ``["A/80/62*", "E/2025/12*"]``. Dashes inside a part
    (``A/ES-10/1022``, ``A/RES/S-8/1``) do not split: a separator must be followed by an organ
    prefix and ``/``.
    """
    parts = (p.strip() for p in _JOINT_SEPARATOR.split(text.strip()))
    return [p for p in parts if p]


_MODIFIER = re.compile(rf"({'|'.join(sorted(TITLE_CASE_MODIFIERS))})(?![^\W\d_])", re.IGNORECASE)


def _component_case(component: str) -> str:
    # The modifier word must end where the letters end ("Add.1", not "ADDX"), or the rule
    # would not be idempotent.
    head = _MODIFIER.match(component)
    if head:
        word = head.group(1)
        return word.capitalize() + component[len(word):].upper()
    return component.upper()


def normalise(symbol: str) -> str:
    """Canonical display form of one symbol (idempotent).

    Trimmed, no asterisks, ASCII ``-`` inside, no spaces except exactly one before a Security
    Council resolution's ``(year)``, case per :data:`TITLE_CASE_MODIFIERS`.
    """
    s = symbol.replace("*", "")
    s = re.sub(_DASH, "-", s)
    s = re.sub(r"\s+", "", s)
    year = re.search(r"\((?:19|20)\d\d\)$", s)
    body, suffix = (s[: year.start()], " " + year.group(0)) if year else (s, "")
    return "/".join(_component_case(c) for c in body.split("/")) + suffix


def key(symbol: str) -> str:
    """Comparison key: ignores case, dash variant, asterisks and spacing."""
    return re.sub(r"\s+", "", normalise(symbol)).upper()


def _without_sc_year(k: str) -> str:
    m = _SC_YEAR.match(k)
    return m.group(1) if m else k


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
    return bool(_FULL_SYMBOL.fullmatch(s)) and any(c.isdigit() for c in s)


def find_symbols(text: str) -> list[str]:
    """Symbols in free text, normalised, in order of first appearance, without duplicates.

    Joint symbols come back as their parts. A ``(year)`` suffix is kept only on ``S/RES/``.
    Candidates without a digit (``HIV/AIDS``, ``TCP/IP``) are not symbols.
    """
    found: list[str] = []
    seen: set[str] = set()
    for m in _SYMBOL.finditer(text):
        raw = m.group(0)
        if not any(c.isdigit() for c in raw):
            continue
        sym = normalise(raw)
        if not sym.startswith("S/RES/"):
            sym = re.sub(r" \(\d{4}\)$", "", sym)
        if key(sym) not in seen:
            seen.add(key(sym))
            found.append(sym)
    return found
