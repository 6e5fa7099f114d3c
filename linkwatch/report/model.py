"""The result of a run, as plain data every output format renders.

`Report` and `DocumentResult` are what the pipeline produces and what every format in
:mod:`linkwatch.report.formats` consumes. The JSON form (`Report.to_dict` / `Report.from_dict`) is a
public contract described by ``docs/report-schema.json`` and ``docs/report.md``; bump
`SCHEMA_VERSION` on any incompatible change to it.
"""
from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field, fields
from typing import Any

from ..compare import SEVERITIES, STATUSES, Finding

SCHEMA_VERSION = 1

#: `--fail-on` values: a severity threshold, or "never".
FAIL_ON = ("error", "warning", "info", "never")

#: The status of a document listed in a manifest but never observed (a run stopped before it):
#: not a judgement, so not in `compare.STATUSES`, and it carries no finding.
UNCHECKED = "unchecked"

#: Every status a report can show, in the order summaries list them.
REPORT_STATUSES = (*STATUSES, UNCHECKED)

#: How joint symbols are displayed ("A/79/62–E/2024/3"), as the UN prints them.
SYMBOL_JOINER = "–"  # U+2013 EN DASH


def severity_rank(severity: str | None) -> int:
    """Position of `severity` in `SEVERITIES` (-1 for None), so severities compare as numbers."""
    if severity is None:
        return -1
    try:
        return SEVERITIES.index(severity)
    except ValueError:
        raise ValueError(f"unknown severity {severity!r}; expected one of {SEVERITIES}") from None


def max_severity(severities: list[str | None]) -> str | None:
    """The highest of `severities`, None when empty or all None."""
    ranked = [s for s in severities if s is not None]
    return max(ranked, key=severity_rank) if ranked else None


def concern(doc: DocumentResult) -> int:
    """Where a document goes when problems come first: 0 an error, 1 a warning, 2 never checked,
    3 the rest (fine, or info only). Formats sort by it, stably, so manifest order holds within."""
    return _concern(doc.status, doc.worst_severity())


def _concern(status: str, worst: str | None) -> int:
    if worst == "error":
        return 0
    if worst == "warning":
        return 1
    return 2 if status == UNCHECKED else 3


def problems_first(documents: Sequence[DocumentResult]) -> Iterator[DocumentResult]:
    """``documents`` errors first, then warnings, then never checked, then the rest (stable), one
    at a time: the order comes from each document's status and worst severity (a spool's summary
    in memory), and each document is read when its turn comes, so memory stays flat."""
    ranks = [_concern(status, worst) for status, _severities, worst in _briefs(documents)]
    for i in sorted(range(len(ranks)), key=ranks.__getitem__):
        yield documents[i]


def finding_to_dict(finding: Finding) -> dict[str, str]:
    """JSON form of one finding."""
    return {"kind": finding.kind, "severity": finding.severity, "message": finding.message}


def finding_from_dict(d: dict[str, Any]) -> Finding:
    """Inverse of `finding_to_dict`; validates the severity because exit codes depend on it."""
    severity_rank(d["severity"])
    return Finding(kind=str(d["kind"]), severity=d["severity"], message=str(d.get("message", "")))


