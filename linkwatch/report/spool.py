"""A run's report lines kept on disk, not in memory: :class:`ResultSpool`.

A run of 100,000 documents produces 100,000 :class:`~.model.DocumentResult` lines (with their
findings and timelines: ~1–2 KB each in memory) in the order their fetches complete, and the
report lists them in manifest order. Held in a list until the report is written, they were a
third of a big run's peak memory. The spool writes each line to an anonymous temporary file as it
is made and reads them back, one at a time and in manifest order, whenever a format iterates the
report; only the offsets and a three-field summary per line stay in memory (for the report's
counts, which every format prints before the lines).
"""
from __future__ import annotations

import os
import pickle
import tempfile
from array import array
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, overload

from .model import DocumentResult, _field_names

_FIELDS = _field_names(DocumentResult)

#: What counts and exit codes need of one line: (status, severities of its findings, worst severity).
Brief = tuple[str, tuple[str, ...], "str | None"]


class ResultSpool(Sequence[DocumentResult]):
    """Report lines by position (the document's place in the manifests), stored as they come.

    ``put`` in any order, then ``seal``; it is then a read-only sequence in position order (lines
    never put — documents a stopped run did not reach — are absent, as they were from the list
    this replaces). The file is removed when the spool is garbage-collected or the process ends.
    """

    def __init__(self, size: int, folder: Path | None = None) -> None:
        self._file = tempfile.TemporaryFile(dir=folder, prefix="report-")  # noqa: SIM115 - lives with the spool
        self._end = 0
        self._offsets = array("q", [-1]) * size  # by position; -1: not put
        self._lengths = array("l", [0]) * size
        self._briefs: list[Brief | None] = [None] * size
        self._interned: dict[Brief, Brief] = {}  # a big run's briefs are a few distinct tuples
        self._order: array[int] | None = None  # positions put, ascending (after seal)

    def put(self, position: int, result: DocumentResult) -> None:
        # The field values as a tuple: pickling the dataclass itself costs 2-3x more both ways.
        data = pickle.dumps(tuple([getattr(result, name) for name in _FIELDS]), pickle.HIGHEST_PROTOCOL)
        self._file.write(data)
        self._offsets[position], self._lengths[position] = self._end, len(data)
        self._end += len(data)
        brief = (result.status, tuple(f.severity for f in result.findings), result.worst_severity())
        self._briefs[position] = self._interned.setdefault(brief, brief)

    def seal(self) -> ResultSpool:
        self._file.flush()
        self._order = array("q", (i for i, offset in enumerate(self._offsets) if offset >= 0))
        self._briefs = [b for b in self._briefs if b is not None]
        return self

    def briefs(self) -> list[Brief]:
        """(status, finding severities, worst severity) of each line, in order."""
        return self._briefs  # type: ignore[return-value] - sealed: no None left

    def __len__(self) -> int:
        return len(self._sealed())

    @overload
    def __getitem__(self, i: int) -> DocumentResult: ...

    @overload
    def __getitem__(self, i: slice) -> list[DocumentResult]: ...

    def __getitem__(self, i: int | slice) -> DocumentResult | list[DocumentResult]:
        order = self._sealed()
        if isinstance(i, slice):
            return [self._read(p) for p in order[i]]
        return self._read(order[i])

    def __iter__(self) -> Iterator[DocumentResult]:
        for position in self._sealed():
            yield self._read(position)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, (list, ResultSpool)) and list(self) == list(other)

    def __reduce__(self) -> tuple[Any, ...]:  # copies and pickles are plain lists
        return (list, (list(self),))

    def __repr__(self) -> str:
        return f"<ResultSpool of {len(self)} report lines>"

    def _read(self, position: int) -> DocumentResult:
        data = os.pread(self._file.fileno(), self._lengths[position], self._offsets[position])
        result = DocumentResult.__new__(DocumentResult)  # its __init__ would only copy them again
        result.__dict__.update(zip(_FIELDS, pickle.loads(data)))  # noqa: S301 - our own file, from put()
        return result

    def _sealed(self) -> array[int]:
        if self._order is None:
            raise RuntimeError("ResultSpool read before seal()")
        return self._order
