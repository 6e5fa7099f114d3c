"""Combine JSON reports (from CI shards, or from separate runs) into one report.

``linkwatch merge REPORT.json...`` reads reports written with ``--format json`` and renders
their union in any format, with the usual exit code. Documents are keyed by (manifest, id): when
the same document is in several reports, the most recently checked observation wins. The merged
report lists the manifests in the order first seen and each manifest's documents by line.
"""
from __future__ import annotations

import functools
import json
import types
import typing
from pathlib import Path
from typing import Any

from ..compare import Finding
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
    problem = _type_problem(data)
    if problem:
        raise MergeError(f"{name}: not a linkwatch JSON report: {problem}")
    try:
        return Report.from_dict(data)
    except (ValueError, TypeError, KeyError, AttributeError) as exc:
        raise MergeError(f"{name}: not a linkwatch JSON report: {exc}") from None


# -- the shape of a report from elsewhere -----------------------------------------------------------
# A report to merge comes from another job, maybe another machine: every value is checked against
# the type its field declares (Report, DocumentResult, Finding) before anything uses it. A "line"
# holding "<script>" or a list where a string goes used to reach the formats (raw into Markdown)
# or raise a traceback.

_SKIPPED = {"summary", "schema", "tool"}  # derived or checked elsewhere


def _type_problem(data: dict[str, Any]) -> str | None:
    """``"documents[3].line: must be int, not str"``, or None when every known field has its type."""
    problem = _fields_problem(data, Report, "")
    if problem:
        return problem
    if not isinstance(data.get("documents", []), list):
        return f"documents: must be list, not {_name(data['documents'])}"
    for i, doc in enumerate(data.get("documents", [])):
        if not isinstance(doc, dict):
            return f"documents[{i}]: must be an object, not {_name(doc)}"
        problem = _fields_problem(doc, DocumentResult, f"documents[{i}].")
        if problem:
            return problem
        for j, finding in enumerate(doc.get("findings") or []):  # a list by now
            problem = _fields_problem(finding, Finding, f"documents[{i}].findings[{j}].") \
                if isinstance(finding, dict) else f"documents[{i}].findings[{j}]: must be an object"
            if problem:
                return problem
    return None


def _fields_problem(data: dict[str, Any], cls: type, where: str) -> str | None:
    hints = _hints(cls)
    for key, value in data.items():
        if key in _SKIPPED or key not in hints or (key == "documents" and cls is Report):
            continue  # unknown keys are ignored: newer reports still load
        if not _conforms(value, hints[key]):
            return f"{where}{key}: must be {_describe(hints[key])}, not {_name(value)}"
    return None


@functools.cache
def _hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def _conforms(value: Any, tp: Any) -> bool:
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if origin in (typing.Union, types.UnionType):
        return any(_conforms(value, a) for a in args)
    if tp is type(None):
        return value is None
    if origin is list:
        return isinstance(value, list) and (not args or args[0] is Finding or all(_conforms(v, args[0]) for v in value))
    if origin is dict:
        return isinstance(value, dict) and all(isinstance(k, str) and _conforms(v, args[1]) for k, v in value.items())
    if tp is Finding:
        return isinstance(value, dict)
    if tp is bool:
        return isinstance(value, bool)
    if tp is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if tp is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if tp is str:
        return isinstance(value, str)
    return True


def _describe(tp: Any) -> str:
    args = typing.get_args(tp)
    if typing.get_origin(tp) in (typing.Union, types.UnionType):
        return " or ".join(_describe(a) for a in args)
    if tp is type(None):
        return "null"
    if typing.get_origin(tp) in (list, dict):
        return f"{typing.get_origin(tp).__name__} of {_describe(args[-1])}"
    return getattr(tp, "__name__", None) or str(tp)


def _name(value: Any) -> str:
    return "null" if value is None else type(value).__name__


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
        title="; ".join(dict.fromkeys(r.title for r in reports if r.title)) or None,
    )


def merge_files(paths: list[str | Path]) -> Report:
    """Load and merge report files."""
    return merge([load(p) for p in paths])


def _int(value: object) -> int:
    try:
        return int(value)  # type: ignore[call-overload]
    except (TypeError, ValueError):
        return 0
