"""``linkwatch lint``: validate manifests without the network (pre-commit hooks, PR checks).

Every check that needs no network: what :func:`linkwatch.manifest.load_all` checks (TOML
syntax, tables and keys, types, URLs, symbols, languages, kinds, ids unique within a file and
across the files given). A file is reported with *every* document's first problem, not just the
file's first: each ``[[document]]`` block is also validated on its own, in a copy of the file
where the other blocks are blanked out (line numbers unchanged). A syntax error stops that
file's checks (nothing after it can be trusted). A symbol the grammar doubts
(:func:`linkwatch.un.symbols.doubts`) is a *warning*: reported, exit status unchanged, and the
document is still checked.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from .manifest import Manifest, ManifestError, load_all, parse
from .un import symbols as unsymbols

_DOC_HEADER = re.compile(r"^\s*\[\[\s*[\"']?document[\"']?\s*\]\]")


@dataclass(frozen=True)
class Problem:
    path: str
    line: int
    field: str
    message: str
    severity: str = "error"  # "warning": reported, but the manifest is usable (a doubtful symbol)

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.field}: {self.severity + ': ' if self.severity != 'error' else ''}" \
               f"{self.message}"


def lint(paths: list[str]) -> list[Problem]:
    """Every problem found in the manifests, by file then line."""
    problems: list[Problem] = []
    good: list[str] = []
    for path in paths:
        found = lint_file(path)
        problems += found
        if all(p.severity == "warning" for p in found):
            good.append(path)
    if len(good) > 1:  # ids must also be unique across the manifests of one run
        try:
            load_all(good)
        except ManifestError as exc:
            problems.append(_problem(exc))
    return problems


def lint_file(path: str) -> list[Problem]:
    """Problems in one manifest file."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        return [Problem(path, 0, "file", "no such file")]
    except (OSError, UnicodeDecodeError) as exc:
        return [Problem(path, 0, "file", f"cannot read: {exc}")]
    try:
        return _symbol_warnings(parse(text, path), path)
    except ManifestError as exc:
        first = _problem(exc)
    if first.field == "syntax":
        return [first]
    found = {str(first): first}
    lines = text.splitlines()
    starts = [i for i, line in enumerate(lines) if _DOC_HEADER.match(line)]
    blocks = [(a, b) for a, b in zip(starts, starts[1:] + [len(lines)])]
    head_end = starts[0] if starts else len(lines)
    # The head alone ([manifest], [defaults]), then each document with the head.
    for keep in [None, *blocks]:
        kept = [line if i < head_end or (keep and keep[0] <= i < keep[1]) else "" for i, line in enumerate(lines)]
        try:
            parse("\n".join(kept) + "\n", path)
        except ManifestError as exc:
            p = _problem(exc)
            found.setdefault(str(p), p)
    return sorted(found.values(), key=lambda p: (p.line, p.field))


def _problem(exc: ManifestError) -> Problem:
    return Problem(exc.path, exc.line, exc.field, exc.message)


def _symbol_warnings(manifest: Manifest, path: str) -> list[Problem]:
    """A warning for each symbol the grammar doubts (never an error: see symbols.doubts)."""
    out = []
    for doc in manifest.documents:
        doubt = unsymbols.doubts(doc.symbol) if doc.symbol else None
        if doubt:
            out.append(Problem(path, doc.line, "document.symbol", f"{doubt}; checked as written", "warning"))
    return out
