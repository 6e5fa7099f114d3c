"""Combine JSON reports (from CI shards, or from separate runs) into one report.

``linkwatch merge REPORT.json...`` reads reports written with ``--format json`` and renders
their union in any format, with the usual exit code. Documents are keyed by (manifest, id): when
the same document is in several reports, the most recently checked observation wins. The merged
report lists the manifests in the order first seen and each manifest's documents by line.
"""
from __future__ import annotations

import json
from pathlib import Path

from .model import SCHEMA_VERSION, DocumentResult, Report


class MergeError(ValueError):
    """A report cannot be read or combined (bad JSON, newer schema…): exit 2."""


def load(path: str | Path) -> Report:
    """Read one JSON report; MergeError says which file and why."""
    name = str(path)
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise MergeError(f"{name}: no such file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise MergeError(f"{name}: cannot read: {exc}") from None
    except json.JSONDecodeError as exc:
        raise MergeError(f"{name}:{exc.lineno}: not a JSON report ({exc.msg}); write reports with --format json") from None
    if not isinstance(data, dict):
        raise MergeError(f"{name}: not a linkwatch JSON report (expected an object)")
    schema = data.get("schema")
    if isinstance(schema, int) and schema > SCHEMA_VERSION:
        raise MergeError(f"{name}: report schema {schema} is newer than this linkwatch reads ({SCHEMA_VERSION}); "
                         "upgrade linkwatch to merge it")
    try:
        return Report.from_dict(data)
    except (ValueError, TypeError, KeyError) as exc:
        raise MergeError(f"{name}: not a linkwatch JSON report: {exc}") from None


def merge(reports: list[Report]) -> Report:
    """One report holding every document of `reports` (see the module docstring for the rules)."""
    if not reports:
        raise MergeError("nothing to merge")
    manifests: list[str] = []
    chosen: dict[tuple[str, str], DocumentResult] = {}
    for report in reports:
        for m in report.manifests:
            if m not in manifests:
                manifests.append(m)
        for doc in report.documents:
            if doc.manifest not in manifests:
                manifests.append(doc.manifest)
            key = (doc.manifest, doc.id)
            if key not in chosen or (doc.checked_at or "") > (chosen[key].checked_at or ""):
                chosen[key] = doc
    order = {m: i for i, m in enumerate(manifests)}
    documents = sorted(chosen.values(), key=lambda d: (order[d.manifest], _int(d.line), d.id))
    commands = {r.command for r in reports}
    versions = list(dict.fromkeys(r.tool_version for r in reports))
    run_ids = {r.run_id for r in reports}
    return Report(
        run_id=run_ids.pop() if len(run_ids) == 1 else None,
        command=commands.pop() if len(commands) == 1 else "merge",
        started_at=min(r.started_at for r in reports),
        finished_at=max(r.finished_at for r in reports),
        tool_version=", ".join(versions),
        manifests=manifests,
        documents=documents,
    )


def merge_files(paths: list[str | Path]) -> Report:
    """Load and merge report files."""
    return merge([load(p) for p in paths])


def _int(value: object) -> int:
    try:
        return int(value)  # type: ignore[call-overload]
    except (TypeError, ValueError):
        return 0
