"""The running text of a UN PDF, as ``linkwatch discover`` reads it for citations.

Text extracted page by page keeps what the printed page puts around the text — the running symbol,
the job number and page counter, the footnotes at the foot of each page — and breaks URLs and
symbols at line ends. :func:`pdf_flow` undoes that, so that a sentence, a list of resolutions or a
URL reads on across a page or line break.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from . import symbols as unsymbols


@dataclass
class PdfFlow:
    """The running text of a PDF: page furniture (running symbol, job number, page counter) dropped,
    each page's body joined to the next (a sentence or a list goes on across the page break), the
    footnotes of every page after the bodies, and URLs broken at a line end put back together."""

    text: str
    own: list[str]  # the document's own symbol parts, from the masthead
    pages: list[tuple[int, int]]  # (offset in text, page number), in order


_FOOTNOTE_RULE = re.compile(r"^\s*_{5,}\s*$")
# Furniture: job number "25-08488 (E)", page counter "2/4", barcode "*2508488*", date code
# "050625", "GE.25-06162", old "Page 2", "English", "/...".
_FURNITURE_TOKEN = re.compile(r"\d{2}-\d{5}|\([A-Z]\)|\d{1,3}/\d{1,3}|\*\d{7}\*|\d{6}|GE\.\d{2}-\d{5}|Page|\d{1,3}|"
                              r"English|/\.\.\.|-{3,}")
_EDGE = 4  # furniture is looked for in the first and last lines of a page


def pdf_flow(text: str) -> PdfFlow:
    pages = text.split("\f")
    own = _own_symbols(pages)
    own_keys = {unsymbols.key(p) for p in own}
    bodies: list[tuple[int, str]] = []
    notes: list[tuple[int, str]] = []
    for number, page in enumerate(pages, start=1):
        lines = [line for line in page.splitlines() if line.strip()]
        keep = [line for i, line in enumerate(lines)
                if not ((i < _EDGE or i >= len(lines) - _EDGE) and _furniture(line, own_keys))]
        rule = next((i for i, line in enumerate(keep) if _FOOTNOTE_RULE.match(line)), len(keep))
        bodies.append((number, "\n".join(keep[:rule])))
        notes.append((number, "\n".join(keep[rule + 1:])))
    out, marks, offset = [], [], 0
    for number, block in bodies + [(n, "\n" + b) for n, b in notes if b]:
        marks.append((offset, number))
        out.append(block)
        offset += len(block) + 1
    return PdfFlow(_join_broken_urls(_join_broken_symbols("\n".join(out))), own, marks)


def _own_symbols(pages: list[str]) -> list[str]:
    """The document's own symbol: the symbol of page 1 that heads page 2 too (the running header),
    else the first symbol at the top of page 1 (the masthead)."""
    first = unsymbols.find_symbol_spans(pages[0]) if pages else []
    if len(pages) > 1:
        top = "\n".join([line for line in pages[1].splitlines() if line.strip()][:_EDGE])
        header = {unsymbols.key(p) for parts, _, _ in unsymbols.find_symbol_spans(top) for p in parts}
        for parts, _, _ in first:
            if all(unsymbols.key(p) in header for p in parts):
                return parts
    near_top = [parts for parts, start, _ in first if start < 400]
    return near_top[0] if near_top else []


def _furniture(line: str, own_keys: set[str]) -> bool:
    rest = line
    for m in sorted(unsymbols.find_symbol_spans(line), key=lambda g: -g[1]):
        if all(unsymbols.key(p) in own_keys for p in m[0]):
            rest = rest[:m[1]] + " " + rest[m[2]:]
    tokens = re.sub(r"[*\s\u2013\u2212-]+$", "", rest.replace("*", " ")).split()
    return all(_FURNITURE_TOKEN.fullmatch(t) for t in tokens)


# A URL that runs to the end of a line without closing punctuation goes on at the start of the
# next line when that line starts with a URL-like piece: it ends like a path (/, -, _, .) or the
# piece holds URL characters or a file extension ("DraftRecommendati\nonProtection…Data.pdf").
_BROKEN_URL = re.compile(
    r"(https?://[^\s<>\"]*[^\s<>\".,;:)\]])[ \t]*\n[ \t]*"
    r"(?=(?:[\w.~%/-]*[/?=&%#_][\w.~%/?=&#+-]*|[\w~%-]+\.(?:pdf|html?|aspx?|php|docx?|xlsx?))(?:[.,;:)\]]*(?:\s|$)))")


# A symbol broken after one of its slashes ("GEGN.2/\n2025/58/CRP.58", "GEGN.2/2025/102/ CRP.102"):
# a token with an organ prefix that ends in "/" goes on with the next piece.
_BROKEN_SYMBOL = re.compile(
    r"(?<![\w/.])([A-Z][A-Za-z]{0,9}(?:\.\d+)?/(?:[\w.()-]+/)*)(?:[ \t]*\n[ \t]*|[ \t]+)(?=[A-Za-z0-9])")


# A number written after a space in a symbol's last component ("UN DESA/POP/2024/DC/NO. 10").
_SPACED_NUMBER = re.compile(r"(?<![\w/.])([A-Z][A-Za-z]{0,9}(?:\.\d+)?/(?:[\w.()-]+/)+[A-Za-z]{1,4}\.)[ \t]+(?=\d)")


def _join_broken_symbols(text: str) -> str:
    return _SPACED_NUMBER.sub(r"\1", _BROKEN_SYMBOL.sub(r"\1", text))


def _join_broken_urls(text: str) -> str:
    return _BROKEN_URL.sub(r"\1", text)