@dataclass
class DocumentResult:
    """One document's line in a report: what was cited, what was found, what it means."""

    id: str
    manifest: str  # manifest file path as given
    line: int  # line of the document's [[document]] header in that file
    kind: str  # "pdf" | "page"
    expected_symbols: list[str]
    expected_title: str | None
    url: str  # the URL that was checked (primary, or the mirror that answered)
    status: str
    severity: str | None  # highest severity among findings, None when no findings
    http_status: int | None = None
    final_url: str | None = None
    content_type: str | None = None
    size: int | None = None
    sha256: str | None = None
    previous_sha256: str | None = None
    not_modified: bool = False
    symbols: list[str] = field(default_factory=list)  # found on page 1
    title: str | None = None  # found
    lang: str | None = None  # found
    pages: int | None = None
    checked_at: str | None = None  # ISO 8601 UTC
    error: str | None = None
    findings: list[Finding] = field(default_factory=list)
    elapsed: float | None = None  # seconds spent fetching and inspecting (JUnit test time)
    # The latest version kept by `linkwatch archive` (may be older than `sha256`): Robust Links
    # point readers at it when the original is gone.
    archived_sha256: str | None = None
    archived_at: str | None = None  # ISO 8601 UTC, when that version was observed
    archived_path: str | None = None  # relative to the archive folder: blobs/sha256/ab/cd/<sha256>
    # Recent {"at", "status"}, oldest first, at most 30 (Index.timeline). Read-only: a report of
    # 10,000 documents shares one dict between the marks of the same second and status.
    timeline: list[dict[str, str]] = field(default_factory=list)
    # A web archive's capture of the URL (``--suggest``, when the document is broken, unreachable or
    # wrong-document): its replay URL, when it was captured, and whether its payload is the last
    # version linkwatch archived (None: nothing to compare with).
    memento_url: str | None = None
    memento_at: str | None = None  # ISO 8601 UTC
    memento_matches: bool | None = None

    # --- display helpers (formats use these so they all agree) ---------------------------------

    @property
    def expected_symbol(self) -> str:
        """The cited symbol(s) as one string: joint symbols joined with an en dash."""
        return SYMBOL_JOINER.join(self.expected_symbols)

    @property
    def found_symbol(self) -> str:
        """The symbol(s) read from page 1 as one string ("" when none were read)."""
        return SYMBOL_JOINER.join(self.symbols)

    @property
    def symbol(self) -> str:
        """What to show as the symbol: the one found, else the one cited."""
        return self.found_symbol or self.expected_symbol

    @property
    def display_title(self) -> str:
        """What to show as the title: the one found, else the one cited, else ""."""
        return self.title or self.expected_title or ""

    @property
    def drift(self) -> list[str]:
        """Kinds of the findings other than the status itself, in order, without duplicates."""
        kinds: list[str] = []
        for f in self.findings:
            if f.kind != self.status and f.kind not in kinds:
                kinds.append(f.kind)
        return kinds

    def worst_severity(self) -> str | None:
        """Highest severity among the findings (and the stored `severity`, if the pipeline set it)."""
        return max_severity([self.severity, *(f.severity for f in self.findings)])

    def findings_at_least(self, severity: str) -> list[Finding]:
        """Findings whose severity is `severity` or higher, in their original order."""
        floor = severity_rank(severity)
        return [f for f in self.findings if severity_rank(f.severity) >= floor]

    # --- JSON ------------------------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        """JSON form: every field, findings as objects, `severity` recomputed to be consistent."""
        d: dict[str, Any] = {}
        for name in _field_names(type(self)):
            value = getattr(self, name)
            if name == "findings":
                value = [finding_to_dict(x) for x in value]
            elif isinstance(value, list):
                value = list(value)
            d[name] = value
        d["severity"] = self.worst_severity()
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> DocumentResult:
        """Inverse of `to_dict`. Unknown keys are ignored so newer reports still load."""
        known = {f.name for f in fields(cls)}
        kwargs = {k: v for k, v in d.items() if k in known}
        kwargs["findings"] = [finding_from_dict(x) for x in d.get("findings", [])]
        kwargs["expected_symbols"] = list(d.get("expected_symbols", []))
        kwargs["symbols"] = list(d.get("symbols", []))
        kwargs.setdefault("severity", None)
        kwargs.setdefault("expected_title", None)
        try:
            return cls(**kwargs)
        except TypeError as exc:  # a required key is missing
            raise ValueError(f"document {d.get('id', '?')!r}: {exc}") from None


