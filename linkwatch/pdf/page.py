"""Page 1 as lines of type with their geometry, whichever engine read it.

Both engines end here, so that one set of reading rules (:mod:`linkwatch.pdf.reading`) serves both:

- poppler: ``pdftotext -raw -bbox`` gives each word and its box, in content order
  (:func:`from_bbox`);
- pypdf: the text visitor gives each text run with its matrix and font size (:func:`from_pypdf`);
- plain text (tests, callers with text only): :func:`from_text`, one line a line, no geometry.

A :class:`Line` is what content order shows on one baseline. ``size`` is the height of the type the
line is mostly set in, in points (poppler: the word boxes' height; pypdf: the font size scaled by
the text matrix, ×1.1 to match box heights): only ratios between sizes are used by the rules.
Footnote calls set small and raised after a word (``…Secretary-General²``, ``…*``) are dropped
from the line's text: they are not part of any title or symbol.
"""
from __future__ import annotations

import html
import math
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

# pdftotext -raw keeps the content-stream order (the order pypdf extracts in); -bbox adds each
# word's box, from which lines and type sizes are rebuilt here.
PDFTOTEXT_ARGS = ("-q", "-raw", "-bbox", "-enc", "UTF-8", "-f", "1", "-l", "1")

_BBOX_PAGE = re.compile(rb'<page width="([\d.]+)" height="([\d.]+)">')
_BBOX_WORD = re.compile(
    r'<word xMin="([-+.\d]+)" yMin="([-+.\d]+)" xMax="([-+.\d]+)" yMax="([-+.\d]+)">(.*?)</word>', re.DOTALL)
# What a footnote call looks like once it is a word of its own: digits, asterisks, daggers.
_CALL = re.compile(r"[*\d\u2020\u2021]{1,3}[,.;]?")
_SMALL = 0.8  # a word set below this share of its line's type is a call (when it looks like one)

_Word = tuple[float, float, float, float, str]  # x0, top, x1, bottom, text (top-down coordinates)


def _is_call(text: str, size: float, raised: float, line_size: float) -> bool:
    """A footnote call: digits or asterisks set smaller than the line and raised above the word
    before it (the masthead's small "/2025/12" after a large "DP" sits on its baseline: no call)."""
    return size < _SMALL * line_size and raised > 0.15 * line_size and _CALL.fullmatch(text) is not None


@dataclass(slots=True)
class Line:
    """Words that content order shows on one line."""

    text: str
    x0: float = 0.0
    top: float = 0.0
    bottom: float = 0.0
    size: float = 0.0  # 0: unknown (plain text)


@dataclass
class Page:
    """Page 1: its lines in content order and its size in points."""

    lines: list[Line] = field(default_factory=list)
    width: float = 612.0
    height: float = 792.0
    geometry: bool = True  # False when built from plain text: sizes and positions mean nothing

    def text(self) -> str:
        """One line of text per line of type, and a blank line where the next line does not
        follow right below (a paragraph break, or a jump to another part of the page)."""
        out: list[str] = []
        for prev, ln in zip([None, *self.lines], self.lines):
            if prev is not None and not follows(prev, ln):
                out.append("")
            out.append(ln.text)
        return "\n".join(out)


def follows(prev: Line, ln: Line) -> bool:
    """True when ``ln`` is set right below ``prev`` (the next line of the same paragraph)."""
    size = min(prev.size, ln.size) or 1.0
    return -prev.size <= ln.top - prev.bottom < 0.5 * size


# --------------------------------------------------------------------------- poppler


def _same_line(a: _Word, b: _Word) -> bool:
    """Either word's vertical middle lies within the other's box (superscripts, mixed sizes)."""
    return a[1] <= (b[1] + b[3]) / 2 <= a[3] or b[1] <= (a[1] + a[3]) / 2 <= b[3]


def _line(words: list[_Word]) -> Line:
    weight: dict[float, int] = {}  # box height → characters set at it
    for w in words:
        key = round(w[3] - w[1], 1)
        weight[key] = weight.get(key, 0) + len(w[4])
    size = max(weight, key=lambda k: weight[k])
    kept = [w for i, w in enumerate(words) if not (i and _is_call(w[4], w[3] - w[1], words[i - 1][3] - w[3], size))]
    parts, prev = [kept[0][4]], kept[0]
    for w in kept[1:]:
        # poppler splits a word where the font changes ("A" + "/79/716-" in a masthead): no gap, no space.
        if not -0.5 <= w[0] - prev[2] < 0.12 * min(prev[3] - prev[1], w[3] - w[1]):
            parts.append(" ")
        parts.append(w[4])
        prev = w
    return Line("".join(parts), min(w[0] for w in words), min(w[1] for w in words), max(w[3] for w in words), size)


