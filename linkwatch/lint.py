"""``linkwatch lint``: validate manifests without the network (pre-commit hooks, PR checks).

Every check that needs no network: what :func:`linkwatch.manifest.load_all` checks (TOML
syntax, tables and keys, types, URLs, symbols, languages, kinds, ids unique within a file and
across the files given). A file is reported with *every* document's first problem, not just the
file's first: each ``[[document]]`` block is also validated on its own, in a copy of the file
where the other blocks are blanked out (line numbers unchanged). A mistake in the head
(``[manifest]``, ``[defaults]``, ``[hosts]``) is reported and its table left out of those copies,
so it hides no document's problem. Every repeated id is reported, not only the first. A syntax
error stops that file's checks (nothing after it can be trusted).

An ``env:`` variable that is not set is a *warning*: secrets exist in the scheduled job, not on
a laptop or in a pull request from a fork; ``check`` still refuses to run without them. A symbol
the grammar doubts (:func:`linkwatch.un.symbols.doubts`) is a warning too: the document is still
checked, as written.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from .manifest import FILE_LINE, Document, ManifestError, duplicate_ids, parse
from .un import symbols as unsymbols

_DOC_HEADER = re.compile(r"^\s*\[\[\s*[\"']?document[\"']?\s*\]\]")
_ANY_HEADER = re.compile(r"^\s*\[")
_HEAD_RETRIES = 8  # head tables blanked one by one, at most, to find each of their mistakes


@dataclass(frozen=True)
class Problem:
    path: str
    line: int
    field: str
    message: str
    severity: str = "error"  # "error" (lint exits 2) or "warning" (reported, exit 0)

    def __str__(self) -> str:
        prefix = "warning: " if self.severity == "warning" else ""
        return f"{self.path}:{self.line}: {self.field}: {prefix}{self.message}"


def lint(paths: list[str]) -> list[Problem]:
    """Every problem found in the manifests, by file then line."""
    problems: list[Problem] = []
    documents: list[Document] = []
    for path in paths:
        found, docs = _lint_file(path)
        problems += found
        documents += docs
    for doc, first in duplicate_ids(documents):  # within one file, that file's check said so
        if doc.manifest != first.manifest:
            problems.append(Problem(doc.manifest, doc.line, "id",
                                    f"duplicate id {doc.id!r} (first at {first.manifest}:{first.line})"))
    return problems


def lint_file(path: str) -> list[Problem]:
    """Problems in one manifest file."""
    return _lint_file(path)[0]


def _lint_file(path: str) -> tuple[list[Problem], list[Document]]:
    """(problems, the documents that are valid on their own) of one manifest file."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        return [Problem(path, FILE_LINE, "file", "no such file")], []
    except (OSError, UnicodeDecodeError) as exc:
        return [Problem(path, FILE_LINE, "file", f"cannot read: {exc}")], []
    found: dict[str, Problem] = {}

    def missing(line: int, field: str, var: str) -> None:
        p = Problem(path, line, field, f"environment variable {var!r} is not set here: 'linkwatch check' "
                    "needs it (set it as a CI secret)", "warning")
        found.setdefault(str(p), p)

    def attempt(source: str, allow_empty: bool = True) -> tuple[Problem | None, tuple[Document, ...]]:
        try:
            return None, parse(source, path, allow_empty=allow_empty, missing_secret=missing).documents
        except ManifestError as exc:
            p = Problem(exc.path, exc.line, exc.field, exc.message)
            found.setdefault(str(p), p)
            return p, ()

    first, documents = attempt(text, allow_empty=False)
    if first is None:
        _symbol_warnings(documents, found)
        return _sorted(found), list(documents)
    if first.field == "syntax":
        return [first], []
    if first.field == "id":  # the first duplicate: each of them is reported below, on its own line
        del found[str(first)]
    lines = text.splitlines()
    starts = [i for i, line in enumerate(lines) if _DOC_HEADER.match(line)]
    head_end = starts[0] if starts else len(lines)
    head = _clean_head(lines[:head_end], attempt)
    valid: list[Document] = []
    for a, b in zip(starts, starts[1:] + [len(lines)]):
        kept = head + [""] * (a - head_end) + lines[a:b]
        _, docs = attempt("\n".join(kept) + "\n")
        valid += docs
    for doc, earlier in duplicate_ids(valid):
        p = Problem(path, doc.line, "id", f"duplicate id {doc.id!r} (first at line {earlier.line})")
        found.setdefault(str(p), p)
    _symbol_warnings(valid, found)
    repeated = {id(doc) for doc, _ in duplicate_ids(valid)}
    return _sorted(found), [d for d in valid if id(d) not in repeated]


def _clean_head(head: list[str], attempt) -> list[str]:  # type: ignore[no-untyped-def]
    """The head with each table that has a mistake blanked out (the mistakes are recorded by
    ``attempt``), so the documents are checked against what is left of it."""
    head = list(head)
    for _ in range(_HEAD_RETRIES):
        problem, _docs = attempt("\n".join(head) + "\n")
        if problem is None or problem.field == "document":
            break
        start = max((i for i in range(min(problem.line, len(head))) if _ANY_HEADER.match(head[i])), default=0)
        end = next((i for i in range(start + 1, len(head)) if _ANY_HEADER.match(head[i])), len(head))
        if all(not line for line in head[start:end]):
            break
        head[start:end] = [""] * (end - start)
    return head


def _symbol_warnings(documents: tuple[Document, ...] | list[Document], found: dict[str, Problem]) -> None:
    """A warning for each symbol the grammar doubts (never an error: see symbols.doubts)."""
    for doc in documents:
        doubt = unsymbols.doubts(doc.symbol) if doc.symbol else None
        if doubt:
            p = Problem(doc.manifest, doc.line, "document.symbol", f"{doubt}; checked as written", "warning")
            found.setdefault(str(p), p)


def _sorted(found: dict[str, Problem]) -> list[Problem]:
    return sorted(found.values(), key=lambda p: (p.line, p.field))