@dataclass
class Report:
    """One run over one or more manifests: run facts and one `DocumentResult` per document."""

    run_id: int | None
    command: str  # "check" | "archive" | "status"
    started_at: str
    finished_at: str
    tool_version: str
    manifests: list[str]
    documents: Sequence[DocumentResult]  # a list, or a run's ResultSpool (read back from disk)
    archive: str | None = None  # the archive folder as given: archived_path is relative to it
    # Why the run stopped before observing every document ("interrupted: 3 of 10 documents
    # observed", "--max-time 600 s reached: …"); None for a complete run. What was observed is
    # recorded and reported all the same.
    incomplete: str | None = None
    title: str | None = None  # the manifests' [manifest] titles ("; "-joined): what the run is about

    def counts(self) -> dict[str, Any]:
        """Summary counts.

        ``{"documents": n, "findings": n, "by_status": {status: n}, "by_severity": {severity: n}}``.
        `by_status` counts documents and always lists every known status (0 included) so
        consumers can index it without guarding; a status this version does not know is appended.
        `by_severity` counts *findings* (a document can have several).
        """
        by_status = dict.fromkeys(REPORT_STATUSES, 0)
        by_severity = dict.fromkeys(SEVERITIES, 0)
        n_findings = 0
        for status, severities, _worst in _briefs(self.documents):
            by_status[status] = by_status.get(status, 0) + 1
            for severity in severities:
                by_severity[severity] = by_severity.get(severity, 0) + 1
                n_findings += 1
        return {
            "documents": len(self.documents),
            "findings": n_findings,
            "by_status": by_status,
            "by_severity": by_severity,
        }

    def looks_offline(self) -> bool:
        """Every document checked failed before any server answered (a DNS lookup, a connection):
        the trouble is most likely this machine's network (offline, or a proxy it must use)."""
        checked = [d for d in self.documents if d.status != UNCHECKED]
        return bool(checked) and all(d.status == "unreachable" and (d.error or "").startswith(_NO_NETWORK)
                                     for d in checked)

    def worst_severity(self) -> str | None:
        """Highest severity of any finding in the run, None when there are no findings."""
        return max_severity([worst for _status, _severities, worst in _briefs(self.documents)])

    def exit_code(self, fail_on: str) -> int:
        """Process exit code for `--fail-on`: 1 when any finding is at or above it, else 0.

        "never" always gives 0. Codes 2 (usage) and 3 (run failed) are the CLI's business.
        """
        if fail_on not in FAIL_ON:
            raise ValueError(f"fail_on must be one of {FAIL_ON}, not {fail_on!r}")
        if fail_on == "never":
            return 0
        if self.incomplete:  # documents were left unchecked: never a green run
            return 1
        return 1 if severity_rank(self.worst_severity()) >= severity_rank(fail_on) else 0

    def summary_line(self) -> str:
        """`10 documents: 7 ok, 1 broken, 2 wrong-document · 3 errors, 1 warning` (plain text)."""
        c = self.counts()
        n = c["documents"]
        head = f"{n} document{'s' if n != 1 else ''}"
        statuses = ", ".join(f"{k} {s}" for s, k in c["by_status"].items() if k)
        severities = ", ".join(
            f"{k} {_plural_severity(s, k)}"
            for s, k in reversed(list(c["by_severity"].items()))
            if k
        )
        line = f"{head}: {statuses}" if statuses else head
        line = f"{line} · {severities or 'no findings'}"
        return f"{line} · INCOMPLETE: {self.incomplete}" if self.incomplete else line

    def to_dict(self, documents: bool = True) -> dict[str, Any]:
        """JSON form; see docs/report-schema.json. ``documents=False``: without the "documents"
        key (the JSON format writes them one at a time)."""
        head = {
            "schema": SCHEMA_VERSION,
            "tool": "linkwatch",
            "tool_version": self.tool_version,
            "run_id": self.run_id,
            "command": self.command,
            "started_at": self.started_at,
            "finished_at": self.finished_at,
            "manifests": list(self.manifests),
            "summary": {**self.counts(), "worst_severity": self.worst_severity()},
            "archive": self.archive,
            "title": self.title,
        }
        if self.incomplete:
            head["incomplete"] = self.incomplete
        if documents:
            head["documents"] = [d.to_dict() for d in self.documents]
        return head

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Report:
        """Inverse of `to_dict`. `summary` is derived, so it is ignored and recomputed."""
        schema = d.get("schema")
        if not isinstance(schema, int) or schema > SCHEMA_VERSION:
            raise ValueError(
                f"report schema {schema!r} is not supported (this linkwatch reads <= {SCHEMA_VERSION})"
            )
        try:
            return cls(
                run_id=d.get("run_id"),
                command=d["command"],
                started_at=d["started_at"],
                finished_at=d["finished_at"],
                tool_version=d["tool_version"],
                manifests=list(d.get("manifests", [])),
                documents=[DocumentResult.from_dict(x) for x in d.get("documents", [])],
                archive=d.get("archive"),
                incomplete=d.get("incomplete"),
                title=d.get("title") if isinstance(d.get("title"), str) else None,
            )
        except KeyError as exc:
            raise ValueError(f"report is missing {exc.args[0]!r}") from None


def _briefs(documents: Sequence[DocumentResult]) -> Iterable[tuple[str, tuple[str, ...] | list[str], str | None]]:
    """(status, finding severities, worst severity) of each document: what counts and exit codes
    need, read from a :class:`~.spool.ResultSpool`'s memory without reading its lines back."""
    briefs = getattr(documents, "briefs", None)
    if briefs is not None:
        return briefs()
    return ((d.status, [f.severity for f in d.findings], d.worst_severity()) for d in documents)


# How the HTTP clients word a failure that happened before any server answered (linkwatch.http).
_NO_NETWORK = ("DNS lookup failed", "connection refused", "connection failed", "proxy ")


def _field_names(cls: type) -> tuple[str, ...]:
    """``[f.name for f in fields(cls)]``, computed once per class (to_dict runs per document)."""
    names = _FIELD_NAMES.get(cls)
    if names is None:
        names = _FIELD_NAMES[cls] = tuple(f.name for f in fields(cls))
    return names


_FIELD_NAMES: dict[type, tuple[str, ...]] = {}


def _plural_severity(severity: str, n: int) -> str:
    """"error"/"errors", "warning"/"warnings"; "info" does not take an s."""
    if severity == "info" or n == 1:
        return severity
    return severity + "s"