def from_bbox(bbox: bytes) -> Page:
    """Page 1 from ``pdftotext -raw -bbox`` output (content order kept)."""
    m = _BBOX_PAGE.search(bbox)
    width, height = (float(m.group(1)), float(m.group(2))) if m else (612.0, 792.0)
    words: list[_Word] = []
    for x0, y0, x1, y1, raw in _BBOX_WORD.findall(bbox.decode("utf-8", "replace")):
        text = (html.unescape(raw) if "&" in raw else raw).strip()
        if text:  # barcode fonts extract as empty words
            words.append((float(x0), float(y0), float(x1), float(y1), text))
    lines, current = [], []
    for w in words:
        if current and not _same_line(current[-1], w):
            lines.append(_line(current))
            current = []
        current.append(w)
    if current:
        lines.append(_line(current))
    return Page(lines, width, height)


# --------------------------------------------------------------------------- pypdf


class _Runs:
    """Collects pypdf's text runs into lines (pypdf itself puts the line breaks and spaces)."""

    def __init__(self, height: float) -> None:
        self.height = height
        self.lines: list[Line] = []
        self._text: list[str] = []
        self._runs: list[tuple[float, float, float, str]] = []  # x, baseline (top-down), size, text

    def visit(self, text: str, cm: list[float], tm: list[float], font: Any, font_size: float) -> None:
        pieces = text.split("\n")
        for i, piece in enumerate(pieces):
            if i:
                self.end_line()
            if not piece:
                continue
            a, b, c, d, e, f = tm
            ca, cb, cc, cd, ce, cf = cm
            x, y = e * ca + f * cc + ce, e * cb + f * cd + cf
            scale = math.hypot(c * ca + d * cc, c * cb + d * cd)
            self._runs.append((x, self.height - y, abs(font_size * scale) * 1.1, piece))

    def end_line(self) -> None:
        runs = [r for r in self._runs if r[3].strip()]
        if runs:
            weight: dict[float, int] = {}
            for r in runs:
                weight[round(r[2], 1)] = weight.get(round(r[2], 1), 0) + len(r[3].strip())
            size = max(weight, key=lambda k: weight[k])
            base = max(r[1] for r in runs if round(r[2], 1) == size)
            prev = [self._runs[0], *self._runs[:-1]]
            text = "".join(r[3] for r, p in zip(self._runs, prev)
                           if not (r is not p and _is_call(r[3].strip(), r[2], p[1] - r[1], size)))
            self.lines.append(Line(" ".join(text.split()), min(r[0] for r in runs), base - 0.8 * size,
                                   base + 0.2 * size, size))
        self._runs = []


def from_pypdf(page: Any) -> Page:
    """Page 1 from a pypdf page object (its text runs, positions and font sizes)."""
    box = page.mediabox
    width, height = float(box.width), float(box.height)
    runs = _Runs(height + float(box.bottom))
    page.extract_text(visitor_text=runs.visit)
    runs.end_line()
    return Page(runs.lines, width, height)


# --------------------------------------------------------------------------- plain text


def from_text(text: str) -> Page:
    """Page 1 from plain text: one line a line, blank lines kept as paragraph breaks."""
    lines: list[Line] = []
    top = 0.0
    for raw in text.splitlines():
        if raw.strip():
            lines.append(Line(" ".join(raw.split()), float(len(raw) - len(raw.lstrip())), top, top + 1.0, 1.0))
            top += 1.2
        else:
            top += 2.0
    return Page(lines, geometry=False)


def weighted_mode(values: Iterable[tuple[float, int]]) -> float | None:
    """The value with the largest total weight, from (value, weight) pairs."""
    totals: dict[float, int] = {}
    for value, weight in values:
        totals[value] = totals.get(value, 0) + weight
    return max(totals, key=lambda v: totals[v]) if totals else None
